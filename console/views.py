"""Console routes. Views parse the form, call one domain service and render."""

from __future__ import annotations

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
from werkzeug.exceptions import HTTPException

from accounts import service as accounts
from accounts.models import ROLE_LABELS
from api import errors as problems
from api import throttle
from api.auth import OFFICE_READERS, public, requires
from api.errors import status_of
from api.extensions import csrf
from api.pagination import paginate
from console.common import MAX_PAGE, arg_int
from core import errors
from core.clock import local
from org import service as org

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# The navigation is the app's (`app.extensions[NAV]`): this module's two pages, then what
# each page module adds from its `init_app` with `add_nav` (console.init_app calls them).
NAV = "console_nav"


def init_app(app: Flask) -> None:
    app.extensions[NAV] = [("console.dashboard", "工作台"), ("console.units", "窗口单位")]


def add_nav(app: Flask, endpoint: str, label: str, *, before: str | None = None) -> None:
    nav = app.extensions[NAV]
    if any(e == endpoint for e, _ in nav):
        return
    index = next((i for i, (e, _) in enumerate(nav) if e == before), len(nav))
    nav.insert(index, (endpoint, label))


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


@bp.context_processor
def _layout() -> dict:
    nav = current_app.extensions[NAV]
    return {"nav": nav, "me": g.get("user"), "role_labels": ROLE_LABELS}


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
        if not user.is_office:
            raise errors.Forbidden("控制台仅供督查办使用，请使用小程序")
    except errors.DomainError as exc:
        if exc.keep_changes:
            problems.keep_changes()  # a throttle event in the audit trail must survive
        flash(exc.message, "error")
        page = render_template("console/login.html", next=request.form.get("next", ""))
        headers = {}
        if isinstance(exc, errors.TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        return page, status_of(exc), headers
    session.clear()
    session["token"] = raw
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@requires(*OFFICE_READERS)
def logout():
    accounts.revoke_token(session.get("token", ""))
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("console.login"))


# -- pages --------------------------------------------------------------------------------


@bp.get("/")
@requires(*OFFICE_READERS)
def dashboard():
    from console import dashboard as board

    period = board.period_of(request.args.get("period", "quarter"))
    return render_template("console/dashboard.html", board=board.build(period))


@bp.get("/units")
@requires(*OFFICE_READERS)
def units():
    filters = {"q": request.args.get("q", "").strip()[:50] or None}
    sector_id = arg_int("sector_id")
    if sector_id:
        filters["sector_id"] = sector_id
    page = arg_int("page", hi=MAX_PAGE) or 1
    result = paginate(org.units_query(g.user, filters), page, 50)
    return render_template(
        "console/units.html", result=result, sectors=org.list_sectors(), filters=filters
    )
