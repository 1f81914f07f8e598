"""What the rectification flow tells whom. Each function enqueues in the caller's
transaction (notifications.service.enqueue), so a message exists exactly when its cause does.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accounts.models import Role, User
from core.db import db
from notifications.service import Message, enqueue
from notifications.wechat_fields import wechat_time
from rectification import policy
from rectification.models import RectificationTask

SUBJECT = "rectification_task"


def unit_staff(task: RectificationTask) -> list[User]:
    return _people(User.role == Role.unit_staff, User.unit_id == task.unit_id)


def lead_unit_staff(task: RectificationTask) -> list[User]:
    return _people(User.role == Role.lead_unit_staff, User.sector_id == task.unit.sector_id)


def office_staff(task: RectificationTask) -> list[User]:
    """The office admins whose scope holds the task's unit: city-wide offices always, a
    district or town office only for units of its own subtree."""
    return _people(policy.office_recipients_filter(task.unit))


def _people(*where) -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), *where)))


def _due(task: RectificationTask) -> str:
    return wechat_time(task.due_at - timedelta(minutes=1))  # 23:59 on the due day


# Every kind of message this package sends (inbox and subscribe messages), with what a
# person calls it: the API documents the inbox's `kind` from it.
MESSAGE_KINDS = {
    "tasks_opened": "新整改任务",
    "reminder": "整改期限提醒",
    "overdue": "整改逾期",
    "escalated": "逾期上报",
    "responded": "单位已回复",
    "accepted": "复查通过",
    "rejected": "复查未通过",
    "extension_requested": "延期申请",
    "extension_decided": "延期审批结果",
    "chased": "整改督办",
}


def _message(
    task: RectificationTask,
    kind: str,
    discriminator: str,
    title: str,
    body: str,
    status: str,
    note: str,
) -> Message:
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"message kind {kind!r} is not in MESSAGE_KINDS (the API documents it)")
    return Message(
        kind=kind,
        subject_type=SUBJECT,
        subject_id=task.id,
        discriminator=discriminator,
        title=title,
        body=body,
        wechat_fields={
            "title": task.title,
            "unit": task.unit.name,
            "due": _due(task),
            "status": status,
            "note": note,
        },
    )


def tasks_opened(tasks: list[RectificationTask]) -> None:
    """The tasks one inspection opened for one unit, in one message; it opens the task
    due first."""
    tasks = sorted(tasks, key=lambda t: (t.due_at, t.id))
    first, count = tasks[0], len(tasks)
    titles = "；".join(t.title for t in tasks[:3]) + ("等" if count > 3 else "")
    message = _message(
        first,
        "tasks_opened",
        f"i{first.inspection_id}" if first.inspection_id else "",
        "新的整改任务",
        f"检查发现{count}个问题需要整改：{titles}。最早一项须于{first.due_on:%Y-%m-%d}前"
        "整改并上传整改照片。",
        "待整改",
        f"共{count}项，请按期整改并回复",
    )
    if count > 1:
        message.wechat_fields["title"] = f"{first.title}等{count}项"
    enqueue(message, unit_staff(first))


def reminder(task: RectificationTask) -> None:
    enqueue(
        _message(
            task,
            "reminder",
            task.due_on.isoformat(),
            "整改即将到期",
            f"整改任务「{task.title}」将于{task.due_on:%Y-%m-%d}到期，请尽快整改并回复。",
            "即将到期",
            "请在期限内提交整改回复",
        ),
        unit_staff(task),
    )


def overdue(task: RectificationTask) -> None:
    enqueue(
        _message(
            task,
            "overdue",
            task.due_on.isoformat(),
            "整改已逾期",
            f"整改任务「{task.title}」已于{task.due_on:%Y-%m-%d}到期仍未完成，请立即整改。",
            "已逾期",
            "逾期将上报牵头单位",
        ),
        unit_staff(task),
    )


def escalated(task: RectificationTask, days_overdue: int) -> None:
    enqueue(
        _message(
            task,
            "escalated",
            task.due_on.isoformat(),
            "整改逾期督办",
            f"{task.unit.name}的整改任务「{task.title}」已逾期{days_overdue}天仍未完成，请督促整改。",
            "逾期督办",
            f"已逾期{days_overdue}天",
        ),
        lead_unit_staff(task) + office_staff(task),
    )


def responded(task: RectificationTask) -> None:
    enqueue(
        _message(
            task,
            "responded",
            f"r{task.round}",
            "整改回复待复查",
            f"{task.unit.name}已提交整改任务「{task.title}」第{task.round}轮整改回复，请复查。",
            "待复查",
            f"第{task.round}轮回复",
        ),
        office_staff(task),
    )


def verified(
    task: RectificationTask, accepted: bool, round_: int, reason: str | None, *, lapsed=False
) -> None:
    """The verdict, to the unit. An extension request the closing settled (`lapsed`) is
    told in the same message: a one-time WeChat subscription allows one."""
    if accepted:
        title, body, status = "整改已销号", f"整改任务「{task.title}」复查通过，已销号。", "已销号"
        if lapsed:
            body += "延期申请随之失效，无需再审批。"
    else:
        title = "整改复查未通过"
        body = f"整改任务「{task.title}」第{round_}轮回复未通过复查：{reason}。请重新整改后回复。"
        status = "未通过"
    kind = "accepted" if accepted else "rejected"
    enqueue(
        _message(task, kind, f"r{round_}", title, body, status, reason or "感谢配合"),
        unit_staff(task),
    )


def extension_requested(task: RectificationTask, extension_id: int) -> None:
    enqueue(
        _message(
            task,
            "extension_requested",
            str(extension_id),
            "延期申请待审批",
            f"{task.unit.name}申请将整改任务「{task.title}」延期，请审批。",
            "待审批",
            "延期申请",
        ),
        office_staff(task),
    )


def extension_decided(task: RectificationTask, extension_id: int, approved: bool) -> None:
    if approved:
        title = "延期申请已批准"
        body = f"整改任务「{task.title}」的期限已延至{task.due_on:%Y-%m-%d}。"
    else:
        title = "延期申请未批准"
        body = f"整改任务「{task.title}」的延期申请未获批准，请在{task.due_on:%Y-%m-%d}前完成。"
    enqueue(
        _message(
            task,
            "extension_decided",
            str(extension_id),
            title,
            body,
            "已批准" if approved else "未批准",
            title,
        ),
        unit_staff(task),
    )


def chased(task: RectificationTask, chase_id: int, by: User, note: str) -> None:
    """督办: to the unit's staff, like a reminder (inbox, and WeChat when configured)."""
    who = by.display_name or "督查办"
    body = (
        f"{who}督办：整改任务「{task.title}」已于{task.due_on:%Y-%m-%d}到期仍未完成，"
        "请立即整改并回复。"
    )
    if note:
        body += f"督办意见：{note}"
    enqueue(
        _message(task, "chased", str(chase_id), "整改督办", body, "督办", note or "请立即整改"),
        unit_staff(task),
    )
