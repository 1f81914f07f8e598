"""The demo campaign: made through the real services, so it must obey their rules."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from checklists.library import read_default_document
from core.db import db
from inspections import checklist
from inspections.demo import DEMO_NOTES, failing_answer
from inspections.models import Inspection, Plan, PlanStatus
from tests.conftest import PASSWORD


def test_demo_has_a_published_campaign_one_under_way_and_one_announced(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    statuses = sorted(db.session.scalars(select(Plan.status)))
    assert statuses == sorted([PlanStatus.published, PlanStatus.drawn, PlanStatus.drawn])
    assert db.session.scalar(select(func.count(Inspection.id))) > 0

    signed_in = client.post(
        "/api/v1/auth/login", json={"username": "unit_gov", "password": PASSWORD}
    )
    client.token = signed_in.get_json()["token"]
    published = db.session.scalar(select(Plan.id).where(Plan.status == PlanStatus.published))
    disclosure = client.get(f"/api/v1/plans/{published}/disclosure")
    assert disclosure.status_code == 200
    assert disclosure.get_json()["reproducible"] is True


def _shipped_items() -> dict:
    return checklist.items_of(read_default_document()["content"])


def test_every_item_the_demo_can_fail_has_notes_of_its_own():
    """The demo fails pass/fail items only; each has notes written for it, keyed by its
    code, and no note is reused for another item (a note about another violation under an
    item reads as a wrong record to the offices that evaluate the demo)."""
    items = _shipped_items()
    failable = {code for code, item in items.items() if failing_answer(item) is not None}
    assert failable == {code for code, item in items.items() if item["kind"] == "pass_fail"}
    assert set(DEMO_NOTES) == failable  # every one, and none for an item that is gone
    notes = [note for code in DEMO_NOTES for note in DEMO_NOTES[code]]
    assert len(notes) == len(set(notes)), "a note written for two items"
    for code in failable:
        for seed in range(6):
            answer = failing_answer(items[code], random.Random(seed))
            assert answer["note"] in DEMO_NOTES[code]


def test_every_failed_answer_of_the_demo_carries_a_note_for_that_item(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    failed = [
        (code, answer["note"])
        for answers in db.session.scalars(select(Inspection.answers))
        for code, answer in answers.items()
        if answer.get("result") == "fail"
    ]
    assert failed
    wrong = [(code, note) for code, note in failed if note not in DEMO_NOTES.get(code, ())]
    assert not wrong
