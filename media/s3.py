"""The S3 backend (boto3): MinIO, Tencent COS, Alibaba OSS, AWS S3.

Client options: always SigV4 (boto3 signs presigned URLs with SigV2 in us-east-1 otherwise),
path or virtual-hosted addressing by configuration, and CRC checksums only when required
(stores other than AWS may reject the headers boto3 ≥ 1.36 sends by default).

Write-once: with ``S3_CONDITIONAL_WRITES`` (the default) every put is conditional,
``If-None-Match: *``, and the store itself refuses to replace an existing key (412; AWS S3,
MinIO, R2, GCS and moto honour it). For a store that does not, set it false: the backend
then asks ``head`` first and puts only when the key is free. That leaves a race (two
writers to one new key between the head and the put, the later one wins); the app's keys
are random per photo, so only a forged write could lose it, and `flask media verify`
finds any original whose bytes no longer match the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core import errors
from media.storage import CHUNK, ObjectExists, PresignedPost, check_key

log = logging.getLogger(__name__)
UNAVAILABLE = "照片存储暂时不可用，请稍后重试"


class S3Storage:
    def __init__(self, client, bucket: str, prefix: str = "", *, conditional_writes: bool = True):
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.conditional_writes = conditional_writes

    @classmethod
    def from_config(cls, config: dict, *, bucket: str, prefix: str = "") -> S3Storage:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region_name=config.get("S3_REGION") or "us-east-1",
            # None: boto3 takes them from the environment / instance role as usual.
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID"),
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            config=Config(
                signature_version="s3v4",  # else presigned URLs are SigV2 in us-east-1
                s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
                # Non-AWS stores may reject the CRC headers boto3 ≥ 1.36 sends by default.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=config.get("S3_CONNECT_TIMEOUT", 3),
                read_timeout=config.get("S3_READ_TIMEOUT", 20),
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )
        return cls(
            client, bucket, prefix, conditional_writes=config.get("S3_CONDITIONAL_WRITES", True)
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _unavailable(self, exc: Exception, what: str) -> errors.Unavailable:
        log.warning("S3 %s failed: %s", what, exc)
        return errors.Unavailable(UNAVAILABLE)

    def put(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        # put_object streams a seekable file (it is read in blocks, never whole).
        params = {"Bucket": self.bucket, "Key": self._key(key), "ContentType": content_type}
        if self.conditional_writes:
            params["IfNoneMatch"] = "*"
        elif self.head(key) is not None:  # racy: see the module's docstring
            raise ObjectExists()
        try:
            self.client.put_object(Body=stream, **params)
        except ClientError as exc:
            if _code(exc) in EXISTS:
                raise ObjectExists() from exc
            raise self._unavailable(exc, "put") from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc, "put") from exc

    def get_to(self, key: str, sink: BinaryIO) -> None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            for chunk in body.iter_chunks(CHUNK):
                sink.write(chunk)
        except ClientError as exc:
            if _missing(exc):
                raise errors.NotFound("存储中没有该文件") from exc
            raise self._unavailable(exc, "get") from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc, "get") from exc

    def head(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._unavailable(exc, "head") from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc, "head") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "delete") from exc

    def keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"].removeprefix(self.prefix), item["LastModified"]
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "list") from exc

    def signed_url(self, key: str, *, content_type: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
        )

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=self._key(key),
            Fields={"Content-Type": content_type},
            Conditions=[
                ["content-length-range", 1, max_bytes],
                {"Content-Type": content_type},
            ],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields=post["fields"])

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


# 412: the key holds an object. 409 ConditionalRequestConflict: another conditional write
# to the key is in flight (AWS); either way the key is not ours to write.
EXISTS = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _missing(exc: ClientError) -> bool:
    return _code(exc) in {"404", "NoSuchKey", "NotFound"}
