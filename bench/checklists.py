"""Checklists: scoring a full inspection, and the mini program's form (200 vs 304).

- `checklist.score`: validate + score one complete answer set on the default library (48
  items), against decoding that answer set from JSON (the cost of merely receiving it);
- `checklist.form_304`: revalidating the form with If-None-Match, against fetching it;
- `checklist.form_bytes`: the compact form's size, against the full version's JSON.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from flask_migrate import upgrade

from accounts import service as accounts
from accounts.models import Role
from api import create_app
from checklists import content as fmt
from checklists import library
from checklists.scoring import score, validate_answers
from core.db import db


def _paired_us(
    measured: Callable[[], object], baseline: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median µs per call of both, sampled alternately so a busy machine slows both alike."""
    samples: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(9):
        for index, func in enumerate((measured, baseline)):
            start = time.perf_counter()
            for _ in range(repeat):
                func()
            samples[index].append((time.perf_counter() - start) / repeat * 1e6)
    return round(statistics.median(samples[0]), 1), round(statistics.median(samples[1]), 1)


def _answers(content: dict, rng: random.Random) -> dict:
    answers = {}
    for item in fmt.iter_items(content):
        kind = item["kind"]
        if kind == "pass_fail":
            results = ["pass", "pass", "fail"] + (["na"] if item["allow_na"] else [])
            answers[item["code"]] = {"result": rng.choice(results)}
        elif kind == "score":
            answers[item["code"]] = {"value": rng.randint(0, item["max"])}
        elif kind == "single_choice":
            answers[item["code"]] = {"value": rng.choice(item["options"])["value"]}
        elif kind == "multi_choice":
            answers[item["code"]] = {"value": [item["options"][-1]["value"]]}
        elif kind == "number":
            answer = {"value": rng.randint(0, 5)}
            if item["total_label"]:
                answer["total"] = 5
            answers[item["code"]] = answer
        elif kind == "text":
            answers[item["code"]] = {"value": "大厅整体情况良好", "note": "无"}
    return answers


def bench_scoring() -> Iterator[dict]:
    content, _ = fmt.normalise(library.read_default_document()["content"])
    answers = _answers(content, random.Random(7))
    raw = json.dumps(answers, ensure_ascii=False)

    def validate_and_score():
        assert not validate_answers(content, answers)
        score(content, answers)

    value, baseline = _paired_us(validate_and_score, lambda: json.loads(raw), 200)
    yield {
        "name": "checklist.score",
        "value": value,
        "unit": "µs per 48-item inspection",
        "baseline": baseline,
    }


def bench_form() -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "bench-secret-key-long-enough-for-anything-at-all",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            upgrade()
            version = library.install_default()
            inspector = accounts.create_user(
                {
                    "username": "bench",
                    "display_name": "压测",
                    "role": Role.inspector,
                    "password": "checklist-form-7q2k",
                },
                actor=None,
            )
            token, _ = accounts.issue_token(inspector, "password")
            db.session.commit()
            version_id = version.id
            client = app.test_client()
            auth = {"Authorization": f"Bearer {token}"}
            url = f"/api/v1/checklist-versions/{version_id}/form"
            first = client.get(url, headers=auth)
            etag = first.headers["ETag"]
            full = client.get(f"/api/v1/checklist-versions/{version_id}", headers=auth)
            cached = {**auth, "If-None-Match": etag}
            assert client.get(url, headers=cached).status_code == 304
            value, baseline = _paired_us(
                lambda: client.get(url, headers=cached), lambda: client.get(url, headers=auth), 30
            )
            yield {
                "name": "checklist.form_304",
                "value": value,
                "unit": "µs per revalidation (304)",
                "baseline": baseline,
            }
            yield {
                "name": "checklist.form_bytes",
                "value": len(first.data),
                "unit": "bytes (compact form)",
                "baseline": len(full.data),
            }
            db.session.remove()
            db.engine.dispose()


def run() -> Iterator[dict]:
    yield from bench_scoring()
    yield from bench_form()
