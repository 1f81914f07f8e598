"""Helpers for photo tests: fetch a signed URL and post to a presigned POST, whichever
backend issued them (S3 over HTTP, or the app's own folder routes)."""

from __future__ import annotations

import io

import requests
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart


def multipart(fields: dict[str, str], content: bytes, content_type: str) -> dict:
    """Keyword arguments for a test-client POST of a multipart form whose last part is
    `file`. Encoded in memory: the test client's own encoder leaks a temporary file for
    bodies over 500 KB."""
    values = dict(fields) | {
        "file": FileStorage(
            io.BytesIO(content), filename="tmp_photo.jpg", content_type=content_type
        )
    }
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def _elsewhere(url: str) -> bool:
    """An S3 URL, not one of the app's own (absolute on the test client's host)."""
    return url.startswith("http") and not url.startswith("http://localhost/")


def fetch(client, url: str) -> tuple[int, bytes, str]:
    """GET a signed URL: (status, body, content type)."""
    if _elsewhere(url):
        response = requests.get(url, timeout=10)
        return response.status_code, response.content, response.headers.get("Content-Type", "")
    response = client.get(url)
    body = response.get_data()
    response.close()
    return response.status_code, body, response.mimetype


def post_upload(client, upload: dict, content: bytes, content_type: str) -> int:
    """Upload like a phone does to a presigned POST: its fields, then the file (last)."""
    if _elsewhere(upload["url"]):
        response = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("photo", content, content_type)},
            timeout=10,
        )
        return response.status_code
    return client.post(
        upload["url"], **multipart(upload["fields"], content, content_type)
    ).status_code
