"""What every console page needs: query-string parsing, paging, and acting on a form.

A form post calls one domain service through `act`: a refusal (invalid input, a
conflict) rolls back, is flashed in Chinese and sends the office back to the page it came
from; success flashes what happened. A form named in `act(form=…)` gets the refusal
beside it, filled in with what was submitted (`refusal_for` in its template): the page
returns to that form, so the message at the top alone would be out of sight and the
typed text lost. Nothing here knows the domain's rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import current_app, flash, g, redirect, request, session
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import delete
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from accounts.models import User
from api.auth import PUBLIC, policy_of
from api.errors import CONCURRENT_CHANGE_MESSAGE
from api.schemas import field_label
from console.models import FormSubmission
from core import clock, errors
from core.claims import claim
from core.clock import utcnow
from core.db import db

PER_PAGE = 30
MAX_PAGE = 100_000  # as the API's lists
# ASCII digits only, and few: str.isdigit() also takes "²" (int() refuses it), and a
# 5 000-digit number is beyond what int() converts; the database columns are 32-bit.
_NUMBER = re.compile(r"[0-9]{1,10}")


def _number(raw: str, lo: int, hi: int) -> int | None:
    if not _NUMBER.fullmatch(raw):
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def arg_int(name: str, *, lo: int = 1, hi: int = 2**31 - 1) -> int | None:
    """An id or number from the query string; anything else is treated as absent."""
    return _number(request.args.get(name, "").strip(), lo, hi)


def arg_choice(name: str, choices, default: str | None = None) -> str | None:
    value = request.args.get(name, "")
    return value if value in choices else default


def arg_date(name: str) -> date | None:
    """A YYYY-MM-DD date in the application's years (core.clock) from the query string;
    anything else is treated as absent, as a bad page number is."""
    raw = request.args.get(name, "").strip()
    if len(raw) != 10:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if clock.day_in_range(day) else None


def page_args(default: int = PER_PAGE) -> tuple[int, int]:
    return arg_int("page", hi=MAX_PAGE) or 1, arg_int("per_page", hi=100) or default


def form_text(name: str, limit: int = 500) -> str:
    return request.form.get(name, "").strip()[:limit]


def load_form(schema: type[Schema], data: dict[str, Any]) -> dict[str, Any]:
    """A form's values loaded through the API's own schema: the same limits and the same
    messages as the API, each complaint under its field (shown with its Chinese label)."""
    loader = schema()
    try:
        return loader.load(json_ints(loader, data))
    except ValidationError as exc:
        problems = {
            str(field): [str(m) for m in (texts.values() if isinstance(texts, dict) else texts)]
            for field, texts in exc.messages.items()
        }
        raise errors.InvalidInput(errors=problems) from None


def json_ints(loader: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """A form sends text: "5" is how an integer arrives, where the API's JSON integers are
    strict. Integer fields' digits become ints; "5.5" or "abc" stay text, for the schema
    to refuse in its own words."""
    return {
        key: int(value)
        if isinstance(loader.fields.get(key), fields.Integer)
        and isinstance(value, str)
        and re.fullmatch(r"-?[0-9]{1,12}", value)
        else value
        for key, value in data.items()
    }


def form_values(*names: str) -> dict[str, str]:
    """The named fields the form filled in (trimmed; a blank box is left out, as a client
    of the API leaves out what it does not set)."""
    return {n: request.form[n].strip() for n in names if request.form.get(n, "").strip()}


def form_date(name: str, *, required: bool = False) -> date | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        if required:
            raise errors.InvalidInput(errors={name: ["必填字段"]})
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidInput(errors={name: ["日期格式应为 YYYY-MM-DD"]}) from None
    if not clock.day_in_range(day):
        raise errors.InvalidInput(errors={name: [clock.OUT_OF_RANGE_DAY]})
    return day


STALE = "该记录刚被他人修改，请查看最新内容后重试"


def check_version(current: int, field: str = "version", message: str = STALE) -> None:
    """The page showed version N; a change made since then by someone else wins. A form
    acting on several objects carries one field per object (`version-<id>`)."""
    shown = request.form.get(field, "")
    if shown != str(current):
        raise errors.Conflict(message, type="urn:problem:concurrent-change")


def describe(exc: errors.DomainError) -> str:
    """The message, plus each field's complaint under the field's Chinese label, as one
    line a person can read. A field no form shows is told by its complaint alone."""
    details = []
    for field, messages in (getattr(exc, "errors", None) or {}).items():
        if isinstance(messages, dict):
            messages = [m for ms in messages.values() for m in ms]
        if isinstance(messages, list | tuple):
            text = "；".join(str(m) for m in messages)
            label = field_label(field)
            details.append(f"{label}：{text}" if label else text)
    return exc.message + ("（" + "；".join(details) + "）" if details else "")


def form_ids(name: str, *, limit: int = 100) -> list[int]:
    """The ids ticked in a form's checkboxes named `name`, in order, each once; a value that
    is not an id is refused (a page only ever sends ids)."""
    raw = request.form.getlist(name)
    ids = [_number(value.strip(), 1, 2**31 - 1) for value in raw]
    if any(i is None for i in ids):
        raise errors.InvalidInput(errors={name: ["请选择列表中的项目"]})
    if not ids:
        raise errors.InvalidInput("请至少勾选一项")
    if len(ids) > limit:
        raise errors.InvalidInput(f"一次最多处理 {limit} 项")
    return list(dict.fromkeys(ids))  # type: ignore[arg-type]


def each(items: list[Any], name: Callable[[Any], str], change: Callable[[Any], Any]) -> None:
    """`change(item)` for every item, in the caller's one transaction; the first refusal
    stops them all (`act` rolls back every change made before it) and says which item
    it was, so the office knows what to look at."""
    for item in items:
        try:
            change(item)
        except (errors.InvalidInput, errors.Conflict, errors.Forbidden) as exc:
            raise type(exc)(f"{name(item)}：{describe(exc)}", **exc.extra) from exc


def field_errors(exc: errors.DomainError) -> dict[str, str]:
    """Each field's complaints as one line, for the form to show beside the field."""
    found = {}
    for field, messages in (getattr(exc, "errors", None) or {}).items():
        if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
            found[field] = "；".join(messages)[:300]
    return found


REFUSAL = "console_refusal"
# What a refused form sent that is not worth showing again (tokens, the page's version).
_NOT_REDISPLAYED = {"csrf_token", "version", "client_id"}


def _redisplayed(key: str) -> bool:
    """Not a token nor a version (`version`, or `version-<id>` of a form on several)."""
    return key not in _NOT_REDISPLAYED and not key.startswith("version-")


def new_client_id() -> str:
    """A fresh client id for a form that acts once (`act(once=True)`): templates call it
    through the `client_id()` macro each time they draw the form."""
    return str(uuid.uuid4())


def _first_copy(done: str) -> str | None:
    """Claim the posted form's `client_id`: None for the first copy (it goes on to act),
    else what the first copy answered (this post is a resend: a replay). The claim is in
    the caller's transaction, so a refusal, rolled back, leaves the id unclaimed."""
    try:
        client_id = str(uuid.UUID(request.form.get("client_id", "")))
    except ValueError:
        raise errors.InvalidInput("页面已过期，请刷新后重试") from None
    path = request.path[:200]
    mine = FormSubmission(
        client_id=client_id, actor_id=g.user.id, path=path, done=done[:300], created_at=utcnow()
    )
    if claim(mine):
        return None
    first = db.session.get(FormSubmission, client_id)
    if first is None or first.actor_id != g.user.id or first.path != path:
        raise errors.Conflict(
            "该表单已用于其他操作，请刷新页面后重试", type="urn:problem:client-id-reused"
        )
    return first.done


# A page is not resent a week after it was drawn: its client id can be forgotten.
FORM_IDS_KEPT = timedelta(days=7)


def sweep_form_submissions() -> dict[str, int] | None:
    """Worker job: forget the client ids of bulk forms posted more than a week ago (a
    resend after that acts anew, and its stale versions refuse it). The worker commits."""
    old = FormSubmission.created_at < utcnow() - FORM_IDS_KEPT
    gone = db.session.execute(delete(FormSubmission).where(old)).rowcount
    return {"form_ids_swept": gone} if gone else None


def act(
    change: Callable[[], Any],
    *,
    done: str,
    back: str,
    form: str | None = None,
    refused_back: str | None = None,
    once: bool = False,
) -> Response:
    """Run one service call for a form post, then go back to the page with a message.

    `form`: the key of the form on the page (`refusal_for(key)` in its template); a
    refusal is then shown beside that form too, which is filled in again with what was
    submitted, with each field's complaint (`errors`) for the field it names.
    `refused_back`: where a refusal goes when that is not `back` (a form on a page of its
    own, which returns to the record once saved).
    `once`: the form carries a `client_id` (the `client_id()` macro); a resend of it is a
    replay, answered as the first copy was, nothing done twice."""
    first_answer = None
    try:
        first_answer = _first_copy(done) if once else None
        if first_answer is None:
            change()
            db.session.flush()  # a write someone else's overtook is refused here, not later
    except (errors.InvalidInput, errors.Conflict, errors.Forbidden, StaleDataError) as exc:
        db.session.rollback()
        if isinstance(exc, StaleDataError):
            exc = errors.Conflict(CONCURRENT_CHANGE_MESSAGE, type="urn:problem:concurrent-change")
        message = describe(exc)
        flash(message, "error")
        if form:
            values = {
                key: request.form.get(key, "")[:500] for key in request.form if _redisplayed(key)
            }
            # Ticked boxes (several values under one name) come back ticked.
            ticked = {
                key: request.form.getlist(key)[:100] for key in request.form if _redisplayed(key)
            }
            session[REFUSAL] = {
                "form": form,
                "message": message,
                "sent": values,
                "ticked": ticked,
                "errors": field_errors(exc),
            }
        return redirect(refused_back or back, code=303)
    if first_answer is not None:
        done = first_answer
    if done:
        flash(done, "info")
    return redirect(back, code=303)


def refusal_for(form: str) -> dict[str, Any] | None:
    """The refusal of `form` from the post just before this page, with the values it sent
    ({"message", "sent", "ticked": every value of each name}); None for any other form.
    Read once: a reload is clean."""
    if "console_refusal" not in g:
        g.console_refusal = session.pop(REFUSAL, None)
    refusal = g.console_refusal
    return refusal if refusal and refusal.get("form") == form else None


# -- what a person may open, and the filter options of their scope ------------------------


def may_open(endpoint: str, user: User, method: str = "GET") -> bool:
    """Whether `user` passes the `@requires` of a page: read from the page itself, so the
    navigation, the dashboard's links and sign-in follow the permissions exactly."""
    policy = policy_of(current_app, endpoint, method)
    return policy == PUBLIC or (policy is not None and user.role in policy)


def may_sign_in(user: User) -> bool:
    """Whether `user` may sign in to the console at all: its front page is the gate."""
    return may_open("console.dashboard", user)


def may_follow(endpoint: str, user: User) -> bool:
    """Whether a link to the console page `endpoint` works for `user`, outside a request
    too (the ledgers the worker writes): they may sign in, and the page lets them in."""
    return may_sign_in(user) and may_open(endpoint, user)
