"""The task state machine: every transition is checked here and nowhere else.

    open ──respond──► responded ──accept──► closed (销号)
      ▲                   │
      └──────reject───────┘   (a reason; the next reply opens round n+1)

    open ──request_extension──► (extension pending) ──approve (new deadline) | deny
                                        └── the task closes: the request lapses (service)

    overdue (open or responded, past the deadline) ──chase──► (督办: the status stays)

"Overdue" is not a state: it is derived from the deadline (see models).
`check()` answers 403 when the role may never do the action and 409, saying why, when the
task's state does not allow it now. It changes nothing; the services change the task only
after it has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from accounts.models import Role, User
from core import errors
from rectification import policy
from rectification.models import STATUS_LABELS, RectificationTask, TaskStatus


class Action(StrEnum):
    respond = "respond"
    accept = "accept"
    reject = "reject"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    deny_extension = "deny_extension"
    chase = "chase"


ACTION_LABELS = {
    Action.respond: "提交整改回复",
    Action.accept: "复查通过（销号）",
    Action.reject: "复查退回",
    Action.request_extension: "申请延期",
    Action.approve_extension: "批准延期",
    Action.deny_extension: "驳回延期",
    Action.chase: "督办",
}

VERIFY = "verifier"  # the roles come from RECTIFICATION_VERIFIER


@dataclass(frozen=True)
class Rule:
    sources: frozenset[TaskStatus]
    target: TaskStatus | None  # None: the status stays
    roles: frozenset[Role] | str
    extension_pending: bool | None = None  # required value of task.extension_pending
    overdue: bool = False  # only once the deadline has passed


OPEN, RESPONDED = frozenset({TaskStatus.open}), frozenset({TaskStatus.responded})
NOT_CLOSED = frozenset({TaskStatus.open, TaskStatus.responded})

RULES: dict[Action, Rule] = {
    Action.respond: Rule(OPEN, TaskStatus.responded, frozenset({Role.unit_staff})),
    Action.accept: Rule(RESPONDED, TaskStatus.closed, VERIFY),
    Action.reject: Rule(RESPONDED, TaskStatus.open, VERIFY),
    Action.request_extension: Rule(OPEN, None, frozenset({Role.unit_staff}), False),
    Action.approve_extension: Rule(NOT_CLOSED, None, frozenset({Role.office_admin}), True),
    Action.deny_extension: Rule(NOT_CLOSED, None, frozenset({Role.office_admin}), True),
    Action.chase: Rule(NOT_CLOSED, None, policy.CHASERS, overdue=True),
}


def verifier_roles(setting: str) -> frozenset[Role]:
    return {
        "office": frozenset({Role.office_admin}),
        "inspector": frozenset({Role.inspector}),
        "office_or_inspector": frozenset({Role.office_admin, Role.inspector}),
    }[setting]


def may(task: RectificationTask, action: Action, user: User, *, verifier: str) -> bool:
    """Whether `user`'s role allows `action` at all, on a task that is theirs (the unit's
    own, the inspector's own finding, the lead unit's sector, the office's scope)."""
    rule = RULES[action]
    roles = verifier_roles(verifier) if rule.roles == VERIFY else rule.roles
    return policy.may_act(user, task, roles)


def check_may(task: RectificationTask, action: Action, user: User, *, verifier: str) -> None:
    """Raise Forbidden unless `user` may do `action` on `task` at all (whatever its state):
    what the API checks before If-Match, so a refused caller never learns the version."""
    if not may(task, action, user, verifier=verifier):
        raise errors.Forbidden(f"当前账号无权{ACTION_LABELS[action]}")


def check(task: RectificationTask, action: Action, user: User, *, verifier: str) -> Rule:
    """Raise Forbidden or Conflict unless `user` may do `action` on `task` now."""
    rule = RULES[action]
    check_may(task, action, user, verifier=verifier)
    # The state first: a closed task is not "not overdue", it is closed.
    if task.status not in rule.sources:
        raise errors.Conflict(
            f"任务当前为「{STATUS_LABELS[task.status]}」，不能{ACTION_LABELS[action]}",
            type="urn:problem:illegal-transition",
            state=task.status.value,
            action=action.value,
        )
    if rule.overdue and not task.is_overdue():
        raise errors.Conflict(
            "任务未逾期，不能督办",
            type="urn:problem:task-not-overdue",
            state=task.status.value,
            action=action.value,
        )
    if rule.extension_pending is True and not task.extension_pending:
        raise errors.Conflict(
            "该任务没有待审批的延期申请",
            type="urn:problem:no-pending-extension",
            state=task.status.value,
            action=action.value,
        )
    if rule.extension_pending is False and task.extension_pending:
        raise errors.Conflict(
            "已有一份延期申请等待审批，请勿重复申请",
            type="urn:problem:extension-pending",
            state=task.status.value,
            action=action.value,
        )
    return rule


def allowed_actions(task: RectificationTask, user: User, *, verifier: str) -> list[str]:
    """What the client may offer this person now (buttons), by the same rules."""
    result = []
    for action in Action:
        try:
            check(task, action, user, verifier=verifier)
        except (errors.Forbidden, errors.Conflict):
            continue
        result.append(action.value)
    return result
