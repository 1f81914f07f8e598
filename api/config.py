"""Configuration. The only module that reads the environment.

Every setting has a default that makes `make run` work on a bare machine (SQLite file,
photos in a local folder). There is no default secret: without `SECRET_KEY` a random one
is made once into `instance/secret_key` and reused; production (`APP_ENV=production`)
refuses to start without a real `SECRET_KEY`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from core.sqlite_writers import WriterQueueConnection

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def _mapping(name: str, default: str) -> dict[str, str]:
    """`a=1,b=2` → {"a": "1", "b": "2"}: small maps fit in one environment variable."""
    pairs = (item.partition("=") for item in os.environ.get(name, default).split(","))
    return {key.strip(): value.strip() for key, _, value in pairs if key.strip()}


class ConfigError(RuntimeError):
    pass


def from_environment() -> dict:
    env = os.environ.get("APP_ENV", "development")
    config = {
        "APP_ENV": env,
        # None: made once into instance/secret_key by check() (refused in production).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'inspection.db'}")
        ),
        # A pooled server connection idle this long is pinged before a request uses it
        # (0: every time); one given back more recently is taken as alive.
        "DATABASE_PING_IDLE_SECONDS": float(os.environ.get("DATABASE_PING_IDLE_SECONDS", "0.5")),
        # Photos: file:///path (default) or s3://bucket with the S3_* settings below.
        "STORAGE_URL": os.environ.get("STORAGE_URL", f"file://{INSTANCE / 'photos'}"),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
        "S3_ADDRESSING_STYLE": os.environ.get("S3_ADDRESSING_STYLE", "path"),
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
        # Originals are written once: puts carry If-None-Match: * (false: head, then put,
        # for a store that ignores the condition; media/s3.py says what that risks).
        "S3_CONDITIONAL_WRITES": _bool("S3_CONDITIONAL_WRITES", True),
        # Where the folder backend's signed URLs point: a path is put on the request's scheme
        # and host; an absolute URL (https://example.gov.cn/api/v1/media) is used as is.
        "MEDIA_BASE_URL": os.environ.get("MEDIA_BASE_URL", "/api/v1/media"),
        "PHOTO_URL_TTL_SECONDS": _int("PHOTO_URL_TTL_SECONDS", 300),
        "PHOTO_UPLOAD_TTL_SECONDS": _int("PHOTO_UPLOAD_TTL_SECONDS", 900),
        # How often the worker sweeps expired direct uploads and stray incoming/ objects.
        "MEDIA_SWEEP_SECONDS": _int("MEDIA_SWEEP_SECONDS", 600),
        # Pillow's own bomb limit; more pixels than this is refused before decoding.
        "PHOTO_MAX_PIXELS": _int("PHOTO_MAX_PIXELS", 89_478_485),
        # Memory one decode may take (width × height × bytes per pixel, read from the
        # header): 48 MB holds a 12 MP phone photo in RGBA. JPEGs count at the scale they
        # are decoded at. And how many decodes one process runs at once; the others wait
        # up to PHOTO_DECODE_WAIT_SECONDS, then get 503.
        "PHOTO_DECODE_BUDGET_MB": _int("PHOTO_DECODE_BUDGET_MB", 48),
        # PNGs Pillow must decode whole (interlaced, 16-bit, 1/2/4-bit): a smaller budget,
        # since 8-bit PNGs are decoded in strips at a fraction of their size (media/png.py).
        "PHOTO_PNG_FULL_DECODE_BUDGET_MB": _int("PHOTO_PNG_FULL_DECODE_BUDGET_MB", 4),
        "PHOTO_DECODE_CONCURRENCY": _int("PHOTO_DECODE_CONCURRENCY", 2),
        "PHOTO_DECODE_WAIT_SECONDS": float(os.environ.get("PHOTO_DECODE_WAIT_SECONDS", "10")),
        # The worker re-reads this many originals per run, every so many seconds, and
        # checks their SHA-256 and size against the database (`flask media verify`).
        "MEDIA_VERIFY_BATCH": _int("MEDIA_VERIFY_BATCH", 50),
        "MEDIA_VERIFY_SECONDS": _int("MEDIA_VERIFY_SECONDS", 3600),
        # Evidence checks (flags inform, they never block).
        "PHOTO_MAX_DISTANCE_M": _int("PHOTO_MAX_DISTANCE_M", 500),
        "PHOTO_WINDOW_SLACK_SECONDS": _int("PHOTO_WINDOW_SLACK_SECONDS", 600),
        # A photo taken this long before the check-in or after the submission is flagged.
        "PHOTO_TIME_SLACK_MINUTES": _int("PHOTO_TIME_SLACK_MINUTES", 30),
        "PHOTO_DUPLICATE_DISTANCE": _int("PHOTO_DUPLICATE_DISTANCE", 6),  # phash bits, ≤ 7
        # WeChat mini program
        "WECHAT_APP_ID": os.environ.get("WECHAT_APP_ID", ""),
        "WECHAT_APP_SECRET": os.environ.get("WECHAT_APP_SECRET", ""),
        "WECHAT_API_BASE": os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_TIMEOUT": float(os.environ.get("WECHAT_TIMEOUT", "5")),
        # Subscribe messages: the template the office picked in the mini program's admin
        # console (empty: WeChat is not used, the in-app inbox still is), its field keys
        # (key prefixes such as thing/time/phrase carry WeChat's length rules), the page a
        # tap opens, and which build of the mini program opens it (formal|trial|developer).
        "WECHAT_TASK_TEMPLATE_ID": os.environ.get("WECHAT_TASK_TEMPLATE_ID", ""),
        "WECHAT_TASK_TEMPLATE_FIELDS": _mapping(
            "WECHAT_TASK_TEMPLATE_FIELDS",
            "title=thing1,unit=thing2,due=time3,status=phrase4,note=thing5",
        ),
        "WECHAT_TASK_PAGE": os.environ.get("WECHAT_TASK_PAGE", "pages/rectification/detail"),
        "WECHAT_MINIPROGRAM_STATE": os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal"),
        # Rectification: deadlines, verification, reminders and escalation
        # (docs/rectification.md explains each).
        "RECTIFICATION_DAY_MODE": os.environ.get("RECTIFICATION_DAY_MODE", "working"),
        "RECTIFICATION_DAYS_BY_SEVERITY": {
            key: int(value)
            for key, value in _mapping(
                "RECTIFICATION_DAYS_BY_SEVERITY", "severe=3,major=7,general=15"
            ).items()
        },
        "RECTIFICATION_DEFAULT_DAYS": _int("RECTIFICATION_DEFAULT_DAYS", 10),
        "RECTIFICATION_VERIFIER": os.environ.get("RECTIFICATION_VERIFIER", "office"),
        "RECTIFICATION_REMIND_DAYS_BEFORE": _int("RECTIFICATION_REMIND_DAYS_BEFORE", 2),
        "RECTIFICATION_ESCALATE_AFTER_DAYS": _int("RECTIFICATION_ESCALATE_AFTER_DAYS", 3),
        # The outbox worker (`flask --app wsgi worker`)
        "OUTBOX_BATCH_SIZE": _int("OUTBOX_BATCH_SIZE", 20),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_BACKOFF_SECONDS": _int("OUTBOX_BACKOFF_SECONDS", 30),
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 120),
        "OUTBOX_RETENTION_DAYS": _int("OUTBOX_RETENTION_DAYS", 30),
        "WORKER_POLL_SECONDS": float(os.environ.get("WORKER_POLL_SECONDS", "5")),
        # Sign-in
        "TOKEN_TTL_SECONDS": _int("TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        "BINDING_CODE_TTL_SECONDS": _int("BINDING_CODE_TTL_SECONDS", 72 * 3600),
        # Sign-in limits (docs/sign-in.md): counters in memory by default
        # (one process); redis://host:6379 to share the counters between workers and hosts.
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "window-inspection"),
        # Budgets in the notation of `limits` ("5/minute;20/hour": both must hold).
        "SIGN_IN_LIMIT_PER_ADDRESS": os.environ.get(
            "SIGN_IN_LIMIT_PER_ADDRESS", "30/minute;300/hour"
        ),
        "SIGN_IN_LIMIT_PER_ACCOUNT_ADDRESS": os.environ.get(
            "SIGN_IN_LIMIT_PER_ACCOUNT_ADDRESS", "5/minute;10/15minutes;20/hour;50/day"
        ),
        "SIGN_IN_LIMIT_PER_ACCOUNT": os.environ.get("SIGN_IN_LIMIT_PER_ACCOUNT", "30/hour;100/day"),
        # An address the account signed in from within this many days is "usual": the
        # account-wide budget does not slow its owner down there.
        "SIGN_IN_KNOWN_ADDRESS_DAYS": _int("SIGN_IN_KNOWN_ADDRESS_DAYS", 30),
        # How many reverse proxies in front of the app add X-Forwarded-For (0: none, the
        # header is ignored; never more than really exist, or clients choose their address).
        # Their X-Forwarded-Proto and X-Forwarded-Host make the scheme and host of absolute
        # photo URLs; without proxies those headers are ignored.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # Host names this API answers to (Flask refuses others with 400): a request with a
        # forged Host header cannot make it sign URLs for another site. Empty: any host.
        "TRUSTED_HOSTS": [
            h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()
        ]
        or None,
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Bodies: JSON is small; photo uploads raise the limit for their own route.
        "MAX_CONTENT_LENGTH": _int("MAX_JSON_BYTES", 1024 * 1024),
        "MAX_PHOTO_BYTES": _int("MAX_PHOTO_BYTES", 25 * 1024 * 1024),
        "DEMO_PASSWORD": os.environ.get("DEMO_PASSWORD", "demo-window-2026"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", env == "production"),
        # flask-smorest / OpenAPI
        "API_TITLE": "窗口服务明察暗访 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": "明察暗访检查、照片证据与整改闭环的后端接口。"},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
        "PAGINATION_MAX_PER_PAGE": 100,
        # Inspections: check-in farther than this from the unit is flagged; inspectors see
        # their visits this many hours before the window opens (a plan may override it).
        "CHECKIN_RADIUS_M": _int("CHECKIN_RADIUS_M", 500),
        # An offline submission may reach the server this long after its check-in; an
        # older check-in time is refused (a phone's clock or queue gone wrong).
        "CHECKIN_MAX_AGE_DAYS": _int("CHECKIN_MAX_AGE_DAYS", 90),
        "VISIT_LEAD_HOURS": _int("VISIT_LEAD_HOURS", 24),
        # How long a worker reuses its choice of checklist version for new inspections.
        "CHECKLIST_CACHE_SECONDS": _int("CHECKLIST_CACHE_SECONDS", 5),
        # Ledger exports (docs/reports.md): up to this many rows are written in the request,
        # more by the worker; finished files are kept this long; links in the sheets use
        # PUBLIC_BASE_URL when set, else the address the request came to.
        "LEDGER_SYNC_MAX_ROWS": _int("LEDGER_SYNC_MAX_ROWS", 5_000),
        "EXPORT_TTL_SECONDS": _int("EXPORT_TTL_SECONDS", 24 * 3600),
        "EXPORT_LEASE_SECONDS": _int("EXPORT_LEASE_SECONDS", 1800),
        "EXPORT_JOBS_PER_CYCLE": _int("EXPORT_JOBS_PER_CYCLE", 2),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
    }
    return config


def engine_options(database_uri: str) -> dict:
    """A SQLite file's writers queue instead of sleeping in SQLite's busy handler
    (core.sqlite_writers). A server's connections are checked when they have lain idle
    (`core.db.ping_when_idle`, DATABASE_PING_IDLE_SECONDS), not by `pool_pre_ping` on
    every checkout."""
    if database_uri.startswith("sqlite"):
        return {"connect_args": {"factory": WriterQueueConnection}}
    return {}


def normalise_database_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


VERIFIERS = ("office", "inspector", "office_or_inspector")
DAY_MODES = ("working", "calendar")


def check(config: dict) -> None:
    """Refuse to run with settings that cannot work, or outside development with a missing
    or weak secret. In development and tests a missing secret is the instance's own random
    one (`instance_secret`), never a constant."""
    if config.get("RECTIFICATION_VERIFIER", "office") not in VERIFIERS:
        raise ConfigError(f"RECTIFICATION_VERIFIER must be one of {VERIFIERS}")
    if config.get("RECTIFICATION_DAY_MODE", "working") not in DAY_MODES:
        raise ConfigError(f"RECTIFICATION_DAY_MODE must be one of {DAY_MODES}")
    if not 1 <= config.get("CHECKIN_MAX_AGE_DAYS", 90) <= 3660:
        raise ConfigError("CHECKIN_MAX_AGE_DAYS must be between 1 and 3660")
    if config["APP_ENV"] in {"development", "testing"}:
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = instance_secret(INSTANCE)
        return
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < 32:
        raise ConfigError(
            "SECRET_KEY must be set to a random value of at least 32 characters "
            f"when APP_ENV={config['APP_ENV']!r}"
        )


def instance_secret(folder: Path) -> str:
    """This installation's secret in `folder/secret_key` (mode 0600), made on first start.

    Several gunicorn workers may start at once: each writes a candidate to its own
    temporary file and links it into place, which succeeds for exactly one of them (link
    never replaces, and the file is complete before it has its name); every worker then
    reads back the one that won."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigError(f"{path} holds no usable secret; delete it to make a new one")
    return secret
