"""user: usernames unique whatever their case (an index on lower(username)). Accounts
whose usernames differ only in case, which the service has refused since the rule came in,
stop the upgrade with their ids and names: an office renames one of each pair (PATCH
/users/{id}) and runs the upgrade again. Nobody's sign-in name is changed behind their back

Revision ID: 0031_username_case_unique
Revises: 0030_seal_link_format
Create Date: 2026-12-02 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031_username_case_unique"
down_revision = "0030_seal_link_format"
branch_labels = None
depends_on = None


def upgrade():
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                'SELECT id, username FROM "user" WHERE lower(username) IN ('
                ' SELECT lower(username) FROM "user" WHERE username IS NOT NULL'
                " GROUP BY lower(username) HAVING count(*) > 1) ORDER BY lower(username), id"
            )
        )
        .all()
    )
    if duplicates:
        listed = ", ".join(f"{row.id}:{row.username}" for row in duplicates)
        raise RuntimeError(
            "usernames that differ only in case must be renamed before this upgrade "
            f"(id:username): {listed}"
        )
    op.create_index("uq_user_username_lower", "user", [sa.text("lower(username)")], unique=True)


def downgrade():
    op.drop_index("uq_user_username_lower", table_name="user")
