"""People: office maintenance of accounts and WeChat binding codes.

Offices read the accounts of their scope (a town office: its subtree's); only a city-wide
office admin creates or changes accounts, binds an office account to a region or clears
it (accounts/policy.py).
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from accounts import policy as accounts_policy
from accounts import service as accounts
from accounts.models import ROLE_LABELS, Role, User
from api.auth import OFFICE, OFFICE_READERS, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent, not_idempotent
from api.pagination import paginate
from api.schemas import (
    Id,
    Integer,
    PageArgs,
    Pattern,
    QueryId,
    Schema,
    Text,
    enum_field,
    page_of,
    partial_of,
)

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="人员与角色")


class UserSchema(Schema):
    id = Id(dump_only=True)
    username = fields.String(allow_none=True, validate=Pattern(r"^[A-Za-z0-9_.-]{3,40}$"))
    display_name = Text(required=True, max_length=40)
    role = enum_field(Role, ROLE_LABELS, required=True)
    unit_id = Id(allow_none=True)
    sector_id = Id(allow_none=True)
    # Office accounts only: the region whose subtree they work in; null is city-wide.
    region_id = Id(allow_none=True)
    phone = fields.String(validate=validate.Length(max=30))
    # Length, username and common passwords: accounts/passwords.py (Chinese per-field messages).
    password = fields.String(load_only=True, validate=validate.Length(max=128))
    active = fields.Boolean()
    wechat_bound = fields.Function(lambda u: u.wechat_openid is not None, dump_only=True)
    version = Integer(dump_only=True)


UserUpdateSchema = partial_of(UserSchema)


class UserFilter(PageArgs):
    role = enum_field(Role, ROLE_LABELS)
    unit_id = QueryId()
    region_id = QueryId()
    active = fields.Boolean()


class BindingCodeSchema(Schema):
    code = fields.String()
    expires_at = fields.DateTime()


def _user_or_404(user_id: int) -> User:
    return accounts.get_user(user_id, actor=current_user())


def _user_to_change(user_id: int) -> User:
    """The account, for a caller who manages accounts, proven current by If-Match: 404,
    then 403, then 428 or 412 (a refused caller never hears about versions)."""
    user = _user_or_404(user_id)
    accounts_policy.check_manages_users(current_user())
    check_if_match(user.version)
    return user


@blp.route("/users")
class Users(MethodView):
    @requires(*OFFICE_READERS)
    @blp.arguments(UserFilter, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args):
        """人员列表

        按角色、单位、状态等筛选的人员分页列表。A page of accounts.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(accounts.users_query(args, actor=current_user()), page, per_page)

    @requires(*OFFICE)
    @idempotent(
        "用户名唯一：重发已成功的请求得到 409 urn:problem:username-taken / usernames are unique: a"
        " resend that already succeeded gets 409."
    )
    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """新建人员

        新建一个账号（角色、所属单位或领域、登录名）；之后可发放微信绑定码。Creates one account.
        """
        return accounts.create_user(data, actor=current_user())


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @requires(*OFFICE_READERS)
    @sends_etag
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """查看人员

        一个账号（不含密码与微信 openid）。One account.
        """
        user = _user_or_404(user_id)
        return user, 200, {"ETag": etag_of(user.version)}

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @if_match
    def patch(self, data, user_id):
        """修改人员（停用账号会立即吊销其全部登录令牌；需 If-Match）

        只改给出的字段；停用时吊销此人全部令牌。Changes the fields given; disabling revokes every
        token.
        """
        user = _user_to_change(user_id)
        user = accounts.update_user(user, data, actor=current_user())
        return user, 200, {"ETag": etag_of(user.version)}


@blp.route("/users/<int:user_id>/binding-codes")
class BindingCodes(MethodView):
    @requires(*OFFICE)
    @not_idempotent(
        "每次重发都签发新码并作废上一个：以最后一次回答的为准 / each resend issues a new code and "
        "voids the previous one: the last answer counts."
    )
    @blp.response(201, BindingCodeSchema)
    def post(self, user_id):
        """发放微信绑定码（一次性，过期作废；此人此前未使用的绑定码随即作废）

        新建一个绑定码并作废此人此前未用的绑定码；明文只在本次回答中出现。Issues a one-time binding
        code, voiding earlier unused ones.
        """
        raw, code = accounts.issue_binding_code(_user_or_404(user_id), actor=current_user())
        return {"code": raw, "expires_at": code.expires_at}


@blp.route("/users/<int:user_id>/wechat")
class UserWeChat(MethodView):
    @requires(*OFFICE)
    @sends_etag
    @blp.response(200, UserSchema)
    @if_match
    def delete(self, user_id):
        """解除微信绑定（立即吊销其微信登录令牌；之后可发放新绑定码重新绑定；需 If-Match）

        清除账号的 openid，吊销其微信登录令牌。Removes the WeChat binding and revokes its tokens.
        """
        user = _user_to_change(user_id)
        user = accounts.unbind_wechat(user, actor=current_user())
        return user, 200, {"ETag": etag_of(user.version)}
