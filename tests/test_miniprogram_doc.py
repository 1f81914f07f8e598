"""docs/miniprogram.md names only what the API has: its calls are operations of the OpenAPI
document, its form fields are the upload's, its client keys are required where it says, and
its error types are registered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api import problems

DOC = (Path(__file__).resolve().parent.parent / "docs" / "miniprogram.md").read_text("utf-8")
CALL = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^\s`?)]*)")


@pytest.fixture(scope="module")
def spec(app_session):
    return app_session.test_client().get("/api/v1/openapi.json").get_json()


def _schema(spec, ref: dict) -> dict:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_every_call_in_the_doc_is_an_operation(spec):
    calls = set(CALL.findall(DOC))
    assert len(calls) >= 20
    missing = [
        (method, path)
        for method, path in sorted(calls)
        if method.lower() not in spec["paths"].get(path.rstrip("."), {})
    ]
    assert missing == []


def test_the_upload_form_fields_are_the_apis(spec):
    block = DOC.split("wx.uploadFile({", 1)[1].split("})", 1)[0]
    names = set(re.findall(r"^\s+(\w+):", block, flags=re.M))
    form = spec["paths"]["/api/v1/photos"]["post"]["requestBody"]["content"]
    upload = _schema(spec, form["multipart/form-data"]["schema"])
    fields = names - {"url", "filePath", "name", "header", "formData", "success", "Authorization"}
    assert fields, names
    assert fields <= set(upload["properties"]), fields - set(upload["properties"])
    assert "name: 'file'" in block
    assert "file" in upload["properties"]


def test_the_client_keys_are_required_where_the_doc_says(spec):
    rows = re.findall(r"^\| `(POST) (/api/v1/[^`]+)` \| `(\w+)` \|$", DOC, flags=re.M)
    assert len(rows) == 6
    for method, path, key in rows:
        body = spec["paths"][path][method.lower()]["requestBody"]["content"]
        (media,) = body.values()
        assert key in _schema(spec, media["schema"])["required"], path


def test_every_error_type_in_the_doc_is_registered():
    named = set(re.findall(r"urn:problem:[a-z0-9-]+", DOC))
    assert len(named) > 30
    assert named - set(problems.REGISTRY) == set()
