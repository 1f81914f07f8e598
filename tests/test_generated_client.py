"""A client generated from the OpenAPI document walks the inspector's day and the unit's
reply over real HTTP, errors included.

openapi-python-client (a well-kept generator, as a phone or a partner system would use)
writes a client from `GET /api/v1/openapi.json` into a temporary folder, once a session;
`--fail-on-warning` makes any schema it cannot read, any response it must leave out, a
failure here. The app is served by werkzeug on 127.0.0.1 in a thread, and every step
goes through the generated functions and models: sign-in, the visit list, check-in,
partial saves, photo uploads (multipart), submission; the office publishes (through the
service: not the phone's part); the unit lists its tasks, uploads its evidence and
replies. A 409 and a 422 come back parsed as the documented `Problem` with their `type`.

What the generated code can read comes from api/problem_docs.py: disabling its plugin
(`ProblemResponses`) leaves a retry's 200 without a body, which the generated client
reads as None, and this test fails; removing its components as well (flask-smorest's own
error schema, as before the problem+json documentation) leaves no `Problem` model to
parse the 409 and 422 with, and it fails there too (both tried).
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from accounts.models import Role
from api import create_app
from core.db import db
from inspections.models import Inspection
from tests import images
from tests.conftest import PASSWORD, make_config
from tests.fakes.server import BackgroundServer
from tests.inspection_helpers import (
    ALL_PASS,
    check_in,
    make_visit,
    publish_checklist,
    published,
)

PACKAGE = "inspection_client"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# No post-generation hooks (ruff): formatting is not what is tested, and it costs seconds.
# The generator knows no .docx or image types; read as any binary download is what a
# client does.
BINARY = (DOCX, "image/jpeg", "image/png", "image/webp", "image/heic")
OVERRIDES = ", ".join(f'"{mime}": "application/octet-stream"' for mime in BINARY)
CONFIG = f"""{{
  "package_name_override": "{PACKAGE}",
  "post_hooks": [],
  "content_type_overrides": {{{OVERRIDES}}}
}}"""
FAILING = ALL_PASS | {"smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"}}


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> ModuleType:
    """The generated package, imported; `generated.load("api.auth.post_api_v1_auth_login")`."""
    folder = tmp_path_factory.mktemp("generated")
    app = create_app(make_config(f"sqlite:///{folder / 'unused.db'}", folder, "http://127.0.0.1:9"))
    document = app.test_client().get("/api/v1/openapi.json")
    assert document.status_code == 200
    (folder / "openapi.json").write_bytes(document.get_data())
    (folder / "config.json").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    package = importlib.import_module(PACKAGE)
    package.load = lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    return package


@pytest.fixture
def server(app) -> str:
    """The app under test on a real port."""
    with BackgroundServer(app) as running:
        yield running.url


def ok(response, status: int = 200):
    """The parsed body of a success, with the raw answer in the message if it is not."""
    assert response.status_code == status, response.content.decode()
    return response.parsed


def problem_of(generated, response, status: int) -> str:
    """The answer parsed as the documented Problem; returns its `type`."""
    problem = generated.load("models.problem").Problem
    assert response.status_code == status, response.content.decode()
    assert isinstance(response.parsed, problem), response.content.decode()
    assert response.parsed.status == status
    assert response.parsed.title
    assert response.parsed.detail
    return response.parsed.type_.value


def sign_in(generated, url: str, username: str):
    """Username and password through the generated sign-in: a client with its token."""
    client_module = generated.load("client")
    login = generated.load("api.auth.post_api_v1_auth_login")
    body = generated.load("models.password_login").PasswordLogin(username, PASSWORD)
    token = ok(login.sync_detailed(client=client_module.Client(base_url=url), body=body), 201)
    return client_module.AuthenticatedClient(base_url=url, token=token.token, timeout=30)


def upload(generated, client, *, owner_type: str, owner_id: int, item_code=None, seed=1):
    """POST /photos as the generated multipart form."""
    models = generated.load("models.upload_form")
    file = generated.load("types").File(
        payload=io.BytesIO(images.jpeg(64, 48, seed=seed)),
        file_name="photo.jpg",
        mime_type="image/jpeg",
    )
    # owner_type is a documented enum: the generated client takes its own type for it.
    kind = generated.load("models.upload_form_owner_type").UploadFormOwnerType(owner_type)
    form = models.UploadForm(client_id=uuid.uuid4(), owner_type=kind, owner_id=owner_id, file=file)
    if item_code is not None:
        form.item_code = item_code
    post = generated.load("api.photos.post_api_v1_photos")
    return ok(post.sync_detailed(client=client, body=form), 201)


def test_a_generated_client_walks_the_inspection_and_the_reply(generated, server, world, make_user):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    staff = world.users[Role.unit_staff]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    load = generated.load
    models = load("models")
    phone = sign_in(generated, server, inspector.username)

    visits = ok(load("api.visits.get_api_v1_visits").sync_detailed(client=phone))
    assert [v.id for v in visits.items] == [visit.id]
    here = visits.items[0]
    start = models.Start(
        client_uuid=uuid.uuid4(),
        visit_id=here.id,
        check_in=models.CheckIn.from_dict(check_in(world.unit_a)),  # the phone, at the unit
    )
    check_in_route = load("api.inspections.post_api_v1_inspections")
    started = ok(check_in_route.sync_detailed(client=phone, body=start), 201)
    assert started.status.value == "draft"
    assert started.checkin_far is False
    # The answer was lost on the way: the retry's 200 reads as the first answer did.
    again = ok(check_in_route.sync_detailed(client=phone, body=start))
    assert (again.id, again.client_uuid) == (started.id, start.client_uuid)

    partial = models.Answers.from_dict({"answers": {"dress.uniform": {"result": "pass"}}})
    save = load("api.inspections.patch_api_v1_inspections_inspection_id_answers")
    saved = ok(save.sync_detailed(started.id, client=phone, body=partial))
    assert saved.answers.to_dict() == {"dress.uniform": {"result": "pass"}}

    photos = {
        code: upload(
            generated, phone, owner_type="inspection", owner_id=started.id, item_code=code, seed=n
        )
        for n, code in enumerate(("video.working", "smoke.none"), start=1)
    }
    assert {p.status for p in photos.values()} == {"stored"}

    submit = load("api.inspections.post_api_v1_inspections_inspection_id_submit")
    done = ok(
        submit.sync_detailed(
            started.id, client=phone, body=models.Answers.from_dict({"answers": FAILING})
        )
    )
    assert done.status.value == "submitted"
    assert [f.item_code for f in done.findings] == ["smoke.none"]
    assert done.missing_photos == []

    # 409: the same client_uuid again, with other answers, through the offline route.
    differs = models.OfflineSubmit.from_dict(
        {
            "client_uuid": str(start.client_uuid),
            "visit_id": visit.id,
            "check_in": start.check_in.to_dict(),
            "answers": ALL_PASS,
        }
    )
    offline = load("api.inspections.post_api_v1_inspections_submissions")
    assert (
        problem_of(generated, offline.sync_detailed(client=phone, body=differs), 409)
        == "urn:problem:submission-differs"
    )
    # 422: a body the schema refuses (an item code longer than any code can be).
    wrong = models.Answers.from_dict({"answers": {"x" * 41: {"result": "pass"}}})
    refused = save.sync_detailed(started.id, client=phone, body=wrong)
    assert problem_of(generated, refused, 422) == "urn:problem:invalid-input"
    assert "answers" in refused.parsed.errors["json"]

    # The office's part: confirm the finding and publish, which opens the task.
    db.session.expire_all()
    published(db.session.get(Inspection, started.id))

    unit = sign_in(generated, server, staff.username)
    tasks = ok(load("api.rectification.get_api_v1_rectification_tasks").sync_detailed(client=unit))
    assert [(t.inspection_id, t.item_code, t.status.value) for t in tasks.items] == [
        (started.id, "smoke.none", "open")
    ]
    task = tasks.items[0]
    evidence = upload(generated, unit, owner_type="rectification_task", owner_id=task.id)
    body = models.ReplyCreate(
        client_id=uuid.uuid4(),
        description="已在后门张贴禁烟标识并安排巡查",
        photo_ids=[evidence.id],
    )
    reply = load("api.rectification.post_api_v1_rectification_tasks_task_id_replies")
    answered = ok(
        reply.sync_detailed(task.id, client=unit, body=body, if_match=f'"{task.version}"'), 201
    )
    assert answered.photo_ids == [evidence.id]
    assert answered.round_ == 1
    detail = load("api.rectification.get_api_v1_rectification_tasks_task_id")
    assert ok(detail.sync_detailed(task.id, client=unit)).status.value == "responded"
    # A reply without evidence is refused as the document says.
    bare = models.ReplyCreate.from_dict(
        {"client_id": str(uuid.uuid4()), "description": "", "photo_ids": []}
    )
    assert (
        problem_of(generated, reply.sync_detailed(task.id, client=unit, body=bare), 422)
        == "urn:problem:invalid-input"
    )
