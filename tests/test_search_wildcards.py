"""A search finds the text typed: "%", "_" and "\\" are characters, not LIKE patterns."""

from __future__ import annotations

import pathlib
import re

import pytest

from checklists import service as checklists
from core.db import db

API = "/api/v1"
ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [
    path
    for folder in (
        "api",
        "core",
        "org",
        "inspections",
        "checklists",
        "rectification",
        "console",
        "accounts",
        "reports",
        "evidence",
        "notifications",
        "media",
        "wechat",
    )
    for path in (ROOT / folder).rglob("*.py")
]


def test_no_search_builds_a_like_pattern_from_input():
    """Every LIKE goes through `.contains/.startswith/.endswith(…, autoescape=True)`:
    a bare `.like(` / `.ilike(` or a contains without autoescape is a wildcard hole."""
    holes = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            bare = re.search(r"\.i?like\(", line)
            unescaped = re.search(r"\.(contains|startswith|endswith)\(", line) and (
                "autoescape=True" not in line
                and re.search(r"\b[A-Z]\w*\.\w+\.(contains|startswith|endswith)\(", line)
            )
            if bare or unescaped:
                holes.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert holes == []


@pytest.fixture
def named_units(office, world):
    names = ["窗口100%满意", "窗口_下划线", "窗口\\反斜杠", "普通窗口"]
    for name in names:
        body = {"name": name, "sector_id": world.sector_a.id, "region_id": world.region_a}
        assert office.post(f"{API}/units", json=body).status_code == 201
    return names


UNIT_SEARCHES = {
    "%": {"窗口100%满意"},
    "_": {"窗口_下划线"},
    "\\": {"窗口\\反斜杠"},
    "0%满": {"窗口100%满意"},
    "口_下": {"窗口_下划线"},
    "%%": set(),
    "普通": {"普通窗口"},
}


def test_unit_search_takes_wildcards_literally(office, named_units):
    for q, found in UNIT_SEARCHES.items():
        listed = office.get(f"{API}/units", query_string={"q": q, "per_page": 100}).get_json()
        assert {unit["name"] for unit in listed["items"]} == found, q


def test_checklist_template_search_takes_wildcards_literally(office):
    for code, name in [("pct", "100%达标"), ("under", "a_b"), ("slash", "c\\d"), ("plain", "普通")]:
        checklists.create_template({"code": code, "name": name, "all_sectors": True}, actor=None)
    db.session.commit()
    for q, found in [("%", {"100%达标"}), ("_", {"a_b"}), ("\\", {"c\\d"})]:
        listed = office.get(f"{API}/checklist-templates", query_string={"q": q}).get_json()
        assert {t["name"] for t in listed["items"]} == found, q
