"""The in-app inbox: what the mini program and the console show as messages."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from api.auth import EVERYONE, current_user, requires
from api.extensions import Blueprint
from api.operation_docs import idempotent
from api.pagination import paginate
from api.schemas import Id, Int, PageArgs, Schema, enum_field, page_of
from notifications import service
from rectification.notify import MESSAGE_KINDS

blp = Blueprint("inbox", __name__, url_prefix="/api/v1/inbox", description="站内消息")


class InboxMessageSchema(Schema):
    id = Id()
    kind = enum_field(list(MESSAGE_KINDS), MESSAGE_KINDS)
    subject_type = fields.String()
    subject_id = Int()
    title = fields.String()
    body = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class InboxPageSchema(page_of(InboxMessageSchema)):
    unread = Int()


class InboxFilter(PageArgs):
    unread = fields.Boolean()


class ReadAllSchema(Schema):
    marked = Int()


@blp.route("")
class Inbox(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(InboxFilter, location="query")
    @blp.response(200, InboxPageSchema)
    def get(self, args):
        """我的消息（最新在前），附未读数

        本人的消息分页列表与未读数；读取不会标记已读。A page of the caller's messages and the
        unread count.
        """
        user = current_user()
        page = paginate(
            service.inbox_query(user, unread=args.get("unread")), args["page"], args["per_page"]
        )
        return page | {"unread": service.unread_count(user)}


@blp.route("/<int:message_id>/read")
class InboxMessageRead(MethodView):
    @requires(*EVERYONE)
    @idempotent("已读的消息再标记不变，返回同一消息 / marking again changes nothing.")
    @blp.response(200, InboxMessageSchema)
    def post(self, message_id):
        """标记一条消息为已读

        记下阅读时间（已读的不变）。Sets read_at once.
        """
        return service.mark_read(message_id, actor=current_user())


@blp.route("/read-all")
class InboxReadAll(MethodView):
    @requires(*EVERYONE)
    @idempotent("重发时已无未读，返回 marked=0 / a resend marks 0.")
    @blp.response(200, ReadAllSchema)
    def post(self):
        """全部标记为已读

        把本人全部未读消息标为已读，返回标记的条数。Marks every unread message read.
        """
        return {"marked": service.mark_all_read(actor=current_user())}
