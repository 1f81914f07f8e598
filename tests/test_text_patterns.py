"""Pattern checks match the whole value, in ASCII: a trailing newline, full-width or
Arabic-Indic digits and full-width letters are refused by every pattern-checked field
(a Python `$` matches before a final "\\n"; `\\d` and `\\w` match any script's digits)."""

from __future__ import annotations

import marshmallow as ma
import pytest
from marshmallow import validate

from accounts.cli import USERNAME
from accounts.models import Role
from checklists import content as checklist_content
from checklists import library
from core import errors
from core.db import db
from org import hours
from tests.conftest import assert_problem

API = "/api/v1"

# A valid value for every pattern a schema checks, by the pattern's text. A new pattern
# fails `test_every_schema_pattern_has_an_example` until it is listed here.
VALID = {
    r"^[A-Za-z0-9_.-]{3,40}$": "viewer",
    r"^[0-9]{6,12}$": "445281009",
    r"^[a-z0-9_]{2,32}$": "medical",
    r"^[0-9a-fA-F]{64}$": "ab" * 32,
    r"^[A-Za-z0-9_-]{1,64}$": "seed-1",
    checklist_content.CODE_RE.pattern: "imp_b",
}

FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}  # "4" -> "４", "a" -> "ａ"
ARABIC_INDIC = {str(d): chr(0x0660 + d) for d in range(10)}  # "4" -> "٤"


def variants(valid: str) -> list[str]:
    """Values that look like `valid` and must be refused."""
    out = [valid + "\n", valid + "\r\n", " " + valid, valid + " "]
    out.append("".join(FULL_WIDTH.get(ch, ch) for ch in valid))
    if any(ch.isdigit() for ch in valid):
        out.append("".join(ARABIC_INDIC.get(ch, ch) for ch in valid))
    # Only one character changed: the rest still matches, so a search would pass it.
    out.append(valid[:-1] + FULL_WIDTH[valid[-1]])
    return out


def _all_schemas(cls=ma.Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_schemas(sub)


def schema_patterns(app) -> dict[str, list[validate.Regexp]]:
    """Every Regexp validator of every schema the app declares, by pattern text."""
    found: dict[str, list[validate.Regexp]] = {}
    for schema in _all_schemas():
        for field in schema._declared_fields.values():
            inner = [field, getattr(field, "inner", None), getattr(field, "value_field", None)]
            for each in filter(None, inner):
                for check in each.validators:
                    if isinstance(check, validate.Regexp):
                        found.setdefault(check.regex.pattern, []).append(check)
    return found


def openapi_patterns(node) -> set[str]:
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*(openapi_patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(openapi_patterns(v) for v in node))
    return set()


def test_every_schema_pattern_has_an_example(app, client):
    found = schema_patterns(app)
    assert set(found) == set(VALID)
    document = client.get(f"{API}/openapi.json").get_json()
    assert openapi_patterns(document) <= set(VALID)


@pytest.mark.parametrize("pattern", sorted(VALID))
def test_every_schema_pattern_matches_the_whole_ascii_value(app, pattern):
    for check in schema_patterns(app)[pattern]:
        assert check(VALID[pattern]) == VALID[pattern]
        for bad in variants(VALID[pattern]):
            with pytest.raises(ma.ValidationError):
                check(bad)


def test_plain_patterns_outside_schemas_match_whole_ascii_values():
    for value in variants("viewer"):
        assert USERNAME.fullmatch(value) is None
    for value in variants("imp_b"):
        assert checklist_content.CODE_RE.fullmatch(value) is None
    for clock in ("08:30\n", "０８:３０", "٠٨:٣٠"):
        with pytest.raises(errors.InvalidInput):
            hours.normalise({"mon": [[clock, "12:00"]]})


# -- the audit's examples, through the API on each database -----------------------------


def test_a_username_with_a_trailing_newline_is_refused(office):
    body = {
        "username": "viewer\n",
        "display_name": "看起来像 viewer",
        "role": "office_admin",
        "password": "another-long-pass-1",
    }
    problem = assert_problem(office.post(f"{API}/users", json=body), 422)
    assert "username" in problem["errors"]["json"]


@pytest.mark.parametrize("taken", ["ADMIN", "Admin", "aDmIn"])
def test_a_username_differing_only_in_case_is_taken(office, world, taken):
    """ "ADMIN" beside "admin" would be another account that reads as the administrator's."""
    world.users[Role.office_admin].username = "admin"
    db.session.commit()
    body = {
        "username": taken,
        "display_name": "另一个管理员",
        "role": "viewer",
        "password": "another-long-pass-1",
    }
    problem = assert_problem(office.post(f"{API}/users", json=body), 409)
    assert problem["type"] == "urn:problem:username-taken"
    other = world.users[Role.viewer]
    tag = office.get(f"{API}/users/{other.id}").headers["ETag"]
    renamed = office.patch(
        f"{API}/users/{other.id}", json={"username": taken}, headers={"If-Match": tag}
    )
    assert assert_problem(renamed, 409)["type"] == "urn:problem:username-taken"


@pytest.mark.parametrize(
    "code", ["٤٤٥٢٨١٠٠٩", "４４５２８１９９８", "445281998\n", "445281998001\n", "٤٤٥٢٨١٩٩٨٠٠١\n"]
)
def test_region_codes_are_ascii_digits_only(office, world, code):
    body = {"code": code, "name": "审计区域", "level": "township", "parent_id": world.region_a}
    problem = assert_problem(office.post(f"{API}/regions", json=body), 422)
    assert "code" in problem["errors"]["json"]


@pytest.mark.parametrize("code", ["medical\n", "medical_and_health_services_01\n"])
def test_sector_codes_are_whole_ascii_values(office, code):
    problem = assert_problem(
        office.post(f"{API}/sectors", json={"code": code, "name": "审计"}), 422
    )
    assert "code" in problem["errors"]["json"]


def test_checklist_codes_are_whole_ascii_values(app, office):
    document = library.read_default_document()
    problem = assert_problem(
        office.post(f"{API}/checklist-templates/import", json=document | {"code": "imp_b\n"}), 422
    )
    assert "code" in problem["errors"]
    content = document["content"]
    content["sections"][0]["items"][0]["code"] = "it\n"
    choice = next(
        (i, item)
        for s in content["sections"]
        for i, item in enumerate(s["items"])
        if item.get("options")
    )[1]
    first = choice["options"][0]["value"]
    choice["options"].append(dict(choice["options"][0], value=first + "\n"))
    problem = assert_problem(
        office.post(f"{API}/checklist-templates/import", json=document | {"code": "imp_c"}), 422
    )
    assert "content.sections[0].items[0].code" in problem["errors"]
    assert any(key.endswith(".value") and "options" in key for key in problem["errors"])
    created = office.post(f"{API}/checklist-templates", json={"code": "hall\n", "name": "大厅"})
    assert "code" in assert_problem(created, 422)["errors"]["json"]
