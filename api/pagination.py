"""Pagination of a SELECT: two queries whatever the page size (a bounded count and the page).

A list's total is counted only so far: at most `COUNT_BOUND` rows, or up to the end of
the page asked for when that lies further. A page then costs what it shows, not what the
history holds — with an index that matches the list's filter and order, counting a
thousand rows takes the same time among a hundred thousand as among a million. Past the
bound, `total` is the bound and `total_exact` false: a reader shows "1000+" and offers
the next page (there is one: the bound is at least the end of this page). Figures that
need the exact number (the dashboard's) count it themselves, over the same statement.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, select

from core.db import count_at_most, db

COUNT_BOUND = 1_000


def count_of(stmt: Select) -> int:
    """The number of rows `stmt` returns (its order dropped): the total of its pages."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def paginate(stmt: Select, page: int, per_page: int) -> dict[str, Any]:
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return _page(stmt, items, page, per_page)


def _page(stmt: Select, items: list, page: int, per_page: int) -> dict[str, Any]:
    """The page's body, with the total of `stmt` counted up to the bound."""
    total, exact = count_at_most(stmt, max(COUNT_BOUND, page * per_page))
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_exact": exact,
        "pages": math.ceil(total / per_page) if total else 0,
    }


def paginate_parts(stmt: Select, parts: list[Select], page: int, per_page: int) -> dict[str, Any]:
    """The page of `stmt` when its order is `parts` one after the other, each in an order
    an index serves (a CASE in ORDER BY would sort every row): the total is counted over
    `stmt`; each part but the last is counted up to the end of the page, to know where the
    next one starts. A fixed number of queries: a count and a page for each part but the
    last, its page, and the total."""
    skip, need, items = (page - 1) * per_page, per_page, []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        held = skip + need if last else count_at_most(part, skip + need)[0]
        take = max(0, min(need, held - skip))
        items += db.session.scalars(part.limit(take).offset(skip if take else 0)).unique()
        need -= take
        skip = max(0, skip - held)
    return _page(stmt, items, page, per_page)
