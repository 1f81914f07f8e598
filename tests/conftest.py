"""Fixtures: the app on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set).

Every test that takes `app` (or anything built on it) runs once per database backend,
but for the console's walks in Chromium, which run on one (PostgreSQL when it is set).
The schema is made by the Alembic migrations, as in production; rows are wiped after
each test. Outside services (WeChat) are local fakes over real HTTP.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from accounts import service as accounts
from accounts.models import Role, User
from api import create_app, problems
from bench._postgres import temporary_database
from checklists import service as checklists
from checklists.models import ChecklistVersion
from core.db import db
from media.models import Photo, PhotoStatus
from org.models import LeadUnit, Region, RegionLevel, Sector, Unit
from tests import media_kinds
from tests.fakes.server import BackgroundServer
from tests.fakes.wechat import FakeWeChat

PASSWORD = "correct horse battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


# -- outside services ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    with BackgroundServer(fake) as server:
        yield fake, server.url


@pytest.fixture
def wechat(fake_wechat_server) -> Iterator[FakeWeChat]:
    fake, _ = fake_wechat_server
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP on 127.0.0.1, for the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3_TARGETS = ["moto"] + (["external"] if os.environ.get("TEST_S3_ENDPOINT") else [])


@pytest.fixture(scope="session")
def s3_config(request):
    """`s3_config(target)`: STORAGE_URL and S3_* settings for a fresh bucket on moto, or on
    the S3 named by TEST_S3_ENDPOINT (credentials from TEST_S3_ACCESS_KEY_ID and
    TEST_S3_SECRET_ACCESS_KEY). One bucket per target and session."""
    from media.s3 import S3Storage

    made: dict[str, dict] = {}

    def make(target: str = "moto") -> dict:
        if target in made:
            return made[target]
        if target == "moto":
            endpoint = request.getfixturevalue("moto_endpoint")
            key_id, secret = "testing", "testing"
        else:
            endpoint = os.environ["TEST_S3_ENDPOINT"]
            key_id = os.environ.get("TEST_S3_ACCESS_KEY_ID")
            secret = os.environ.get("TEST_S3_SECRET_ACCESS_KEY")
        bucket = f"photos-test-{uuid.uuid4().hex[:8]}"
        config = {
            "STORAGE_URL": f"s3://{bucket}/evidence",
            "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": os.environ.get("TEST_S3_REGION", "us-east-1"),
            "S3_ADDRESSING_STYLE": os.environ.get("TEST_S3_ADDRESSING_STYLE", "path"),
            "S3_ACCESS_KEY_ID": key_id,
            "S3_SECRET_ACCESS_KEY": secret,
        }
        S3Storage.from_config(config, bucket=bucket).client.create_bucket(Bucket=bucket)
        made[target] = config
        return config

    return make


@pytest.fixture(params=["folder", *(f"s3-{target}" for target in S3_TARGETS)])
def storage(request, app, s3_config):
    """The app's storage, as a folder and as S3 over HTTP; restored after the test."""
    from media.storage import from_config

    original = app.extensions["storage"]
    if request.param.startswith("s3-"):
        config = app.config | s3_config(request.param.removeprefix("s3-"))
        app.extensions["storage"] = from_config(config)
    yield app.extensions["storage"]
    app.extensions["storage"] = original


@pytest.fixture
def empty_photo_folder(request) -> None:
    """The app lives for the session; its photo folder starts empty for each test of the
    photo modules (`pytestmark = pytest.mark.usefixtures("empty_photo_folder")`). It takes
    the app only where the test itself does, so a test of pure functions there is not
    parametrized by database and run once per database for nothing."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        shutil.rmtree(app.extensions["storage"].root, ignore_errors=True)


# -- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "postgresql":
        # A test's commits need not survive a power cut: not waiting for the WAL's flush
        # saves about 0.1 ms a commit here, and nothing a test can see changes.
        with temporary_database(
            os.environ["TEST_DATABASE_URL"], "inspection_test", {"synchronous_commit": "off"}
        ) as url:
            yield url
    else:
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        yield f"sqlite:///{path}"


def pytest_generate_tests(metafunc):
    if "database_url" in metafunc.fixturenames:
        # A walk through the console in Chromium tests the pages, which every other test
        # of the console already checks on both databases: it runs on one, PostgreSQL when
        # there is one (production's), and at each of its screen widths.
        backends = BACKENDS[-1:] if "browser" in metafunc.fixturenames else BACKENDS
        metafunc.parametrize("database_url", backends, indirect=True, scope="session")


def make_config(database_url: str, tmp: Path, wechat_url: str) -> dict:
    return {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-anything",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "STORAGE_URL": f"file://{tmp / 'photos'}",
        "WECHAT_API_BASE": wechat_url,
        "WECHAT_APP_ID": FakeWeChat.app_id,
        "WECHAT_APP_SECRET": FakeWeChat.app_secret,
        "WECHAT_TIMEOUT": 2.0,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; scrypt in production
        "DEMO_PASSWORD": PASSWORD,
        "CHECKLIST_CACHE_SECONDS": 0,  # tests publish and wipe checklists constantly
        # Every test client comes from 127.0.0.1: the sign-in limits are off here and on
        # in the tests of the limits themselves (tests/test_sign_in_limits.py).
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture(scope="session")
def app_session(database_url, tmp_path_factory, fake_wechat_server) -> Iterator[Flask]:
    _, wechat_url = fake_wechat_server
    app = create_app(make_config(database_url, tmp_path_factory.mktemp("app"), wechat_url))
    media_kinds.init_app(app)
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(app_session):
    """A second app on the same database, for tests that add routes or checks to it, or
    that need other settings: `make_app(SETTING=value)`."""
    made: list[Flask] = []

    def make(**overrides) -> Flask:
        made.append(create_app(dict(app_session.config) | overrides))
        media_kinds.init_app(made[-1])
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _wipe(app: Flask) -> None:
    """Empty every table and start ids from 1 again, as on a new database.

    DELETE, children first, rather than TRUNCATE: a test leaves a few rows, and on
    PostgreSQL truncating thirty tables cost 100 ms per test (new files for each table)
    where deleting costs a few."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if db.engine.dialect.name != "postgresql":
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
                return
            # One round trip: the DELETEs and the restart of each sequence used since
            # the last restart (an unused one has no last value), in one string (psycopg
            # sends a parameterless string as it is). `setval(…, 1, false)` rather than
            # ALTER SEQUENCE … RESTART, which gives each sequence a new file: a third of
            # the time.
            used = conn.scalars(
                text(
                    "SELECT sequencename FROM pg_sequences"
                    " WHERE schemaname = 'public' AND last_value IS NOT NULL"
                )
            ).all()
            statements = [f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables)]
            if used:
                restarts = (f"setval('\"{sequence}\"', 1, false)" for sequence in used)
                statements.append("SELECT " + ", ".join(restarts))
            conn.exec_driver_sql(";\n".join(statements))


@pytest.fixture
def app(app_session) -> Iterator[Flask]:
    """The app with an empty database and an app context pushed, as a shell would have."""
    with app_session.app_context():
        yield app_session
        db.session.remove()
    _wipe(app_session)


# -- the demo city ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSnapshot:
    """What `flask demo` wrote: every table's rows, and a copy of the photo folder."""

    rows: dict[str, list[dict]]
    photos: Path


_DEMO_SNAPSHOTS: dict[str, DemoSnapshot] = {}  # by database, in this test process


@pytest.fixture
def demo_city(app, runner, tmp_path_factory) -> None:
    """The database and the photo folder as `flask demo` leaves them.

    The command runs for the first test that asks, once per database in each test process
    (that test sees the command's own work); the tests after it get a copy of what it
    wrote, every row with its id and the photos it stored, in a fraction of the time
    (the command stores its evidence through the whole photo pipeline). Tests of the demo
    itself run the command. With photos in S3 (`storage`), every test runs it."""
    root = getattr(app.extensions["storage"], "root", None)
    snapshot = _DEMO_SNAPSHOTS.get(str(db.engine.url))
    if snapshot is None or root is None:
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        if root is not None:
            _DEMO_SNAPSHOTS[str(db.engine.url)] = _take_demo(root, tmp_path_factory)
        return
    _restore_demo(snapshot, root)


def _take_demo(root: Path, tmp_path_factory) -> DemoSnapshot:
    db.session.remove()
    with db.engine.connect() as conn:
        rows = {
            table.name: [
                dict(row._mapping)
                for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in db.metadata.sorted_tables
        }
    photos = tmp_path_factory.mktemp("demo") / "photos"
    shutil.copytree(root, photos) if root.exists() else photos.mkdir()
    return DemoSnapshot(rows, photos)


def _restore_demo(snapshot: DemoSnapshot, root: Path) -> None:
    """Into the empty database (`app` wipes after each test): parents before children, each
    table's rows in id order; then each sequence after its table's last id (PostgreSQL;
    SQLite takes the next id after the largest)."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if snapshot.rows[table.name]:
                conn.execute(table.insert(), snapshot.rows[table.name])
        if conn.dialect.name == "postgresql":
            positions = [
                f"setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                f' (SELECT max(id) FROM "{table.name}"))'
                for table in db.metadata.sorted_tables
                if snapshot.rows[table.name] and "id" in table.c and table.c.id.autoincrement
            ]
            conn.exec_driver_sql("SELECT " + ", ".join(positions))
    shutil.copytree(snapshot.photos, root, dirs_exist_ok=True)


# -- clients ------------------------------------------------------------------------------


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The test itself holds an app context (for factories and queries); without this, Flask
    would reuse it for requests, sharing `g` and the database session between the test and
    the app, so a test could see uncommitted state or stale per-request caches.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class ApiClient(IsolatedClient):
    """A test client that signs its requests with a bearer token when it has one."""

    token: str | None = None

    def open(self, *args, **kwargs):
        if self.token:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", f"Bearer {self.token}")
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app) -> ApiClient:
    app.test_client_class = ApiClient
    return app.test_client()


@pytest.fixture
def client_for(app):
    """`client_for(user)`: a client signed in as `user` with a real token."""

    def make(user: User) -> ApiClient:
        raw, _ = accounts.issue_token(user, "password")
        db.session.commit()
        app.test_client_class = ApiClient
        api_client = app.test_client()
        api_client.token = raw
        return api_client

    return make


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- factories ----------------------------------------------------------------------------

_seq = itertools.count(1)


@pytest.fixture
def make_region(app):
    def make(**over) -> Region:
        n = next(_seq)
        region = Region(
            **{"code": f"4452{n:05d}", "name": f"测试街道{n}", "level": RegionLevel.township} | over
        )
        db.session.add(region)
        db.session.commit()
        return region

    return make


@pytest.fixture
def make_sector(app):
    def make(**over) -> Sector:
        n = next(_seq)
        sector = Sector(**{"code": f"sector_{n}", "name": f"测试领域{n}"} | over)
        db.session.add(sector)
        db.session.commit()
        return sector

    return make


@pytest.fixture
def make_unit(app, make_region, make_sector):
    def make(**over) -> Unit:
        n = next(_seq)
        if "sector_id" not in over:
            over["sector_id"] = make_sector().id
        if "region_id" not in over:
            over["region_id"] = make_region().id
        unit = Unit(
            **{
                "name": f"测试窗口单位{n}",
                "address": f"测试路{n}号",
                "latitude": 23.3,
                "longitude": 116.17,
            }
            | over
        )
        db.session.add(unit)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def make_user(app):
    def make(role: Role | str = Role.office_admin, **over) -> User:
        n = next(_seq)
        data = {
            "username": f"user{n}",
            "display_name": f"测试人员{n}",
            "role": role,
            "password": PASSWORD,
        } | over
        user = accounts.create_user(data, actor=None)
        db.session.commit()
        return user

    return make


@contextlib.contextmanager
def committed_once() -> Iterator[None]:
    """The factories commit each object they make; inside this block they flush instead,
    and the block commits once at its end: a world of a dozen rows is one transaction, not
    twelve (each with its rollups' upkeep and, on PostgreSQL, its ping and BEGIN)."""
    db.session.commit = db.session.flush  # (shadows the scoped session's own method)
    try:
        yield
    finally:
        del db.session.commit
    db.session.commit()


class World:
    """Two units in two sectors, and one person of each role on unit A's side."""

    def __init__(self, make_unit, make_user, make_sector):
        self._make_user = make_user
        with committed_once():
            self.sector_a, self.sector_b = make_sector(), make_sector()
            self.lead_unit_a = LeadUnit(name="测试牵头单位A", sector_id=self.sector_a.id)
            db.session.add(self.lead_unit_a)
            db.session.flush()
            self.unit_a = make_unit(sector_id=self.sector_a.id, lead_unit_id=self.lead_unit_a.id)
            self.unit_b = make_unit(sector_id=self.sector_b.id)
            self.users = {
                Role.office_admin: make_user(Role.office_admin),
                Role.viewer: make_user(Role.viewer),
                Role.inspector: make_user(Role.inspector),
                Role.unit_staff: make_user(Role.unit_staff, unit_id=self.unit_a.id),
                Role.lead_unit_staff: make_user(Role.lead_unit_staff, sector_id=self.sector_a.id),
            }
            self.unit_staff_b = make_user(Role.unit_staff, unit_id=self.unit_b.id)
        # Unit A and unit B stand in two regions (make_unit gives each its own).
        self.region_a, self.region_b = self.unit_a.region_id, self.unit_b.region_id

    @functools.cached_property
    def scoped_offices(self) -> dict[Role, User]:
        """An office admin and a viewer bound to unit A's region: B is another region."""
        return {
            role: self._make_user(role, region_id=self.region_a)
            for role in (Role.office_admin, Role.viewer)
        }

    # Rectification objects, made on first use (the policy matrix asks for them).
    @functools.cached_property
    def task_a(self):
        from tests.rectification_support import open_task

        return open_task(self.unit_a, inspector_id=self.users[Role.inspector].id)

    @functools.cached_property
    def task_b(self):
        from tests.rectification_support import open_task

        return open_task(self.unit_b, inspector_id=self.users[Role.inspector].id)

    def _extension(self, task, staff):
        import uuid
        from datetime import timedelta

        from rectification import service

        extension, _ = service.request_extension(
            task,
            {
                "client_id": uuid.uuid4(),
                "due_on": task.due_on + timedelta(days=7),
                "reason": "材料尚未备齐",
            },
            actor=staff,
        )
        db.session.commit()
        return extension

    @functools.cached_property
    def extension_a(self):
        return self._extension(self.task_a, self.users[Role.unit_staff])

    @functools.cached_property
    def extension_b(self):
        return self._extension(self.task_b, self.unit_staff_b)

    @functools.cached_property
    def inbox_message_a(self):
        from tests.rectification_support import inbox_message

        return inbox_message(self.users[Role.unit_staff])

    @functools.cached_property
    def inbox_message_b(self):
        from tests.rectification_support import inbox_message

        return inbox_message(self.unit_staff_b)

    @functools.cached_property
    def inspections(self):
        """Plans, visits, inspections and findings at A and B, built on first use."""
        from tests.inspection_helpers import InspectionWorld

        return InspectionWorld(self, self._make_user)

    def _photo(self, unit: Unit) -> Photo:
        """A stored photo row attached to `unit` through the test attachment kind."""
        photo = Photo(
            client_id=str(uuid.uuid4()),
            status=PhotoStatus.stored,
            owner_type=media_kinds.KIND,
            owner_id=unit.id,
            evidence_group=f"{media_kinds.KIND}:{unit.id}",
            unit_id=unit.id,
            key=f"photos/test/{uuid.uuid4().hex}",
            content_type="image/jpeg",
            uploaded_by_id=self.users[Role.inspector].id,
        )
        db.session.add(photo)
        db.session.commit()
        return photo

    @functools.cached_property
    def photo_a(self) -> Photo:
        return self._photo(self.unit_a)

    @functools.cached_property
    def photo_b(self) -> Photo:
        return self._photo(self.unit_b)

    @functools.cached_property
    def checklist(self) -> ChecklistVersion:
        """A published checklist for every sector: one section, one pass/fail item."""
        content = {
            "name": "测试检查表",
            "sections": [
                {
                    "code": "dress",
                    "title": "仪容仪表",
                    "items": [{"code": "dress.uniform", "kind": "pass_fail", "title": "着装"}],
                }
            ],
        }
        template = checklists.create_template(
            {"code": "test_checklist", "name": "测试检查表", "all_sectors": True},
            actor=None,
            content=content,
        )
        version = checklists.publish(checklists.list_versions(template)[0], actor=None)
        db.session.commit()
        return version


@pytest.fixture
def world(make_unit, make_user, make_sector) -> World:
    return World(make_unit, make_user, make_sector)


@pytest.fixture
def office(world, client_for) -> ApiClient:
    return client_for(world.users[Role.office_admin])


def patch_as_read(client, url: str, body: dict):
    """PATCH `url` with If-Match set to the ETag a GET of it answers just before."""
    etag = client.get(url).headers["ETag"]
    return client.patch(url, json=body, headers={"If-Match": etag})


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    # A type from the one registry, of this status; a 409 always names its own.
    assert problems.REGISTRY[body["type"]].status == status, body["type"]
    assert body["type"] != problems.GENERIC[409]
    assert "Traceback" not in response.get_data(as_text=True)
    return body
