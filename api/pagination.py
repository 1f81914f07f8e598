"""Pagination of a SELECT: two queries whatever the page size (a count and the page)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, select

from core.db import db


def count_of(stmt: Select) -> int:
    """The number of rows `stmt` returns (its order dropped): the total of its pages."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def paginate(stmt: Select, page: int, per_page: int) -> dict[str, Any]:
    total = count_of(stmt)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page) if total else 0,
    }
