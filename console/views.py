"""Console routes. Views parse the form, call one domain service and render."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from accounts import policy as accounts_policy
from accounts import service as accounts
from accounts.models import ROLE_LABELS, Role
from api import errors as problems
from api import throttle
from api.auth import OFFICE_READERS, public, requires
from api.errors import status_of
from api.extensions import csrf
from api.pagination import paginate
from api.users import UserUpdateSchema
from console.common import (
    act,
    arg_choice,
    check_version,
    form_values,
    load_form,
    may_open,
    may_sign_in,
    page_args,
    refusal_for,
)
from core import errors
from core.clock import local
from org import hours
from org import queries as org_queries
from rectification.deadlines import DAY_UNITS

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Who signs in to the console: the offices, and lead units following their sector
# (read-only). Units and inspectors use the mini program. A page for lead units says so
# with `@requires(*CONSOLE_READERS)`; sign-in admits whoever may open the dashboard.
CONSOLE_READERS = (*OFFICE_READERS, Role.lead_unit_staff)

# The navigation is the app's (`app.extensions[NAV]`): this module's pages, then what
# each page module adds from its `init_app` with `add_nav` (console.init_app calls them).
# Each person sees the entries whose page they may open: the roles come from the page's
# own `@requires`, so the menu and the permissions cannot disagree; `roles` only narrows
# an entry further (e.g. the same page under another label for lead units).
NAV = "console_nav"


class NavEntry(NamedTuple):
    endpoint: str
    label: str
    roles: frozenset[Role] | None = None


def init_app(app: Flask) -> None:
    app.extensions[NAV] = [
        NavEntry("console.dashboard", "工作台"),
        NavEntry("console.units", "窗口单位"),
        NavEntry("console.users", "人员"),
    ]


def add_nav(
    app: Flask,
    endpoint: str,
    label: str,
    *,
    before: str | None = None,
    roles: Iterable[Role] | None = None,
) -> None:
    nav = app.extensions[NAV]
    if any(e.endpoint == endpoint and e.label == label for e in nav):
        return
    index = next((i for i, e in enumerate(nav) if e.endpoint == before), len(nav))
    nav.insert(index, NavEntry(endpoint, label, frozenset(roles) if roles else None))


def nav_for(user) -> list[NavEntry]:
    """The entries `user` may follow."""
    return [
        entry
        for entry in current_app.extensions[NAV]
        if (entry.roles is None or user.role in entry.roles) and may_open(entry.endpoint, user)
    ]


@bp.before_request
def _load_session_user() -> None:
    g.user = None
    token = session.get("token")
    if token:
        g.user = accounts.user_for_token(token)
        if g.user is None:
            session.clear()
    if request.method == "POST":
        csrf.protect()


@bp.app_template_filter("localtime")
def _localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local(value).strftime(fmt) if value else ""


@bp.app_template_filter("visit_window")
def _visit_window(visit) -> str:
    """A visit's window as an office reads it: one day and its hours, or a span of days."""
    start, end = local(visit.window_start), local(visit.window_end)
    if start.date() == end.date():
        weekday = hours.DAY_NAMES[start.weekday()]
        return f"{start:%m-%d} {weekday} {start:%H:%M}-{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"


@bp.context_processor
def _layout() -> dict:
    me = g.get("user")
    return {
        "nav": nav_for(me) if me else [],
        "me": me,
        "role_labels": ROLE_LABELS,
        "refusal_for": refusal_for,
        # The unit of every deadline in days: the one new rectification tasks count in.
        "day_unit": DAY_UNITS[current_app.config["RECTIFICATION_DAY_MODE"]],
    }


@bp.errorhandler(errors.Unauthenticated)
def _sign_in_first(_exc):
    return redirect(url_for("console.login", next=request.full_path))


@bp.errorhandler(errors.DomainError)
def _domain_error(exc: errors.DomainError):
    if exc.keep_changes:
        problems.keep_changes()
    status = status_of(exc)
    return render_template("console/error.html", status=status, message=exc.message), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    message = "页面已过期，请刷新后重试" if exc.code == 400 else exc.description
    return render_template("console/error.html", status=exc.code, message=message), exc.code


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    """The database down is a page saying so (503), like every other console refusal;
    anything else is the API's one answer to the unexpected."""
    if isinstance(exc, StaleDataError):  # a write overtaken outside a form's `act`
        problems.rollback_quietly()
        page = render_template(
            "console/error.html", status=409, message=problems.CONCURRENT_CHANGE_MESSAGE
        )
        return page, 409
    if not problems.is_database_down(exc):
        return problems.from_unexpected(exc)
    problems.note_database_down(exc)
    g.user = None  # rolled back: its attributes cannot be loaded again now
    page = render_template("console/error.html", status=503, message=problems.DATABASE_DOWN_MESSAGE)
    return page, 503, {"Retry-After": str(problems.DATABASE_RETRY_AFTER)}


def _safe_next(target: str | None) -> str:
    """Only redirect within the console after sign-in (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console"):
            return target
    return url_for("console.dashboard")


# -- sign-in ------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        # The same sign-in, limits included, as the API's (api/throttle.py).
        user, raw, _ = throttle.sign_in_with_password(username, password)
        if not may_sign_in(user):
            raise errors.Forbidden("控制台仅供督查办和牵头单位使用，请使用小程序")
    except errors.DomainError as exc:
        if exc.keep_changes:
            problems.keep_changes()  # a throttle event in the audit trail must survive
        flash(exc.message, "error")
        # The username stays filled in: a mistyped password is retyped, not both.
        page = render_template(
            "console/login.html", next=request.form.get("next", ""), username=username[:150]
        )
        headers = {}
        if isinstance(exc, errors.TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        return page, status_of(exc), headers
    session.clear()
    session["token"] = raw
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@requires(*CONSOLE_READERS)
def logout():
    accounts.revoke_token(session.get("token", ""))
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("console.login"))


# -- pages --------------------------------------------------------------------------------


@bp.get("/")
@requires(*CONSOLE_READERS)
def dashboard():
    from console import dashboard as board

    period = board.period_of(request.args.get("period", "quarter"))
    return render_template("console/dashboard.html", board=board.build(period, actor=g.user))


# -- 人员: people, their region, their WeChat ----------------------------------------------


@bp.get("/users")
@requires(*OFFICE_READERS)
def users():
    """The people of the reader's scope (a town office: its subtree's). A city-wide office
    admin binds an office account to a region, makes it city-wide again, or unbinds a
    person's WeChat here; everyone else reads."""
    filters = {"role": arg_choice("role", {r.value for r in Role})}
    page, per_page = page_args()
    result = paginate(accounts.users_query(filters, actor=g.user), page, per_page)
    manages = accounts_policy.can_manage_users(g.user)
    return render_template(
        "console/users.html",
        result=result,
        filters=filters,
        manages=manages,
        regions=org_queries.all_regions() if manages else [],
        may_have_region=accounts_policy.may_have_region,
        roles=list(Role),
    )


def _managed_user(user_id: int):
    """The person, if the reader may see them (404 otherwise), and may manage people (403)."""
    user = accounts.get_user(user_id, actor=g.user)
    accounts_policy.check_manages_users(g.user)
    return user


@bp.post("/users/<int:user_id>/region")
@requires(Role.office_admin)
def set_user_region(user_id: int):
    user = _managed_user(user_id)

    def change():
        check_version(user.version)
        # A blank choice is 全市 (null), as the API's `region_id: null`.
        region = form_values("region_id").get("region_id")
        accounts.update_user(user, load_form(UserUpdateSchema, {"region_id": region}), actor=g.user)

    return act(change, done=f"已更新{user.display_name}的工作区域", back=url_for("console.users"))


@bp.post("/users/<int:user_id>/wechat")
@requires(Role.office_admin)
def unbind_user_wechat(user_id: int):
    user = _managed_user(user_id)

    def change():
        check_version(user.version)
        accounts.unbind_wechat(user, actor=g.user)

    return act(change, done=f"已解除{user.display_name}的微信绑定", back=url_for("console.users"))
