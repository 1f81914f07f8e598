"""The outbox worker against the local WeChat fake: delivery, crashes, retries, tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, insert, select, text

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from notifications import worker
from notifications.models import Channel, DeliveryStatus, InboxMessage, Notification
from notifications.wechat_fields import fit
from tests.conftest import assert_problem
from tests.rectification_support import after_photos, open_task
from wechat.models import WeChatAccessToken

TEMPLATE = "tmpl-rectification-1"


@pytest.fixture
def wechat_on(app, wechat, world, monkeypatch):
    """WeChat configured, and unit A's staff bound to WeChat."""
    monkeypatch.setitem(app.config, "WECHAT_TASK_TEMPLATE_ID", TEMPLATE)
    staff = world.users[Role.unit_staff]
    staff.wechat_openid = "openid-unit-a"
    db.session.commit()
    return wechat


def _sent_ids(fake) -> list[int]:
    """The notification id each WeChat message carries in its page (`n=`)."""
    return [int(parse_qs(urlsplit(m["page"]).query)["n"][0]) for m in fake.sent]


def _statuses() -> dict[str, int]:
    rows = db.session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status.value: count for status, count in rows}


def test_a_failed_request_queues_nothing(app, world, client_for, wechat_on):
    task = open_task(world.unit_a)
    before = db.session.scalar(select(func.count(Notification.id)))
    office = client_for(world.users[Role.office_admin])
    unit = client_for(world.users[Role.unit_staff])
    photos = after_photos(task, world.users[Role.unit_staff])
    reply = unit.post(
        f"/api/v1/rectification/tasks/{task.id}/replies",
        json={"client_id": str(uuid.uuid4()), "description": "已改", "photo_ids": photos},
    )
    assert reply.status_code == 201, reply.get_json()
    after_reply = db.session.scalar(select(func.count(Notification.id)))
    assert after_reply > before  # the office hears of the reply
    url = f"/api/v1/rectification/tasks/{task.id}/verification"
    assert_problem(office.post(url, json={"decision": "reject"}), 422)  # no reason
    assert db.session.scalar(select(func.count(Notification.id))) == after_reply


def test_the_worker_delivers_to_wechat_and_the_inbox(app, world, client_for, wechat_on):
    task = open_task(world.unit_a, title="服务大厅入口未张贴禁烟标识且吸烟区指引牌缺失")
    result = worker.run_batch()
    assert result.outcomes == {"sent": 2}
    (message,) = wechat_on.sent
    assert message["touser"] == "openid-unit-a"
    assert message["template_id"] == TEMPLATE
    assert message["page"].startswith(f"pages/rectification/detail?id={task.id}&n=")
    assert message["miniprogram_state"] == "formal"
    data = message["data"]
    assert len(data["thing1"]["value"]) <= 20
    assert data["thing1"]["value"].endswith("…")
    assert len(data["phrase4"]["value"]) <= 5
    assert (
        data["time3"]["value"]
        == f"{task.due_on.year}年{task.due_on.month}月{task.due_on.day}日 23:59"
    )

    unit = client_for(world.users[Role.unit_staff])
    inbox = unit.get("/api/v1/inbox").get_json()
    assert inbox["unread"] == 1
    (item,) = inbox["items"]
    assert (item["subject_type"], item["subject_id"], item["title"]) == (
        "rectification_task",
        task.id,
        "新的整改任务",
    )
    assert unit.post(f"/api/v1/inbox/{item['id']}/read").get_json()["read_at"]
    assert unit.get("/api/v1/inbox").get_json()["unread"] == 0
    other = client_for(world.unit_staff_b)
    assert_problem(other.post(f"/api/v1/inbox/{item['id']}/read"), 404)
    assert other.get("/api/v1/inbox").get_json()["total"] == 0


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    app, world, wechat_on, monkeypatch
):
    monkeypatch.setitem(app.config, "OUTBOX_BATCH_SIZE", 100)
    for _ in range(5):
        open_task(world.unit_a)
    assert db.session.scalar(select(func.count(Notification.id))) == 10  # inbox + WeChat each
    now = utcnow()

    # Worker 1 claims the whole batch, delivers four messages, and dies.
    claimed = worker.claim(batch=100, lease=timedelta(seconds=120), now=now)
    assert len(claimed) == 10
    for row in claimed[:4]:
        worker.deliver(row, now=now)
    db.session.remove()  # the process is gone; its claim remains in the database

    # A second worker at once finds nothing: the dead worker's lease still holds.
    assert worker.run_batch(now=now + timedelta(seconds=1)).claimed == 0
    # After the lease, the six undelivered messages are taken again, and only they.
    later = worker.run_batch(now=now + timedelta(seconds=121))
    assert later.claimed == 6
    assert later.outcomes == {"sent": 6}

    assert _statuses() == {"sent": 10}
    wechat_ids = _sent_ids(wechat_on)
    assert len(wechat_ids) == 5
    assert len(set(wechat_ids)) == 5  # none twice
    inbox = db.session.scalars(select(InboxMessage.notification_id)).all()
    assert len(inbox) == len(set(inbox)) == 5
    assert worker.run_batch(now=now + timedelta(hours=1)).claimed == 0


def test_redelivering_an_inbox_message_keeps_one_copy(app, world, wechat_on):
    open_task(world.unit_a)
    (item,) = worker.claim(batch=1, lease=timedelta(seconds=1), now=utcnow())
    assert item.channel == Channel.inbox
    assert worker.deliver(item, now=utcnow()) == "sent"
    # Its outcome was lost (say the commit's answer never arrived): delivered again.
    assert worker.deliver(item, now=utcnow()) == "sent"
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 1


def test_a_late_outcome_does_not_overwrite_the_next_claim(app, world, wechat_on):
    open_task(world.unit_a)
    now = utcnow()
    (slow,) = worker.claim(batch=1, lease=timedelta(seconds=1), now=now)
    (fast,) = worker.claim(batch=1, lease=timedelta(seconds=1), now=now + timedelta(seconds=2))
    assert (slow.id, fast.attempts) == (fast.id, 2)
    worker.deliver(slow, now=now)  # the first worker wakes up late: its write is ignored
    row = db.session.get(Notification, slow.id, populate_existing=True)
    assert row.status == DeliveryStatus.sending
    assert worker.deliver(fast, now=now) == "sent"
    db.session.refresh(row)
    assert row.status == DeliveryStatus.sent
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 1


def test_a_refusal_43101_is_final_and_the_inbox_still_gets_it(app, world, wechat_on):
    wechat_on.refused_openids.add("openid-unit-a")
    open_task(world.unit_a)
    assert worker.run_batch().outcomes == {"refused": 1, "sent": 1}
    assert _statuses() == {"refused": 1, "sent": 1}
    assert worker.run_batch(now=utcnow() + timedelta(days=1)).claimed == 0


def test_busy_and_unreachable_wechat_is_retried_with_backoff(app, world, wechat_on, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    open_task(world.unit_a)
    wechat_on.next_errors.append(-1)  # stable_token answers busy
    now = utcnow()
    assert worker.run_batch(now=now).outcomes == {"sent": 1, "retry": 1}
    row = db.session.scalar(select(Notification).where(Notification.channel == Channel.wechat))
    assert row.attempts == 1
    assert row.next_attempt_at == now + timedelta(seconds=30)
    assert worker.run_batch(now=now + timedelta(seconds=29)).claimed == 0

    wechat_on.down = True
    assert worker.run_batch(now=now + timedelta(seconds=31)).outcomes == {"retry": 1}
    db.session.refresh(row)
    assert row.next_attempt_at == now + timedelta(seconds=31 + 60)  # doubled
    assert worker.run_batch(now=now + timedelta(seconds=200)).outcomes == {"dead": 1}
    wechat_on.down = False
    assert worker.run_batch(now=now + timedelta(hours=2)).claimed == 0
    assert wechat_on.sent == []


def test_the_access_token_is_shared_and_renewed_five_minutes_early(app, world, wechat_on):
    for _ in range(2):
        open_task(world.unit_a)
    worker.run_batch()
    token_calls = [c for c in wechat_on.calls if c["path"] == "/cgi-bin/stable_token"]
    assert len(token_calls) == 1  # two messages, one token
    cached = db.session.get(WeChatAccessToken, wechat_on.app_id)
    assert cached.expires_at > utcnow() + timedelta(seconds=7000)

    cached.expires_at = utcnow() + timedelta(minutes=4)  # inside the 5-minute margin
    db.session.commit()
    open_task(world.unit_a)
    worker.run_batch()
    token_calls = [c for c in wechat_on.calls if c["path"] == "/cgi-bin/stable_token"]
    assert len(token_calls) == 2
    assert len(wechat_on.sent) == 3


def test_a_refused_token_is_renewed_and_the_message_sent(app, world, wechat_on):
    db.session.add(
        WeChatAccessToken(
            app_id=wechat_on.app_id,
            token="revoked-elsewhere",
            expires_at=utcnow() + timedelta(hours=1),
            fetched_at=utcnow(),
        )
    )
    db.session.commit()
    open_task(world.unit_a)
    assert worker.run_batch().outcomes == {"sent": 2}
    paths = [c["path"] for c in wechat_on.calls]
    assert paths == [
        "/cgi-bin/message/subscribe/send",  # 40001 with the stale token
        "/cgi-bin/stable_token",
        "/cgi-bin/message/subscribe/send",
    ]
    assert db.session.get(WeChatAccessToken, wechat_on.app_id).token in wechat_on.tokens


def test_a_data_value_wechat_refuses_is_given_up_not_retried(app, world, wechat_on):
    open_task(world.unit_a)
    wechat_on.tokens.add("preset")
    db.session.add(
        WeChatAccessToken(
            app_id=wechat_on.app_id,
            token="preset",
            expires_at=utcnow() + timedelta(hours=1),
            fetched_at=utcnow(),
        )
    )
    db.session.commit()
    wechat_on.next_errors.append(47003)  # a data value broke its rule
    assert worker.run_batch().outcomes == {"dead": 1, "sent": 1}
    row = db.session.scalar(select(Notification).where(Notification.status == DeliveryStatus.dead))
    assert "47003" in row.last_error


def test_two_workers_never_claim_the_same_rows(app, world, wechat_on):
    for _ in range(3):
        open_task(world.unit_a)
    now = utcnow()
    first = {n.id for n in worker.claim(batch=4, lease=timedelta(minutes=2), now=now)}
    second = {n.id for n in worker.claim(batch=4, lease=timedelta(minutes=2), now=now)}
    assert len(first) == 4
    assert len(second) == 2
    assert not first & second


def test_postgres_claims_skip_rows_another_worker_is_locking(app, world, wechat_on):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    for _ in range(2):
        open_task(world.unit_a)
    ids = sorted(db.session.scalars(select(Notification.id)))
    with db.engine.connect() as other:  # another worker, mid-claim, holding two rows
        other.execute(
            text("SELECT id FROM notification WHERE id IN (:a, :b) FOR UPDATE"),
            {"a": ids[0], "b": ids[1]},
        )
        claimed = {n.id for n in worker.claim(batch=10, lease=timedelta(minutes=2), now=utcnow())}
        other.rollback()
    assert claimed == set(ids[2:])


def test_worker_once_from_the_command_line(app, world, wechat_on, runner):
    open_task(world.unit_a)
    db.session.remove()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "'sent': 2" in result.output
    assert len(wechat_on.sent) == 1


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("thing1", "一" * 25, "一" * 19 + "…"),
        ("thing2", "短", "短"),
        ("phrase4", "逾期未整改完成", "逾期未整改"),
        ("character_string9", "x" * 40, "x" * 32),
        ("name3", "某某某某某某某某某某某", "某某某某某某某某某…"),
        ("thing5", "  ", "-"),
    ],
)
def test_values_fit_wechat_field_rules(key, value, expected):
    assert fit(key, value) == expected


def test_finished_rows_are_purged_and_the_inbox_keeps_its_messages(app, world, wechat_on):
    wechat_on.refused_openids.add("openid-unit-a")
    open_task(world.unit_a)
    worker.run_batch()
    open_task(world.unit_a)  # still pending: never purged
    assert worker.purge_finished(now=utcnow() + timedelta(days=29)) == 0
    assert worker.purge_finished(now=utcnow() + timedelta(days=31)) == 2  # sent + refused
    assert _statuses() == {"pending": 2}
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 1


def test_a_worker_process_killed_mid_batch_loses_and_doubles_nothing(app, world, tmp_path):
    """A real `flask worker --once` is SIGKILLed while delivering one big batch; a second
    worker, once the lease has passed, delivers the rest."""
    total = 600
    staff = world.users[Role.unit_staff]
    db.session.execute(
        insert(Notification),
        [
            {
                "key": f"kill:{n}",
                "channel": Channel.inbox,
                "kind": "test",
                "recipient_id": staff.id,
                "subject_type": "test",
                "subject_id": n,
                "title": "整改即将到期",
                "body": "请尽快整改",
                "next_attempt_at": utcnow() - timedelta(seconds=1),
            }
            for n in range(total)
        ],
    )
    db.session.commit()
    env = os.environ | {
        "APP_ENV": "testing",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORAGE_URL": f"file://{tmp_path}",
        "OUTBOX_BATCH_SIZE": str(total),  # one batch: the kill lands inside it
        "OUTBOX_LEASE_SECONDS": "120",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--once"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sent = select(func.count()).select_from(Notification).where(Notification.status == "sent")
    deadline = time.monotonic() + 60
    try:
        while db.session.scalar(sent) < 20 and process.poll() is None:
            db.session.rollback()
            assert time.monotonic() < deadline, "the worker never started delivering"
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    db.session.rollback()
    statuses = _statuses()
    assert 0 < statuses.get("sent", 0) < total, statuses  # killed mid-batch
    assert statuses["sending"] == total - statuses["sent"]  # the dead worker's claim

    later = utcnow() + timedelta(seconds=121)
    while worker.run_batch(now=later).claimed:
        pass
    assert _statuses() == {"sent": total}
    inbox = db.session.scalar(select(func.count(InboxMessage.id)))
    distinct = db.session.scalar(select(func.count(func.distinct(InboxMessage.notification_id))))
    assert inbox == distinct == total
