"""Downloads that behave: a Chinese file name every browser shows, the right media type,
large exports written by the worker while the office polls, files kept for a while, and
every export in the audit trail.

- `Content-Disposition` carries the Chinese name as RFC 5987/6266 `filename*=UTF-8''…`
  and an ASCII `filename="…"` for clients that do not read the former.
- An export of up to `LEDGER_SYNC_MAX_ROWS` rows is written in the request (docs/reports.md
  has the measurement behind the default); a larger one becomes a job (202): the worker
  writes it into the storage backend under `exports/`, the office polls
  `/api/v1/reports/exports/{id}` and downloads it within `EXPORT_TTL_SECONDS`; then the
  worker's sweep deletes the file and marks the job expired.
- Every export is an `ExportJob` row and an audit event (who, which ledger, which
  filters, how many rows), whether the request or the worker wrote it; so is every
  circular and inspection report downloaded (`reports.issued`).
"""

from __future__ import annotations

import io
import logging
import tempfile
import uuid
from datetime import timedelta
from typing import IO, Any
from urllib.parse import quote

from flask import Response, current_app
from sqlalchemy import select, update
from werkzeug.wsgi import FileWrapper

from accounts.models import User
from core import audit, errors
from core.clock import local, utcnow
from core.db import db
from media.storage import current_storage
from reports import ledger
from reports.documents.layout import Built
from reports.models import ExportJob, ExportStatus
from reports.xlsx import XLSX

log = logging.getLogger(__name__)

ENTITY = "export_job"
SPOOL_BYTES = 16 * 1024 * 1024
ASCII_NAMES = {"inspections": "inspection-ledger", "rectification": "rectification-ledger"}


# -- the file's name ----------------------------------------------------------------------


def content_disposition(filename: str, fallback: str) -> str:
    """`attachment` with the UTF-8 name (RFC 5987 `filename*`) and an ASCII fallback."""
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in fallback
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def bytes_response(content: bytes, *, filename: str, fallback: str) -> Response:
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    response.headers["Cache-Control"] = "no-store"
    return response


def file_response(stream: IO[bytes], *, filename: str, fallback: str, size: int | None) -> Response:
    """A download of `stream` (closed when sent), named for people and for old clients."""
    stream.seek(0)
    response = Response(FileWrapper(stream), mimetype=XLSX, direct_passthrough=True)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    response.headers["Cache-Control"] = "no-store"
    if size is not None:
        response.content_length = size
    response.call_on_close(stream.close)
    return response


def _names(ledger_name: str) -> tuple[str, str]:
    stamp = local(utcnow()).strftime("%Y%m%d-%H%M")
    return (
        f"{ledger.title_of(ledger_name)}-{stamp}.xlsx",
        f"{ASCII_NAMES[ledger_name]}-{stamp}.xlsx",
    )


def fallback_name(job: ExportJob) -> str:
    stamp = job.filename.removesuffix(".xlsx").rpartition("台账-")[2]
    return f"{ASCII_NAMES[ledger.source_of(job.source).ledger]}-{stamp}.xlsx"


# -- asking for an export -------------------------------------------------------------------


def base_url_for(request_root: str) -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request_root).rstrip("/")


def export_ledger(
    source_name: str, filters: dict[str, Any], *, actor: User, base_url: str
) -> tuple[ExportJob, Response | None]:
    """Export the ledger of a list, filtered as `filters` say, as `actor` sees it.

    Returns (job, response): the file right away when the rows are few, else (job, None)
    with the job queued for the worker."""
    source = ledger.source_of(source_name)
    params = ledger.encode_params(filters)
    stmt = source.build(actor, ledger.decode_params(params))
    rows = ledger.count_rows(stmt)
    filename, fallback = _names(source.ledger)
    job = ExportJob(
        source=source_name,
        params=params,
        actor_id=actor.id,
        rows=rows,
        base_url=base_url,
        filename=filename,
    )
    db.session.add(job)
    if rows > current_app.config["LEDGER_SYNC_MAX_ROWS"]:
        db.session.flush()
        _audit(job, "export_queued")
        return job, None
    # At most LEDGER_SYNC_MAX_ROWS rows: a few MB, sent from memory.
    with tempfile.TemporaryFile() as sink:
        job.rows = ledger.write_ledger(source.ledger, stmt, actor, base_url, sink)
        sink.seek(0)
        content = sink.read()
    now = utcnow()
    job.status, job.started_at, job.finished_at = ExportStatus.done, now, now
    job.size = len(content)
    db.session.flush()
    _audit(job, "export")
    return job, bytes_response(content, filename=filename, fallback=fallback)


def _audit(job: ExportJob, action: str) -> None:
    audit.record(
        ENTITY,
        job.id,
        action,
        actor_id=job.actor_id,
        after={"source": job.source, "filters": job.params, "rows": job.rows},
    )


def record_document(
    actor: User, source: str, params: dict[str, Any], built: Built, filename: str
) -> ExportJob:
    """A document built in the request (a circular, an inspection report): its export row,
    done with no stored file (the console's list says 已直接下载), and its audit event."""
    now = utcnow()
    job = ExportJob(
        source=source,
        params=params,
        actor_id=actor.id,
        rows=built.rows,
        filename=filename[:120],
        status=ExportStatus.done,
        started_at=now,
        finished_at=now,
        size=len(built.content),
    )
    db.session.add(job)
    db.session.flush()
    _audit(job, "export")
    return job


# -- reading a job ---------------------------------------------------------------------------


def get_job(job_id: int, *, actor: User) -> ExportJob:
    """One's own export; anyone else's looks missing."""
    job = db.session.scalar(
        select(ExportJob).where(ExportJob.id == job_id, ExportJob.actor_id == actor.id)
    )
    if job is None:
        raise errors.NotFound("未找到该导出")
    return job


def recent_jobs(actor: User, limit: int = 50) -> list[ExportJob]:
    """One's own exports, newest first (at most `limit`)."""
    stmt = (
        select(ExportJob)
        .where(ExportJob.actor_id == actor.id)
        .order_by(ExportJob.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def job_file(job: ExportJob) -> Response:
    """The stored file of a finished job."""
    if job.status == ExportStatus.expired or (job.status == ExportStatus.done and job.key is None):
        raise errors.NotFound(
            "导出文件已过期删除或未保留，请重新导出", type="urn:problem:export-expired"
        )
    if job.status != ExportStatus.done:
        raise errors.Conflict("导出尚未完成，请稍后再试", type="urn:problem:export-not-ready")
    fallback = fallback_name(job)
    if job.size is not None and job.size <= SPOOL_BYTES:  # a few MB: from memory
        buffer = io.BytesIO()
        current_storage().get_to(job.key, buffer)
        return bytes_response(buffer.getvalue(), filename=job.filename, fallback=fallback)
    sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
    try:
        current_storage().get_to(job.key, sink)
    except Exception:
        sink.close()
        raise
    return file_response(sink, filename=job.filename, fallback=fallback, size=sink.tell())


# -- the worker ----------------------------------------------------------------------------


def run_export_jobs() -> dict[str, int] | None:
    """Worker job: write queued exports (a few per cycle), then sweep expired files."""
    done = failed = 0
    for _ in range(current_app.config["EXPORT_JOBS_PER_CYCLE"]):
        job = _claim()
        if job is None:
            break
        if _run(job):
            done += 1
        else:
            failed += 1
    swept = sweep_exports()
    if not (done or failed or swept):
        return None
    return {"exports_done": done, "exports_failed": failed, "exports_swept": swept}


def _claim() -> ExportJob | None:
    """Take the oldest queued job (or one whose worker died: lease passed) for this
    worker: a conditional UPDATE, so two workers never write the same job."""
    now = utcnow()
    J = ExportJob
    due = (J.status == ExportStatus.pending) | (
        (J.status == ExportStatus.running) & (J.lease_until < now)
    )
    candidate = db.session.scalar(select(J.id).where(due).order_by(J.created_at, J.id).limit(1))
    if candidate is None:
        db.session.commit()
        return None
    lease = now + timedelta(seconds=current_app.config["EXPORT_LEASE_SECONDS"])
    claimed = db.session.execute(
        update(J)
        .where(J.id == candidate, due)
        .values(status=ExportStatus.running, started_at=now, lease_until=lease)
    ).rowcount
    db.session.commit()
    if not claimed:
        return _claim()  # another worker took it; try the next one
    return db.session.get(J, candidate)


def _run(job: ExportJob) -> bool:
    try:
        actor = db.session.get(User, job.actor_id)
        if actor is None or not actor.active:
            raise errors.Forbidden("导出人已停用")
        source = ledger.source_of(job.source)
        stmt = source.build(actor, ledger.decode_params(job.params))
        key = f"exports/{uuid.uuid4().hex}.xlsx"
        with tempfile.TemporaryFile() as sink:
            rows = ledger.write_ledger(source.ledger, stmt, actor, job.base_url, sink)
            size = sink.tell()
            sink.seek(0)
            current_storage().put(key, sink, content_type=XLSX)
    except Exception as exc:
        db.session.rollback()
        log.exception("export %s failed", job.id)
        job = db.session.get(ExportJob, job.id)
        job.status, job.error, job.finished_at = ExportStatus.failed, str(exc)[:500], utcnow()
        db.session.commit()
        return False
    now = utcnow()
    job.status, job.key, job.rows, job.size = ExportStatus.done, key, rows, size
    job.finished_at, job.lease_until = now, None
    job.expires_at = now + timedelta(seconds=current_app.config["EXPORT_TTL_SECONDS"])
    _audit(job, "export")
    db.session.commit()
    return True


def sweep_exports() -> int:
    """Delete the files of exports past their expiry; the job row stays, as `expired`."""
    J = ExportJob
    expired = list(
        db.session.scalars(
            select(J).where(J.status == ExportStatus.done, J.expires_at < utcnow()).limit(100)
        )
    )
    storage = current_storage()
    for job in expired:
        if job.key:
            storage.delete(job.key)
        job.status, job.key = ExportStatus.expired, None
    db.session.commit()
    return len(expired)


# -- wiring ----------------------------------------------------------------------------------


def init_app(app) -> None:
    """The API lists' ledgers, and the worker's export job and sweep."""
    from inspections import queries
    from rectification import service as rectification

    ledger.register_source(
        app, ledger.LedgerSource("inspections", "inspections", queries.inspections_query)
    )
    ledger.register_source(
        app, ledger.LedgerSource("rectification", "rectification", rectification.tasks_query)
    )
    app.extensions.setdefault("worker_jobs", []).append(run_export_jobs)
