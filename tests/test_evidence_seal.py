"""Sealed evidence: an inspection is sealed at submission and each late photo extends the
seal; audit events are hash-chained; `flask evidence verify` passes on untouched data and
names the object after a row, an event or a stored original is changed behind the app's
back."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from accounts.models import Role
from core import audit
from core.audit import AuditEvent
from core.db import db
from evidence.models import EvidenceSeal
from media.models import Photo
from tests import images
from tests.inspection_helpers import ALL_PASS, check_in, make_visit, publish_checklist
from tests.media_helpers import multipart
from tests.test_media_verify import replace_behind_our_back

FAILING = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def team(world, make_user):
    publish_checklist()
    db.session.commit()
    return world.users[Role.inspector], make_user(Role.inspector)


@pytest.fixture
def inspector(team, client_for):
    return client_for(team[0])


def upload(client, inspection_id: int, item_code: str, *, seed: int = 1):
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": "inspection",
        "owner_id": str(inspection_id),
        "item_code": item_code,
    }
    response = client.post(
        "/api/v1/photos", **multipart(form, images.jpeg(64, 48, seed=seed), "image/jpeg")
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def submitted(world, team, inspector) -> dict:
    """An offline submission with two findings; its photos arrive later."""
    visit = make_visit(world.unit_a, list(team))
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(world.unit_a),
        "answers": FAILING,
        "photos": {
            "video.working": ["c-video"],
            "smoke.none": ["c-smoke"],
            "dress.uniform": ["c-uniform"],
        },
    }
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def seal_shown(client, inspection_id: int) -> dict:
    response = client.get(f"/api/v1/inspections/{inspection_id}")
    assert response.status_code == 200
    return response.get_json()["seal"]


def verify(runner, *args: str):
    return runner.invoke(args=["evidence", "verify", *args])


def assert_passes(runner, *args: str) -> str:
    result = verify(runner, *args)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("; 0 problem(s)"), result.output
    return result.output


def assert_fails(runner, *args: str) -> list[str]:
    result = verify(runner, *args)
    assert result.exit_code == 1, result.output
    return result.output.strip().splitlines()[:-1]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def photo_digest(photo: Photo) -> str:
    """A late photo's link digest (format 2), computed here from docs/evidence.md."""
    facts = {"v": 2, "id": photo.id, "item_code": photo.item_code, "sha256": photo.sha256}
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_of(text.encode())


def test_a_submission_is_sealed_and_the_seal_is_shown(submitted, inspector, office, runner):
    seal = seal_shown(office, submitted["id"])
    assert len(seal["value"]) == 64
    assert seal["links"] == 1
    assert seal["short"] == seal["value"][:12]
    assert seal_shown(inspector, submitted["id"]) == seal
    output = assert_passes(runner)
    assert "checked 1 inspection seal(s) (0 submitted before sealing)" in output


def test_a_draft_has_no_seal(world, team, inspector):
    visit = make_visit(world.unit_a, list(team))
    body = {"client_uuid": str(uuid.uuid4()), "visit_id": visit.id,
            "check_in": check_in(world.unit_a)}  # fmt: skip
    started = inspector.post("/api/v1/inspections", json=body)
    assert started.status_code == 201
    assert seal_shown(inspector, started.get_json()["id"]) is None


def test_a_late_photo_extends_the_seal(submitted, inspector, office, runner):
    first = seal_shown(office, submitted["id"])
    photo = upload(inspector, submitted["id"], "video.working")
    stored = db.session.get(Photo, photo["id"])
    second = seal_shown(office, submitted["id"])
    assert second["links"] == 2
    expected = hashlib.sha256((first["value"] + photo_digest(stored)).encode()).hexdigest()
    assert second["value"] == expected
    upload(inspector, submitted["id"], "smoke.none", seed=2)
    assert seal_shown(office, submitted["id"])["links"] == 3
    links = db.session.scalars(select(EvidenceSeal).order_by(EvidenceSeal.number)).all()
    assert [(link.reason, link.photo_id) for link in links] == [
        ("submit", None), ("photo", stored.id), ("photo", links[2].photo_id)]  # fmt: skip
    assert_passes(runner, "--inspection", str(submitted["id"]))


def test_photos_stored_before_an_online_submit_are_in_its_first_link(
    world, team, inspector, office, runner, client_for
):
    visit = make_visit(world.unit_a, list(team))
    started = inspector.post(
        "/api/v1/inspections",
        json={"client_uuid": str(uuid.uuid4()), "visit_id": visit.id,
              "check_in": check_in(world.unit_a)},
    )  # fmt: skip
    inspection_id = started.get_json()["id"]
    upload(inspector, inspection_id, "video.working")
    assert seal_shown(inspector, inspection_id) is None
    response = inspector.post(
        f"/api/v1/inspections/{inspection_id}/submit",
        json={"answers": FAILING, "photos": {"dress.uniform": ["u"], "smoke.none": ["s"]}},
    )
    assert response.status_code == 200, response.get_json()
    assert seal_shown(office, inspection_id)["links"] == 1
    assert_passes(runner)
    # The photo stored before the submission is sealed in link 1: removing its row breaks it.
    db.session.execute(text("DELETE FROM photo_hash_band"))
    db.session.execute(text("DELETE FROM photo"))
    db.session.commit()
    problems = assert_fails(runner)
    assert problems == [
        f"inspection {inspection_id}: answers, findings or photos differ from what was "
        "sealed at submission"
    ]


EVERY_FIELD = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "工装未穿，当场整改"},  # fixed on the spot
    "smoke.none": {"result": "fail", "note": "后门吸烟"},
    "video.working": {"result": "fail", "note": "监控黑屏"},  # critical, severe
}
EVERY_FIELD_PHOTOS = {"dress.uniform": ["u1", "u2"], "smoke.none": ["s"], "video.working": ["v"]}


@pytest.mark.parametrize("path", ["offline", "online"])
def test_the_seal_made_from_findings_as_written_is_the_one_verify_recomputes(
    path, world, team, inspector, office, runner
):
    """The seal is computed from the findings as the submission wrote them (no read-back);
    verify recomputes it from the stored rows: every sealed field must come out the same."""
    visit = make_visit(world.unit_a, list(team))
    body = {
        "answers": EVERY_FIELD,
        "photos": EVERY_FIELD_PHOTOS,
        "fixed_on_spot": ["dress.uniform"],
    }
    start = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(world.unit_a),
    }
    if path == "offline":
        response = inspector.post("/api/v1/inspections/submissions", json=start | body)
        assert response.status_code == 201, response.get_json()
    else:
        inspection_id = inspector.post("/api/v1/inspections", json=start).get_json()["id"]
        response = inspector.post(f"/api/v1/inspections/{inspection_id}/submit", json=body)
        assert response.status_code == 200, response.get_json()
    inspection_id = response.get_json()["id"]
    stored = db.session.execute(
        text("SELECT item_code, critical, fixed_on_spot, severity FROM finding "
             "WHERE inspection_id = :id ORDER BY item_code"), {"id": inspection_id}
    ).all()  # fmt: skip
    assert [tuple(row) for row in stored] == [
        ("dress.uniform", False, True, "general"),
        ("smoke.none", False, False, "major"),
        ("video.working", True, False, "severe"),
    ]
    assert seal_shown(office, inspection_id)["links"] == 1
    assert_passes(runner)


# -- behind the app's back -----------------------------------------------------------------


def raw(sql: str, **params) -> None:
    """What someone with database access does: plain SQL, no service, no audit event."""
    db.session.execute(text(sql), params)
    db.session.commit()


def test_verify_names_an_inspection_whose_answers_were_edited(submitted, runner):
    raw("UPDATE inspection SET score = 100, grade = '优秀' WHERE id = :id", id=submitted["id"])
    assert assert_fails(runner) == [
        f"inspection {submitted['id']}: answers, findings or photos differ from what was "
        "sealed at submission"
    ]


def test_verify_names_an_edited_finding(submitted, runner):
    finding = submitted["findings"][0]
    raw("UPDATE finding SET title = '无问题' WHERE id = :id", id=finding["id"])
    assert assert_fails(runner, "--inspection", str(submitted["id"])) == [
        f"inspection {submitted['id']}: answers, findings or photos differ from what was "
        "sealed at submission"
    ]


def test_a_review_through_the_app_keeps_the_seal_and_a_silent_one_breaks_it(
    submitted, office, runner
):
    finding_id = submitted["findings"][0]["id"]
    url = f"/api/v1/findings/{finding_id}"
    etag = office.get(url).headers["ETag"]
    response = office.patch(
        url, json={"status": "dismissed", "reason": "照片显示已穿工装"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    assert_passes(runner)
    raw("UPDATE finding SET status = 'confirmed' WHERE id = :id", id=finding_id)
    problems = assert_fails(runner)
    assert len(problems) == 1
    assert problems[0].startswith(f"inspection {submitted['id']}: finding {finding_id} (")
    assert "status changed without a review" in problems[0]


def test_verify_names_an_edited_audit_event(submitted, runner):
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == submitted["id"],
                                 AuditEvent.action == "submit"))  # fmt: skip
    raw("UPDATE audit_event SET reason = 'edited' WHERE id = :id", id=event.id)
    assert assert_fails(runner) == [
        f"audit event {event.id} (inspection {submitted['id']} submit): "
        "content changed after it was written"
    ]


def test_verify_names_the_event_after_a_deleted_one(submitted, inspector, runner):
    for seed in (1, 2):
        upload(inspector, submitted["id"], "video.working", seed=seed)
    # Two more events on the inspection's chain, through the app's own recorder.
    audit.record("inspection", submitted["id"], "note", actor_id=None, reason="二")
    audit.record("inspection", submitted["id"], "note", actor_id=None, reason="三")
    db.session.commit()
    chain = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "inspection",
                                 AuditEvent.entity_id == submitted["id"])
        .order_by(AuditEvent.seq)).all()  # fmt: skip
    assert [event.seq for event in chain] == [1, 2, 3]
    assert_passes(runner)
    raw("DELETE FROM audit_event WHERE id = :id", id=chain[1].id)
    problems = assert_fails(runner, "--inspection", str(submitted["id"]))
    assert problems == [
        f"audit event {chain[2].id} (inspection {submitted['id']} note): chain position 3, "
        f"expected 2 (an event of inspection {submitted['id']} was deleted or moved)"
    ]


def test_verify_names_a_deleted_inspection(submitted, runner):
    raw("DELETE FROM evidence_seal")
    raw("DELETE FROM finding")
    raw("DELETE FROM inspection WHERE id = :id", id=submitted["id"])
    assert assert_fails(runner) == [
        f"inspection {submitted['id']}: gone, though its audit chain records a submission"
    ]


def test_verify_names_a_changed_original(submitted, inspector, storage, runner):
    photo = upload(inspector, submitted["id"], "video.working")
    key = db.session.get(Photo, photo["id"]).key
    original = io.BytesIO()
    storage.get_to(key, original)
    changed = bytearray(original.getvalue())
    changed[-100] ^= 0xFF  # one byte, the size kept
    replace_behind_our_back(storage, key, bytes(changed))
    problems = assert_fails(runner, "--inspection", str(submitted["id"]))
    assert len(problems) == 1
    assert problems[0].startswith(f"photo {photo['id']} {key}: sha256")
    assert sha256_of(bytes(changed)) in problems[0]


def test_verify_names_a_photo_whose_recorded_hash_was_changed(submitted, inspector, runner):
    """Rewriting both the stored bytes and the photo row's hash still breaks the seal."""
    photo = upload(inspector, submitted["id"], "video.working")
    raw("UPDATE photo SET sha256 = :h WHERE id = :id", h="0" * 64, id=photo["id"])
    problems = assert_fails(runner)
    key = db.session.get(Photo, photo["id"]).key
    assert (
        f"inspection {submitted['id']}: seal link 2: photo {key} has another item or SHA-256 "
        "than sealed"
    ) in problems


def test_verify_names_a_late_photo_moved_to_another_item(submitted, inspector, runner):
    """A late photo's link seals its id, item and SHA-256 (format 2); a link written before
    revision 0029 (format 1) sealed its SHA-256 alone, and still verifies as written."""
    moved = db.session.get(Photo, upload(inspector, submitted["id"], "video.working")["id"])
    legacy = db.session.get(Photo, upload(inspector, submitted["id"], "smoke.none", seed=2)["id"])
    link = db.session.scalar(select(EvidenceSeal).where(EvidenceSeal.number == 3))
    assert link.format == 2
    assert link.digest == photo_digest(legacy)
    old = hashlib.sha256((link.prev_seal + legacy.sha256).encode()).hexdigest()
    raw("UPDATE evidence_seal SET format = 1, digest = :d, seal = :s WHERE id = :id",
        d=legacy.sha256, s=old, id=link.id)  # fmt: skip
    assert_passes(runner)
    raw("UPDATE photo SET item_code = 'dress.uniform' WHERE id = :id", id=moved.id)
    raw("UPDATE photo SET sha256 = :h WHERE id = :id", h="0" * 64, id=legacy.id)
    assert assert_fails(runner, "--inspection", str(submitted["id"]))[:2] == [
        f"inspection {submitted['id']}: seal link 2: photo {moved.key} has another item or "
        "SHA-256 than sealed",
        f"inspection {submitted['id']}: seal link 3: photo {legacy.key} has another SHA-256",
    ]  # (then the original re-read: its SHA-256 is not the row's)


@pytest.fixture
def published(submitted, office) -> dict:
    """The submission reviewed (one finding dismissed: a rescore) and published."""
    for n, finding in enumerate(submitted["findings"]):
        url = f"/api/v1/findings/{finding['id']}"
        change = {"status": "dismissed", "reason": "照片显示已整改"} if n == 0 else {
            "status": "confirmed"}  # fmt: skip
        response = office.patch(
            url, json=change, headers={"If-Match": office.get(url).headers["ETag"]}
        )
        assert response.status_code == 200, response.get_json()
    response = office.post(
        f"/api/v1/inspections/{submitted['id']}/publish",
        json={"missing_photos_reason": "照片由检查组另行报送"},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_verify_names_a_sealed_inspection_set_back_to_draft(published, runner):
    assert_passes(runner)
    raw("UPDATE inspection SET status = 'draft', answers = :a WHERE id = :id",
        a='{"dress.uniform": {"result": "pass"}}', id=published["id"])  # fmt: skip
    problems = assert_fails(runner, "--inspection", str(published["id"]))
    assert f"inspection {published['id']}: a draft, though it was sealed at submission" in problems


def test_verify_names_changed_reviewed_figures(published, runner):
    rescore = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == published["id"],
                                 AuditEvent.action == "rescore"))  # fmt: skip
    assert rescore is not None
    assert rescore.after["score"] == published["reviewed_score"]
    raw("UPDATE inspection SET reviewed_score = 99 WHERE id = :id", id=published["id"])
    assert assert_fails(runner, "--inspection", str(published["id"])) == [
        f"inspection {published['id']}: reviewed_score differ(s) from its newest rescore "
        f"(audit event {rescore.id})"
    ]


def test_verify_names_reviewed_figures_without_a_rescore(submitted, runner):
    raw("UPDATE inspection SET reviewed_score = 99, reviewed_grade = '优秀' WHERE id = :id",
        id=submitted["id"])  # fmt: skip
    assert assert_fails(runner) == [
        f"inspection {submitted['id']}: reviewed figures set without a rescore"
    ]


def test_verify_names_a_publication_without_its_event(submitted, published, runner):
    assert_passes(runner)
    raw("DELETE FROM audit_event WHERE action = 'publish'")  # the chain's newest: no gap
    raw("UPDATE inspection SET status = 'published' WHERE id = :id", id=submitted["id"])
    assert assert_fails(runner) == [
        f"inspection {submitted['id']}: published, though its audit chain records no publish"
    ]


def test_verify_names_an_unpublished_inspection(published, runner):
    raw("UPDATE inspection SET status = 'submitted' WHERE id = :id", id=published["id"])
    assert assert_fails(runner) == [
        f"inspection {published['id']}: submitted, though its audit chain records a publish"
    ]


def chains_began_at(first_event_id: int) -> None:
    """What revision 0029_audit_chain_start records (the tests' wipe empties it)."""
    db.session.add(audit.AuditChainStart(first_event_id=first_event_id))
    db.session.commit()


def test_verify_names_events_unchained_behind_the_apps_back(published, runner):
    chains_began_at(1)
    assert_passes(runner)
    raw("UPDATE audit_event SET seq = NULL, prev_hash = NULL, hash = NULL "
        "WHERE entity_type = 'inspection' AND entity_id = :id", id=published["id"])  # fmt: skip
    raw("UPDATE audit_event SET after = '{\"score\": 99}' "
        "WHERE entity_type = 'inspection' AND entity_id = :id AND action = 'rescore'",
        id=published["id"])  # fmt: skip
    events = db.session.execute(
        select(AuditEvent.id, AuditEvent.action)
        .where(AuditEvent.entity_type == "inspection", AuditEvent.entity_id == published["id"])
        .order_by(AuditEvent.id)
    ).all()
    assert {action for _, action in events} >= {"submit", "rescore", "publish"}
    problems = assert_fails(runner, "--inspection", str(published["id"]))
    for event_id, action in events:
        assert (
            f"audit event {event_id} (inspection {published['id']} {action}): not chained, "
            "though written after chains began (event 1)"
        ) in problems


def test_a_forged_unchained_review_explains_nothing(submitted, runner):
    """An event forged without a chain, sorted first (a negative id), does not excuse a
    silent change to a sealed finding."""
    chains_began_at(1)
    finding = next(f for f in submitted["findings"] if f["severity"] == "major")
    raw("INSERT INTO audit_event (id, at, actor_id, entity_type, entity_id, action, "
        "before, after, seq, prev_hash, hash) VALUES (-1, '2026-11-01 00:00:00', NULL, "
        "'finding', :id, 'review', '{\"severity\":\"major\"}', "
        "'{\"severity\":\"general\"}', NULL, NULL, NULL)", id=finding["id"])  # fmt: skip
    raw("UPDATE finding SET severity = 'general' WHERE id = :id", id=finding["id"])
    problems = assert_fails(runner)
    assert (
        f"audit event -1 (finding {finding['id']} review): not chained, though sealed "
        f"inspection {submitted['id']} was submitted after chains began"
    ) in problems
    assert (
        f"inspection {submitted['id']}: answers, findings or photos differ from what was "
        "sealed at submission"
    ) in problems


def test_events_from_before_chains_pass_while_the_recorded_start_holds(submitted, runner):
    chains_began_at(1)
    raw("INSERT INTO audit_event (id, at, entity_type, entity_id, action) "
        "VALUES (0, '2026-10-01 00:00:00', 'plan', 5, 'create')")  # fmt: skip
    assert "(1 before chaining)" in assert_passes(runner)
    raw("UPDATE audit_chain_start SET first_event_id = 0")  # lowered: stricter
    assert assert_fails(runner) == [
        "audit event 0 (plan 5 create): not chained, though written after chains began (event 0)"
    ]
    raw("UPDATE audit_chain_start SET first_event_id = 1000000")  # raised: chained are older
    problems = assert_fails(runner)
    submit = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "submit"))
    assert (
        f"audit event {submit} (inspection {submitted['id']} submit): chained, though older "
        "than the start of the chains (event 1000000)"
    ) in problems
    raw("DELETE FROM audit_chain_start")  # gone: no event may be unchained
    assert assert_fails(runner) == [
        "audit event 0 (plan 5 create): not chained (no record of when chains began)"
    ]


# -- demo data and concurrency ---------------------------------------------------------------


def test_verify_passes_on_the_demo_data(demo_city, runner):
    output = assert_passes(runner)
    checked = int(output.split("checked ")[1].split(" ")[0])
    assert checked > 0
    assert db.session.scalar(select(db.func.count(EvidenceSeal.id))) > checked  # late photos


THREADS = 8


def test_concurrent_writers_never_fork_a_chain(app, runner):
    """Writers of one subject's chain, released together: every event that commits is
    on the one chain (PostgreSQL: all of them; SQLite refuses a stale writer instead)."""
    barrier = threading.Barrier(THREADS)

    def one(n: int) -> bool:
        with app.app_context():
            barrier.wait(30)
            try:
                audit.record("plan", 424242, "note", actor_id=None, reason=str(n))
                db.session.commit()
                return True
            except OperationalError:
                db.session.rollback()
                return False
            finally:
                db.session.remove()

    with ThreadPoolExecutor(THREADS) as pool:
        written = sum(pool.map(one, range(THREADS)))
    seqs = db.session.scalars(
        select(AuditEvent.seq).where(AuditEvent.entity_id == 424242).order_by(AuditEvent.seq)
    ).all()
    assert seqs == list(range(1, written + 1))
    if db.engine.dialect.name == "postgresql":
        assert written == THREADS
    assert_passes(runner)


def test_late_photos_arriving_together_extend_the_seal_one_after_another(
    app, submitted, inspector, runner
):
    barrier = threading.Barrier(4)
    token = inspector.token

    def one(seed: int) -> int:
        client = app.test_client()
        client.token = token
        form = {"client_id": str(uuid.uuid4()), "owner_type": "inspection",
                "owner_id": str(submitted["id"]), "item_code": "video.working"}  # fmt: skip
        body = multipart(form, images.jpeg(64, 48, seed=seed), "image/jpeg")
        barrier.wait(30)
        return client.post("/api/v1/photos", **body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(one, range(20, 24)))
    assert statuses == [201] * 4
    links = db.session.scalars(select(EvidenceSeal.number).order_by(EvidenceSeal.number)).all()
    assert links == [1, 2, 3, 4, 5]
    assert_passes(runner)
