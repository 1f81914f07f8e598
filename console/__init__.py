"""The office's web console: server-rendered pages under /console.

Signed in with the office's username and password; the session cookie carries a token from
the same table as the API's bearer tokens, so sign-out and disabling a person end it too.
Every view goes through the same `requires` policy as the API; forms carry a CSRF token.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The console's pages, navigation and dashboard panels, on this app.

    The page modules add their routes to `console.views.bp`; each one's `init_app` adds its
    entry to the navigation, in this order (the order the menu shows)."""
    from console import (
        checklist_editor,
        checklists,
        common,
        dashboard,
        ledgers,
        panels,
        plans,
        rankings,
        review,
        tasks,
        units,
        views,
    )

    views.init_app(app)  # sign-in, 工作台 and 窗口单位
    dashboard.init_app(app)
    for pages in (
        units,
        checklists,
        checklist_editor,
        review,
        tasks,
        plans,
        rankings,
        panels,
        ledgers,
    ):
        pages.init_app(app)
    app.register_blueprint(views.bp)
    # The hidden client id of forms that act once (console.common.act(once=True)).
    app.jinja_env.globals["new_client_id"] = common.new_client_id
    app.extensions.setdefault("worker_jobs", []).append(common.sweep_form_submissions)
