"""The OpenAPI examples (api/examples.py) and the mini program's guide (docs/miniprogram.md)
tell one story that the API would accept: the check-in and everything after it fall inside
the example visit's window, in order, and every item code is a code of the shipped
checklist (checklists/library/window_service.json), with its title. A developer copies
these requests; each must work against the checklist a new installation has.
(tests/test_operation_docs.py checks each example against its schema.)"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from accounts.models import Role
from api import examples
from checklists.library import read_default_document
from checklists.scoring import validate_answers
from tests import images, media_kinds

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "miniprogram.md"
CONTENT = read_default_document()["content"]
ITEMS = {item["code"]: item for section in CONTENT["sections"] for item in section["items"]}
GROUPS = {code.split(".")[0] for code in ITEMS} | {"smoke"}  # smoke: the old, wrong prefix
CODE_IN_TEXT = re.compile(rf"\b(?:{'|'.join(sorted(GROUPS))})\.[a-z_]+\b")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _examples() -> dict[str, object]:
    return {name: value for name, value in vars(examples).items() if name.isupper()}


def _walk(value, path=()):
    """(path, key, value) of every mapping entry and list item, however deep."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path, key, inner
            yield from _walk(inner, (*path, key))
    elif isinstance(value, list):
        for inner in value:
            yield path, None, inner
            yield from _walk(inner, path)


def _item_codes(value) -> set[str]:
    """Every item code an example names: `item_code` values, the keys of `answers` and
    `photos`, and the codes listed in `missing_photos` and `fixed_on_spot`."""
    codes = set()
    for path, key, inner in _walk(value):
        if key == "item_code" and inner is not None:
            codes.add(inner)
        if path and path[-1] in ("answers", "photos") and key is not None:
            codes.add(key)
        if path and path[-1] in ("missing_photos", "fixed_on_spot") and key is None:
            codes.add(inner)
    return codes


def test_the_check_in_and_what_follows_fall_inside_the_example_visits_window():
    visit = examples.VISIT
    start, end = at(visit["window_start"]), at(visit["window_end"])
    checked_in = at(examples.CHECK_IN["at"])
    assert start <= checked_in <= end
    started = at(examples.INSPECTION["started_at"])
    assert checked_in <= started <= end  # the server's clock, a moment after the phone's
    photo = examples.PHOTO
    for field in ("exif_taken_at", "client_taken_at", "received_at"):
        assert started <= at(photo[field]) <= end, field
    assert started <= at(examples.PHOTO_UPLOAD["taken_at"]) <= end
    submitted = at(examples.SUBMITTED["submitted_at"])
    assert at(photo["received_at"]) <= submitted <= end
    assert examples.SUBMISSION["submitted_at"] == examples.SUBMITTED["submitted_at"]
    # the task opens when the office publishes, after the submission; the unit answers later
    task = examples.TASK
    opened = at(task["created_at"])
    assert submitted <= opened
    assert opened < at(examples.REPLY["created_at"])
    assert opened < at(examples.EXTENSION["requested_at"])
    assert date.fromisoformat(examples.EXTENSION["previous_due_on"]) == date.fromisoformat(
        task["due_on"]
    )
    assert date.fromisoformat(task["due_on"]) < date.fromisoformat(
        examples.EXTENSION["requested_due_on"]
    )


@pytest.mark.parametrize("name", sorted(_examples()))
def test_every_item_code_of_an_example_is_one_of_the_shipped_checklist(name):
    example = _examples()[name]
    unknown = _item_codes(example) - set(ITEMS)
    assert not unknown, f"{name}: {sorted(unknown)}"
    for _, key, inner in _walk(example):
        if isinstance(inner, dict) and inner.get("item_code") in ITEMS and "title" in inner:
            assert inner["title"] == ITEMS[inner["item_code"]]["title"], (name, key)


@pytest.mark.parametrize("name", ["ANSWERS", "SUBMIT", "OFFLINE"])
def test_the_example_answers_are_valid_answers_of_the_shipped_checklist(name):
    assert validate_answers(CONTENT, _examples()[name]["answers"]) == {}


def test_the_guide_uses_the_examples_codes_and_check_in_time():
    text = GUIDE.read_text(encoding="utf-8")
    named = set(CODE_IN_TEXT.findall(text))
    assert named  # the guide shows item codes
    assert not named - set(ITEMS), sorted(named - set(ITEMS))
    assert examples.CHECK_IN["at"] in text


def test_the_pending_photo_example_is_what_a_direct_upload_answers(world, client_for):
    """Which members a pending photo fills: the announced size; not the type or SHA-256,
    which the server learns from what arrives (confirm)."""
    content = images.jpeg()
    body = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": world.unit_a.id,
        "content_type": "image/jpeg",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    answered = client_for(world.users[Role.inspector]).post("/api/v1/photo-uploads", json=body)
    assert answered.status_code == 201
    photo, example = answered.get_json()["photo"], examples.DIRECT_UPLOAD_RESULT["photo"]
    assert set(photo) == set(example)
    unset = {"item_code"}  # this request names no item
    nulls = {k for k, v in photo.items() if v is None} - unset
    assert nulls == {k for k, v in example.items() if v is None} - unset
