"""The reads the console moved into the domains' queries.py: what each returns, in one
query whatever the number of rows asked about, and none for an empty list."""

from __future__ import annotations

from accounts import queries as user_queries
from accounts.models import Role
from core.db import db
from inspections import queries as inspection_queries
from inspections.models import FindingStatus
from media import queries as photo_queries
from media.models import PhotoStatus
from rectification import queries as task_queries
from rectification.photos import KIND as TASK_PHOTOS
from tests.console.support import inspection_to_review
from tests.rectification_support import counting, open_task, photo


def test_photo_stats_count_stored_photos_and_each_flag_per_owner(world):
    uploader = world.users[Role.inspector]
    unit = world.unit_a.id
    a, b = (
        photo("inspection", 9001, unit, uploader.id),
        photo("inspection", 9001, unit, uploader.id),
    )
    a.flag_far_from_unit = True
    b.flag_far_from_unit, b.flag_near_duplicate = True, True
    photo("inspection", 9002, unit, uploader.id)
    pending = photo("inspection", 9002, unit, uploader.id)
    pending.status, pending.flag_far_from_unit = PhotoStatus.pending, True
    photo("rectification_task", 9001, unit, uploader.id)  # another owner type, same id
    db.session.flush()
    with counting() as statements:
        stats = photo_queries.photo_stats("inspection", [9001, 9002, 9003])
    assert len(statements) == 1
    assert stats[9001]["photos"] == 2
    assert (stats[9001]["far_from_unit"], stats[9001]["near_duplicate"]) == (2, 1)
    assert stats[9002]["photos"] == 1
    assert stats[9002]["far_from_unit"] == 0  # the pending one does not count
    assert 9003 not in stats
    with counting() as statements:
        assert photo_queries.photo_stats("inspection", []) == {}
    assert statements == []


def test_tasks_with_reused_after_photos_are_those_with_a_stored_near_duplicate(world):
    staff = world.users[Role.unit_staff]
    reused, clean, pending = (open_task(world.unit_a) for _ in range(3))
    for task in (reused, clean, pending):
        photo(TASK_PHOTOS, task.id, task.unit_id, staff.id)
    twice = [photo(TASK_PHOTOS, reused.id, reused.unit_id, staff.id) for _ in range(2)]
    for row in twice:
        row.flag_near_duplicate = True
    waiting = photo(TASK_PHOTOS, pending.id, pending.unit_id, staff.id)
    waiting.status, waiting.flag_near_duplicate = PhotoStatus.pending, True
    db.session.flush()
    ids = [reused.id, clean.id, pending.id]
    assert task_queries.tasks_with_reused_after_photos(ids) == {reused.id}
    assert task_queries.tasks_with_reused_after_photos([clean.id]) == set()


def test_display_names_skip_blanks_and_unknown_ids(world):
    inspector, office = world.users[Role.inspector], world.users[Role.office_admin]
    expected = {inspector.id: inspector.display_name, office.id: office.display_name}
    with counting() as statements:
        names = user_queries.display_names([inspector.id, None, 0, office.id, 10**6])
    assert len(statements) == 1
    assert names == expected
    with counting() as statements:
        assert user_queries.display_names([None, 0]) == {}
    assert statements == []


def test_findings_by_status_counts_what_the_reader_may_see(world):
    inspection = inspection_to_review(world)
    ids = [inspection.id, inspection.id + 1000]
    assert inspection_queries.findings_by_status(ids, FindingStatus.pending) == {inspection.id: 2}
    assert inspection_queries.findings_by_status(ids, FindingStatus.confirmed) == {}
    office = world.users[Role.office_admin]
    lead = world.users[Role.lead_unit_staff]
    pending = FindingStatus.pending
    assert inspection_queries.findings_by_status(ids, pending, office) == {inspection.id: 2}
    # A lead unit never sees findings the office has not reviewed.
    assert inspection_queries.findings_by_status(ids, pending, lead) == {}
    assert inspection_queries.findings_by_status([], pending) == {}
