"""One storage interface, two backends chosen by `STORAGE_URL`.

- ``file:///path``: a local folder (the embedded default). Keys map to paths under the
  root and are refused if they could escape it; writes go to a temporary file that is
  linked into place, so a reader never sees half a photo. Signed URLs and presigned POSTs
  are app-signed tokens served by the API (``/api/v1/media/...``).
- ``s3://bucket[/prefix]``: any S3-compatible store through boto3 (MinIO, Tencent COS,
  Alibaba OSS, AWS). Signed URLs are presigned GETs; direct uploads are presigned POSTs.

Objects are written once: ``put`` never replaces what a key already holds (an original is
evidence) and raises `ObjectExists` (409) instead, leaving the stored object untouched.
Every backend error that means "the store is unreachable or failing" becomes
`core.errors.Unavailable` (503, retry); a missing object is `None` from `head`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeSerializer

from core import errors

CHUNK = 1024 * 1024
_KEY = re.compile(r"[a-z0-9][a-z0-9/_.-]{0,199}", re.ASCII)


class ObjectExists(errors.Conflict):
    """A write to a key that already holds an object. Originals are written once."""

    default_message = "该位置已有存储的文件，原图不可覆盖"

    def __init__(self, message: str | None = None, **kw):
        kw.setdefault("type", "urn:problem:object-exists")
        super().__init__(message, **kw)


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


class Storage(Protocol):
    def put(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        """Store a new object; ObjectExists when the key already holds one."""

    def get_to(self, key: str, sink: BinaryIO) -> None:
        """Copy the object into `sink` in chunks; NotFound when it is missing."""

    def head(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""

    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Every object whose key starts with `prefix`, with its last-modified time."""

    def signed_url(self, key: str, *, content_type: str, expires_in: int) -> str: ...
    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost: ...
    def ping(self) -> None: ...


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key or "//" in key:
        raise ValueError(f"unsafe storage key: {key!r}")
    return key


def from_config(config: dict) -> Storage:
    url = urlsplit(config["STORAGE_URL"])
    if url.scheme == "file":
        return LocalStorage(
            Path(url.path), secret=config["SECRET_KEY"], base_url=config["MEDIA_BASE_URL"]
        )
    if url.scheme == "s3":
        from media.s3 import S3Storage

        return S3Storage.from_config(config, bucket=url.netloc, prefix=url.path.strip("/"))
    raise ValueError(f"STORAGE_URL must be file:// or s3://, not {config['STORAGE_URL']!r}")


def current_storage() -> Storage:
    return current_app.extensions["storage"]


# -- the local folder ---------------------------------------------------------------------


class LocalStorage:
    """Photos in a folder. Tokens for GET and POST are signed with the app's secret."""

    def __init__(self, root: Path, *, secret: str, base_url: str):
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self._signer = URLSafeSerializer(secret, salt="media.local-storage")

    def path_of(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    def put(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        """Write to a temporary file, then link it to its name: `link` fails when the name
        exists (where `rename` would replace it), so an existing object is never changed
        and a reader never sees half a file."""
        path = self.path_of(key)
        if path.exists():  # cheap early refusal; the link below is what guarantees it
            raise ObjectExists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(stream, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.link(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except FileExistsError as exc:
            raise ObjectExists() from exc
        except OSError as exc:
            raise errors.Unavailable("照片存储暂时不可用，请稍后重试") from exc

    def get_to(self, key: str, sink: BinaryIO) -> None:
        try:
            with self.path_of(key).open("rb") as src:
                shutil.copyfileobj(src, sink, CHUNK)
        except FileNotFoundError as exc:
            raise errors.NotFound("存储中没有该文件") from exc
        except OSError as exc:
            raise errors.Unavailable("照片存储暂时不可用，请稍后重试") from exc

    def head(self, key: str) -> int | None:
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise errors.Unavailable("照片存储暂时不可用，请稍后重试") from exc

    def delete(self, key: str) -> None:
        try:
            self.path_of(key).unlink(missing_ok=True)
        except OSError as exc:
            raise errors.Unavailable("照片存储暂时不可用，请稍后重试") from exc

    def keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        top = self.path_of(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            for path in sorted(top.rglob("*")) if top.is_dir() else ():
                if path.is_file() and not path.name.startswith(".upload-"):
                    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    yield str(path.relative_to(self.root)), modified
        except OSError as exc:
            raise errors.Unavailable("照片存储暂时不可用，请稍后重试") from exc

    def signed_url(self, key: str, *, content_type: str, expires_in: int) -> str:
        token = self._signer.dumps(
            {"op": "get", "k": key, "t": content_type, "e": int(time.time()) + expires_in}
        )
        return f"{self._base()}/files/{token}"

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        token = self._signer.dumps(
            {"op": "post", "k": key, "t": content_type, "m": max_bytes,
             "e": int(time.time()) + expires_in}
        )  # fmt: skip
        return PresignedPost(url=f"{self._base()}/uploads/{token}", fields={})

    def _base(self) -> str:
        """MEDIA_BASE_URL when absolute; a path is put on the request's scheme and host (an
        `<image src>` or `wx.downloadFile` needs a whole URL). `X-Forwarded-Proto/Host`
        count only behind TRUSTED_PROXIES (ProxyFix), and TRUSTED_HOSTS refuses a Host
        header that names another site, so a client cannot point URLs elsewhere."""
        if self.base_url.startswith("/") and has_request_context():
            return request.host_url.rstrip("/") + self.base_url
        return self.base_url

    def read_token(self, token: str, op: str) -> dict:
        """The claims of a token this storage signed for `op`; NotFound when invalid/expired."""
        try:
            claims = self._signer.loads(token)
        except BadSignature as exc:
            raise errors.NotFound() from exc
        if claims.get("op") != op or claims.get("e", 0) < time.time():
            raise errors.NotFound("链接已失效，请重新获取")
        check_key(claims["k"])
        return claims

    def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"photo folder {self.root} is not writable")
