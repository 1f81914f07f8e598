"""Sign-in: office passwords and the WeChat mini program; bearer tokens; sign-out."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from accounts import service as accounts
from accounts.models import ROLE_LABELS, Role
from api import examples, throttle
from api.auth import EVERYONE, bearer_token, current_user, public, requires
from api.extensions import Blueprint
from api.operation_docs import idempotent, not_idempotent
from api.schemas import Id, Schema, enum_field

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与退出")


class PasswordLoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=40))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class WeChatLoginSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={
            "description": "wx.login() 返回的 code，即微信 code2Session 接口所称的 js_code"
            "（字段名按本接口为 code）；由服务器调用 code2Session，AppSecret 不离开服务器。"
            "每个 code 只能用一次"
        },
    )
    binding_code = fields.String(
        validate=validate.Length(min=4, max=32),
        metadata={"description": "首次登录时督查办发放的绑定码"},
    )


class MeSchema(Schema):
    id = Id()
    username = fields.String(allow_none=True)
    display_name = fields.String()
    role = enum_field(Role, ROLE_LABELS)
    role_label = fields.Function(
        lambda u: ROLE_LABELS[u.role], metadata={"type": "string", "description": "角色中文名"}
    )
    unit_id = Id(allow_none=True)
    sector_id = Id(allow_none=True)


class TokenSchema(Schema):
    token = fields.String()
    token_type = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(MeSchema)


THROTTLED = "登录尝试过于频繁（按来源地址和账号限流），Retry-After 秒后再试"


def _token_response(user, raw, token):
    return {"token": raw, "token_type": "Bearer", "expires_at": token.expires_at, "user": user}


@blp.route("/login")
class PasswordLogin(MethodView):
    @public
    @not_idempotent(
        "每次成功都签发一个新令牌（此前的令牌仍有效至过期）；失败可重发，但计入登录限流，"
        "429 时等 Retry-After 秒 / each success issues a new token; retries count against the "
        "sign-in limits (429: wait Retry-After seconds)."
    )
    @blp.arguments(PasswordLoginSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(429, description=THROTTLED)
    @blp.alt_response(401, description="用户名或密码错误（urn:problem:bad-credentials）")
    def post(self, data):
        """用户名密码登录（尝试过于频繁时须等待 Retry-After 秒）

        签发一个 Bearer 令牌（有效期 TOKEN_TTL_SECONDS），记录登录时间；失败计入该地址和该账号的
        登录限流。Issues a bearer token; failures count against the sign-in limits.
        """
        return _token_response(*throttle.sign_in_with_password(data["username"], data["password"]))


@blp.route("/wechat")
class WeChatLogin(MethodView):
    @public
    @not_idempotent(
        "每个 wx.login code 只能用一次：重发同一 code 得到 422 urn:problem:wechat-invalid-code；"
        "超时后先重新调用 wx.login 取新 code 再发（已绑定的微信不必再带绑定码）；计入登录限流 / "
        "a code works once: after a timeout call wx.login again and send the new code."
    )
    @blp.arguments(WeChatLoginSchema, example=examples.WECHAT_LOGIN)
    @blp.response(201, TokenSchema, example=examples.TOKEN)
    @blp.alt_response(429, description=THROTTLED)
    @blp.alt_response(403, description="微信未绑定账号或被微信判定有风险（见 type）")
    @blp.alt_response(502, description="微信接口返回无法重试的错误")
    def post(self, data):
        """小程序登录：提交 wx.login 的 code；未绑定的微信需同时提交绑定码

        服务器用 code 调用微信 code2Session 取得 openid；openid 已绑定账号则签发令牌，
        未绑定时用 binding_code 绑定到督查办发放绑定码的账号（绑定码随即作废）再签发。
        Exchanges the code for the openid, binds it on first use, issues a bearer token.
        """
        return _token_response(
            *throttle.sign_in_with_wechat(data["code"], data.get("binding_code"))
        )


@blp.route("/logout")
class Logout(MethodView):
    @requires(*EVERYONE)
    @idempotent(
        "重发时令牌已吊销，返回 401：可视为已退出 / a resend gets 401 (already signed out)."
    )
    @blp.response(204)
    def post(self):
        """退出登录（吊销当前令牌）

        吊销请求所带的令牌；同一人的其他令牌不受影响。Revokes the token of this request only.
        """
        accounts.revoke_token(bearer_token())


@blp.route("/me")
class Me(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, MeSchema)
    def get(self):
        """当前登录人员

        令牌所属的人员：角色、所属单位或领域。The token's user: role, unit or sector.
        """
        return current_user()
