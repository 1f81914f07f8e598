"""inspection.findings_count counts the problems: the findings not dismissed (不予认定).

It was the count at submission, and stayed so after the office dismissed findings: lists,
the unit's page and the API showed a unit how many of its findings had been dismissed, and
disagreed with the findings listed, the rankings and the 通报. The office's review now keeps
it (inspections.findings.review_finding); this recounts the inspections reviewed before,
with a new version for each one changed (its representation, and its ETag, changed).

Revision ID: 0032_findings_count_problems
Revises: 0031_username_case_unique
Create Date: 2026-12-03 10:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0032_findings_count_problems"
down_revision = "0031_username_case_unique"
branch_labels = None
depends_on = None


PROBLEMS = """
    (SELECT count(*) FROM finding
     WHERE finding.inspection_id = inspection.id AND finding.status <> 'dismissed')
"""


def upgrade():
    op.execute(
        f"""
        UPDATE inspection
        SET findings_count = {PROBLEMS}, version = version + 1
        WHERE findings_count <> {PROBLEMS}
        """
    )


def downgrade():
    # The count at submission was every finding made then (none is deleted).
    op.execute(
        """
        UPDATE inspection
        SET findings_count = (SELECT count(*) FROM finding
                              WHERE finding.inspection_id = inspection.id),
            version = version + 1
        WHERE EXISTS (SELECT 1 FROM finding
                      WHERE finding.inspection_id = inspection.id
                        AND finding.status = 'dismissed')
        """
    )
