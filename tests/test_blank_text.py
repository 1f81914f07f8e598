"""Required names, titles, descriptions and reasons need text a reader sees: only spaces,
tabs, line breaks, no-break or ideographic spaces, or invisible format characters
(U+200B, U+200E, U+FEFF …) are refused as missing (core.text), and what is stored is
trimmed."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import marshmallow as ma
import pytest
from marshmallow import fields, validate

from accounts.models import Role
from api.schemas import Text, VisibleLength
from checklists import content as checklist_content
from core import errors, reasons
from core.db import db
from core.text import trim, visible_length
from inspections import findings as findings_service
from org.models import Unit
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, make_visit, publish_checklist, submitted
from tests.openapi_support import document, operations
from tests.rectification_support import after_photos, open_task

API = "/api/v1"
BLANKS = [
    "   ",
    "\t\n",
    "\u00a0\u3000",
    "\u200b\u200b\u200b\u200b",
    "\u200e\ufeff\u2060",
    "\r\n\x0b",
]

# Required text fields that are not prose: passwords may hold spaces, codes are patterns,
# a sign-in name is looked up as typed.
NOT_PROSE = {"username", "password", "code", "binding_code", "owner_type", "item_code"}


def _all_schemas(cls=ma.Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_schemas(sub)


def _text_fields():
    for schema in _all_schemas():
        for name, field in schema._declared_fields.items():
            yield schema, name, field


def test_the_shared_rule():
    for blank in BLANKS:
        assert visible_length(blank) == 0
        assert trim(blank) == ""
    assert trim("\u3000 普宁\u200b站 \ufeff\n") == "普宁\u200b站"
    assert visible_length("照\u200b片\u200b模\u200b糊") == 4
    for blank in BLANKS:
        with pytest.raises(errors.InvalidInput):
            reasons.check(blank, "须说明理由")
    assert reasons.check("  照片模糊\u3000", "须说明理由") == "照片模糊"


def test_every_required_prose_field_is_a_text_field(app):
    """A field people must fill in with at least one character counts visible ones: a
    new String with Length(min>=1) that is not prose is listed in NOT_PROSE."""
    plain = [
        f"{schema.__name__}.{name}"
        for schema, name, field in _text_fields()
        if isinstance(field, fields.String)
        and not isinstance(field, Text)
        and name not in NOT_PROSE
        and any(
            isinstance(v, validate.Length) and not isinstance(v, VisibleLength) and (v.min or 0) > 0
            for v in field.validators
        )
    ]
    assert plain == []


# Prose a person writes, by field name: loaded through Text (trimmed; required or not).
PROSE = {"name", "title", "description", "address", "contact_name", "display_name"}
# Prose a schema only documents: answers are checked and sealed as sent (checklists.scoring).
DOCUMENTED_ONLY = {"AnswerSchema.note"}


def test_every_prose_field_a_client_sends_is_a_text_field(app):
    """Optional prose too: an address or a description sent with spaces or zero-width
    characters around it is stored trimmed, as the console stores it."""
    loaded = _request_body_schemas(app)
    assert {"Unit", "UnitUpdate", "FindingReview", "Template"} <= loaded
    plain = [
        f"{schema.__name__}.{name}"
        for schema, name, field in _text_fields()
        if name in PROSE
        and isinstance(field, fields.String)
        and not isinstance(field, Text)
        and not field.dump_only
        and schema.__name__.removesuffix("Schema") in loaded
        and f"{schema.__name__}.{name}" not in DOCUMENTED_ONLY
    ]
    assert plain == []


def _request_body_schemas(app) -> set[str]:
    """The component names of every schema a request body is loaded with."""
    names = set()
    for _, _, operation in operations(document(app)):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            names.add(media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1])
    return names


def test_optional_prose_is_stored_trimmed(office, world, make_user):
    url = f"{API}/units/{world.unit_a.id}"
    etag = office.get(url).headers["ETag"]
    changed = office.patch(
        url,
        json={"address": "\u3000 流沙大道 1 号\u200b ", "contact_name": " 张三\n"},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["address"], changed.get_json()["contact_name"]) == (
        "流沙大道 1 号",
        "张三",
    )
    etag = changed.headers["ETag"]
    cleared = office.patch(url, json={"address": " \u200b "}, headers={"If-Match": etag})
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["address"] == ""
    url = f"{API}/findings/{_a_finding(world, make_user).id}"
    for blank in ("\u200b\u200b", "\u3000 "):
        refused = office.patch(
            url, json={"description": blank}, headers={"If-Match": office.get(url).headers["ETag"]}
        )
        assert "description" in assert_problem(refused, 422)["errors"]["json"]
    described = office.patch(
        url,
        json={"description": " 两名工作人员未佩戴工作牌\u3000", "reason": "复看照片补充描述"},
        headers={"If-Match": office.get(url).headers["ETag"]},
    )
    assert described.get_json()["description"] == "两名工作人员未佩戴工作牌"


def test_every_text_field_refuses_blanks_and_stores_trimmed(app):
    checked = 0
    for _, _, field in _text_fields():
        if not isinstance(field, Text):
            continue
        if not field.validators[0].min:  # optional prose: blanks are empty
            assert [field.deserialize(blank) for blank in BLANKS] == [""] * len(BLANKS)
            continue
        for blank in BLANKS:
            with pytest.raises(ma.ValidationError) as refused:
                field.deserialize(blank)
            assert refused.value.messages == ["不能为空"]
        assert field.deserialize("\u3000 普宁站\u200b \n") == "普宁站"
        checked += 1
    assert checked >= 10


def test_checklist_format_refuses_blank_titles():
    for blank in BLANKS:
        content = {
            "name": blank,
            "sections": [{"code": "s", "title": blank, "items": []}],
        }
        _, problems = checklist_content.normalise(content)
        assert problems["name"] == ["不能为空"]
        assert problems["sections[0].title"] == ["不能为空"]


# Drawn as nothing, though neither space nor format character: marks with no letter to sit
# on, and the fillers (Hangul filler, blank Braille pattern).
LOOKS_BLANK = ["\u0301\u0301", "\u20dd", "\u3164\u3164", "\u2800", "\u1160\uffa0"]


def test_marks_alone_and_fillers_count_nothing():
    for blank in LOOKS_BLANK:
        assert visible_length(blank) == 0, ascii(blank)
        with pytest.raises(errors.InvalidInput):
            reasons.check(blank * 4, "须说明理由")
    assert visible_length("e\u0301te\u0301") == 3  # a mark is part of its letter
    assert visible_length("照片\u20dd模糊") == 4


@pytest.mark.parametrize("name", LOOKS_BLANK)
def test_a_name_of_marks_or_fillers_is_refused(office, world, name):
    body = {"name": name * 3, "sector_id": world.sector_a.id, "region_id": world.region_a}
    problem = assert_problem(office.post(f"{API}/units", json=body), 422)
    assert "name" in problem["errors"]["json"]


# -- the audit's examples, through the API on each database -----------------------------


@pytest.mark.parametrize("name", BLANKS)
def test_a_unit_needs_a_visible_name(office, world, name):
    body = {"name": name, "sector_id": world.sector_a.id, "region_id": world.region_a}
    problem = assert_problem(office.post(f"{API}/units", json=body), 422)
    assert problem["errors"]["json"]["name"] == ["不能为空"]
    # Two characters of which one is a zero-width space is one character.
    short = office.post(f"{API}/units", json=body | {"name": "站\u200b"})
    assert "name" in assert_problem(short, 422)["errors"]["json"]


def test_names_are_stored_trimmed(office, world):
    body = {
        "name": "\u3000 新窗口\u200b ",
        "sector_id": world.sector_a.id,
        "region_id": world.region_a,
    }
    created = office.post(f"{API}/units", json=body)
    assert created.status_code == 201, created.get_json()
    assert db.session.get(Unit, created.get_json()["id"]).name == "新窗口"
    sector = office.post(f"{API}/sectors", json={"code": "audit", "name": "  审计 "})
    assert sector.get_json()["name"] == "审计"


@pytest.mark.parametrize("name", ["   ", "\u200b\u200b\u200b\u200b"])
def test_other_required_names_need_visible_text(office, world, name):
    for url, body in [
        ("/sectors", {"code": "blank", "name": name}),
        ("/regions", {"code": "445281998", "name": name, "level": "township"}),
        ("/lead-units", {"name": name, "sector_id": world.sector_a.id}),
        ("/users", {"display_name": name, "role": "inspector", "username": "blank_one"}),
        ("/checklist-templates", {"code": "blank", "name": name, "all_sectors": True}),
    ]:
        problem = assert_problem(office.post(f"{API}{url}", json=body), 422)
        assert set(problem["errors"]["json"]) == {"name" if "name" in body else "display_name"}


def test_a_plan_needs_a_visible_name(app, office, world):
    publish_checklist()
    db.session.commit()
    body = {
        "name": "   ",
        "kind": "unannounced",
        "period_start": "2030-01-01",
        "period_end": "2030-01-07",
        "pool": {"unit_ids": [world.unit_a.id]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [world.users[Role.inspector].id],
        "team_size": 1,
    }
    for name in ("   ", "\u200b\u200b\u200b\u200b", "\u3000计\u200b"):
        problem = assert_problem(office.post(f"{API}/plans", json=body | {"name": name}), 422)
        assert "name" in problem["errors"]["json"]


@pytest.mark.parametrize("text", ["   ", "\u200b\u200b\u200b\u200b", "\u00a0\u3000"])
def test_a_rectification_reply_needs_a_visible_description(app, world, client_for, text):
    task = open_task(world.unit_a)
    staff = world.users[Role.unit_staff]
    response = client_for(staff).post(
        f"{API}/rectification/tasks/{task.id}/replies",
        json={
            "client_id": str(uuid.uuid4()),
            "description": text,
            "photo_ids": after_photos(task, staff),
        },
    )
    assert assert_problem(response, 422)["errors"]["json"]["description"] == ["不能为空"]


def _a_finding(world, make_user):
    """A pending finding of a submitted inspection of unit A."""
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    failing = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴"}}
    return submitted(visit, inspector, failing).findings[0]


def test_a_finding_review_reason_needs_visible_characters(app, office, world, make_user):
    url = f"{API}/findings/{_a_finding(world, make_user).id}"
    for reason in ("\u200b\u200b\u200b\u200b", "\u3000\u3000\u3000\u3000", "照\u200b\u200b\u200b"):
        response = office.patch(
            url,
            json={"status": "dismissed", "reason": reason},
            headers={"If-Match": office.get(url).headers["ETag"]},
        )
        assert "reason" in assert_problem(response, 422)["errors"]
    missing = [{"label": "1.1 着装"}]
    with pytest.raises(errors.Conflict):  # as if no reason was given
        findings_service._missing_photos_reason(missing, "\u200b" * 8)
    with pytest.raises(errors.InvalidInput):
        findings_service._missing_photos_reason(missing, "照\u200b\u200b\u200b\u200b\u200b")


def test_the_unit_import_refuses_blank_names(office, world):
    csv = (
        "名称,行业领域,所属区域\n"
        f"\u200b\u200b\u200b,{world.sector_a.code},{world.unit_a.region.code}\n"
        f"\u200e\ufeff,{world.sector_a.code},{world.unit_a.region.code}\n"
    )
    response = office.post(
        f"{API}/units/import",
        data={"file": (io.BytesIO(csv.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    problem = assert_problem(response, 422)
    assert "不能为空" in str(problem)


@pytest.mark.parametrize("reason", ["n", "  n \u3000", "改期", "\u0301\u0301\u0301\u0301"])
def test_every_reason_needs_four_visible_characters(office, world, client_for, reason):
    """An extension request, a reassignment and a redraw say why, as every other reason:
    at least four characters a reader sees."""
    staff = client_for(world.users[Role.unit_staff])
    task = open_task(world.unit_a)
    publish_checklist()
    db.session.commit()
    visit = make_visit(world.unit_b, [world.users[Role.inspector]])
    later = task.due_on + timedelta(days=10)
    ask = {"client_id": str(uuid.uuid4()), "due_on": str(later), "reason": reason}
    refused = [
        staff.post(f"{API}/rectification/tasks/{task.id}/extensions", json=ask),
        office.patch(
            f"{API}/visits/{visit.id}",
            json={"inspector_ids": [world.users[Role.inspector].id], "reason": reason},
            headers={"If-Match": f'"{visit.version}"'},
        ),
        office.post(f"{API}/plans/{visit.plan_id}/draws", json={"reason": reason}),
    ]
    for response in refused:
        named = assert_problem(response, 422)["errors"]
        assert "reason" in named.get("json", named), named
