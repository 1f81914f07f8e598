"""Inspection submission under gunicorn, against a bare Flask endpoint inserting the same
30 rows, in the same run, on the same database; then the office list with 100k
inspections on PostgreSQL against a bare count + page query.

Each submission is the offline one-request form: 30 answers, 5 failed (5 findings, each
with a photo reference), keyed by a fresh client UUID. Both servers run gunicorn with the
same sync workers on 127.0.0.1; the load is a fixed number of requests from a few threads,
so the run is bounded. PostgreSQL parts run when TEST_DATABASE_URL is set.

Lines: submit_rps (baseline: bare insert req/s), submit_ratio_vs_bare (target ≥ 0.33),
submit_p50_ms, submit_p99_ms (baseline: bare p99), submit_busy_share (the share of the
machine's cores that the servers, the database server and the load kept busy during the
measured rounds; baseline: the same for the bare app: a share well below the baseline's
means the submissions waited, for a lock say, rather than computed), submit_cpu_ms (the
CPU time one submission costs inside the worker, without HTTP, gunicorn or the load's own
client; baseline: the bare insert's), list_100k_p50_ms (baseline: bare page p50),
list_100k_p99_ms — each with "backend".
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from bench._postgres import temporary_database

WORKERS = 2
CONCURRENCY = 4
REQUESTS = 400
ROUNDS = 8  # alternating bare/ours rounds even out load from elsewhere on the machine
WARMUP = 20
LIST_REQUESTS = 150
LIST_ROWS = 100_000
DEADLINE_S = 120  # per measured target: a stuck server cannot hang the run
ROOT = Path(__file__).resolve().parent.parent

ITEMS = 30
FAILED = 5
CONTENT = {
    "name": "基准检查表",
    "sections": [
        {
            "code": f"s{s}",
            "title": f"第{s + 1}部分",
            "items": [
                {
                    "code": f"s{s}.i{i}",
                    "kind": "pass_fail",
                    "title": f"检查项 {s + 1}-{i + 1}",
                    "points": 3,
                    "photo": "on_fail",
                    "severity": "general",
                }
                for i in range(ITEMS // 3)
            ],
        }
        for s in range(3)
    ],
}
CODES = [item["code"] for section in CONTENT["sections"] for item in section["items"]]


def submission(unit) -> dict:
    answers = {code: {"result": "pass"} for code in CODES}
    photos = {}
    for code in CODES[:FAILED]:
        answers[code] = {"result": "fail", "note": "现场发现问题，已拍照"}
        photos[code] = [str(uuid.uuid4())]
    return {
        "client_uuid": str(uuid.uuid4()),
        "unit_id": unit["id"],
        "check_in": {"latitude": unit["lat"], "longitude": unit["lng"], "accuracy_m": 10.0},
        "answers": answers,
        "photos": photos,
    }


# -- servers and load ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS: dict[int, int] = {}  # port → gunicorn master's pid, while it serves


@contextlib.contextmanager
def gunicorn(app_path: str, env: dict[str, str], ready_path: str) -> Iterator[int]:
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-k", "sync",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_path,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ | env)
    SERVERS[port] = process.pid
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                status, _, _ = request(port, "GET", ready_path, None, {})
                if status < 500:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn {app_path} did not start")
            time.sleep(0.1)
        yield port
    finally:
        SERVERS.pop(port, None)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(port: int, method: str, path: str, body, headers) -> tuple[int, float, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method, path, body=data, headers={"Content-Type": "application/json"} | headers
        )
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    return response.status, (time.perf_counter() - started) * 1000, payload


def merged(rounds: list[dict]) -> dict:
    latencies = sorted(ms for r in rounds for ms in r["latencies"])
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "done": len(latencies),
        "failures": [f for r in rounds for f in r["failures"]],
    }


def load(port, method, path, bodies, headers, concurrency=CONCURRENCY) -> dict:
    """Throughput and latency percentiles of one `send`."""
    return merged([send(port, method, path, bodies, headers, concurrency)])


def measured(port, method, path, bodies, headers) -> dict:
    """`send`, and the machine's CPU seconds it took: the server's and PostgreSQL's
    (`servers_cpu`, None without /proc), this process's (the load's client threads). The
    /proc reads fall outside this process's span, so their own cost is not counted."""
    servers = servers_cpu(SERVERS[port])
    own = _own_cpu()
    result = send(port, method, path, bodies, headers)
    own = _own_cpu() - own
    after = servers_cpu(SERVERS[port])
    return result | {"cpu": None if servers is None else after - servers + own}


def send(port, method, path, bodies, headers, concurrency=CONCURRENCY) -> dict:
    """Send every body once from `concurrency` threads; each latency and the time taken."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    queue = list(bodies)
    deadline = time.monotonic() + DEADLINE_S

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            status, ms, _ = request(port, method, path, body, headers)
            with lock:
                latencies.append(ms)
                if status >= 300:
                    failures.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "seconds": time.perf_counter() - started,
        "failures": failures,
    }


# -- how busy the machine was -------------------------------------------------------------


def _cpu_seconds(wanted) -> float:
    """CPU seconds (user + system) used so far by the processes `wanted(pid, ppid, command)`
    picks, read from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, IndexError, UnicodeDecodeError):
            continue  # ended meanwhile
        if wanted(int(stat.parent.name), int(fields[1]), command):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def servers_cpu(server_pid: int) -> float | None:
    """CPU seconds so far of a gunicorn server (master and workers) and of every PostgreSQL
    process; None without /proc."""
    if not Path("/proc/self/stat").exists():
        return None
    return _cpu_seconds(
        lambda pid, ppid, command: (
            server_pid in (pid, ppid) or os.path.basename(command).startswith("postgres")
        )
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def busy_share(rounds: list[dict]) -> float | None:
    """The share of the cores kept busy over these rounds (None without /proc)."""
    if any(r["cpu"] is None for r in rounds):
        return None
    seconds = sum(r["seconds"] for r in rounds)
    return sum(r["cpu"] for r in rounds) / (seconds * (os.cpu_count() or 1))


# -- databases ----------------------------------------------------------------------------


def prepare(database_url: str, tmp: Path) -> dict:
    """Schema by migrations, a unit, an inspector, an office admin, the checklist, the
    bare table; tokens for both people."""
    from flask_migrate import upgrade

    from accounts import service as accounts
    from accounts.models import Role
    from api import create_app
    from bench._bare import metadata
    from checklists import service as checklists
    from core.db import db
    from org.models import Region, RegionLevel, Sector, Unit

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_URL": f"file://{tmp / 'photos'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        metadata.create_all(db.engine)
        region = Region(code="445281999", name="基准街道", level=RegionLevel.township)
        sector = Sector(code="bench", name="基准领域")
        db.session.add_all([region, sector])
        db.session.flush()
        units = [
            Unit(
                name=f"基准窗口单位{i}",
                sector_id=sector.id,
                region_id=region.id,
                latitude=23.3 + i / 1000,
                longitude=116.17,
            )
            for i in range(50)
        ]
        db.session.add_all(units)
        db.session.flush()
        template = checklists.create_template(
            {"code": "bench", "name": "基准检查表", "all_sectors": True},
            actor=None,
            content=CONTENT,
        )
        version = checklists.publish(checklists.list_versions(template)[0], actor=None)
        people = {}
        for role in (Role.inspector, Role.office_admin):
            user = accounts.create_user(
                {"username": f"bench_{role}", "display_name": "基准", "role": role}, actor=None
            )
            people[role] = (user.id, accounts.issue_token(user, "password")[0])
        db.session.commit()
        info = {
            "units": [{"id": u.id, "lat": u.latitude, "lng": u.longitude} for u in units],
            "version_id": version.id,
            "inspector": people[Role.inspector],
            "office": people[Role.office_admin],
        }
        db.engine.dispose()
    return info


def counts(database_url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.connect() as conn:
        inspections = conn.scalar(text("SELECT count(*) FROM inspection"))
        findings = conn.scalar(text("SELECT count(*) FROM finding"))
    engine.dispose()
    return inspections, findings


# -- the measurements ---------------------------------------------------------------------


def submit_vs_bare(backend: str, database_url: str, tmp: Path) -> Iterator[dict]:
    info = prepare(database_url, tmp)
    env = {"DATABASE_URL": database_url, "STORAGE_URL": f"file://{tmp / 'photos'}"}
    auth = {"Authorization": f"Bearer {info['inspector'][1]}"}
    units = info["units"]

    def bodies(n):
        return [submission(units[i % len(units)]) for i in range(n)]

    path = "/api/v1/inspections/submissions"
    with (
        gunicorn("bench._bare:app", env, "/ping") as bare_port,
        gunicorn("wsgi:app", env, "/healthz") as our_port,
    ):
        load(bare_port, "POST", "/rows", bodies(WARMUP), {})
        load(our_port, "POST", path, bodies(WARMUP), auth)
        # Alternate rounds so that load from elsewhere on the machine hits both alike.
        bare, ours = [], []
        for _ in range(ROUNDS):
            bare.append(measured(bare_port, "POST", "/rows", bodies(REQUESTS // ROUNDS), {}))
            ours.append(measured(our_port, "POST", path, bodies(REQUESTS // ROUNDS), auth))
        busy = {"ours": busy_share(ours), "bare": busy_share(bare)}
        bare, ours = merged(bare), merged(ours)
    inspections, findings = counts(database_url)
    expected = WARMUP + REQUESTS
    correct = not ours["failures"] and (inspections, findings) == (expected, FAILED * expected)
    common = {"backend": backend, "requests": ours["done"], "concurrency": CONCURRENCY}
    common |= {"workers": WORKERS, "correct": correct}
    if not correct:
        common["failures"] = ours["failures"][:10] + bare["failures"][:10]
        common["rows"] = {"inspections": inspections, "findings": findings}
    yield {"name": "submit_rps", "value": round(ours["rps"], 1), "unit": "req/s",
           "baseline": round(bare["rps"], 1)} | common  # fmt: skip
    yield {"name": "submit_ratio_vs_bare", "value": round(ours["rps"] / bare["rps"], 3),
           "unit": "ratio", "baseline": 1 / 3} | common  # fmt: skip
    yield {"name": "submit_p50_ms", "value": round(ours["p50"], 1), "unit": "ms",
           "baseline": round(bare["p50"], 1)} | common  # fmt: skip
    yield {"name": "submit_p99_ms", "value": round(ours["p99"], 1), "unit": "ms",
           "baseline": round(bare["p99"], 1)} | common  # fmt: skip
    if busy["ours"] is not None:
        yield {"name": "submit_busy_share", "value": round(busy["ours"], 3),
               "unit": "share of cores", "baseline": round(busy["bare"], 3),
               "cores": os.cpu_count()} | common  # fmt: skip
    yield from submit_cpu(backend, database_url, tmp, info)


CPU_REQUESTS = 300


def wsgi_cpu_ms(app, path: str, bodies: list[dict], headers: dict[str, str]) -> float:
    """CPU milliseconds per request of `app` called directly as WSGI (no server, no
    socket, no client): what a worker spends on the request itself."""

    def environ(body: bytes) -> dict:
        env = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        }  # fmt: skip
        env |= {"HTTP_" + name.upper().replace("-", "_"): v for name, v in headers.items()}
        return env

    payloads = [json.dumps(body).encode() for body in bodies]
    statuses = []

    def start_response(status, _headers, _exc_info=None):
        statuses.append(status)

    started = time.process_time()
    for payload in payloads:
        b"".join(app(environ(payload), start_response))
    spent = time.process_time() - started
    if not all(status.startswith("20") for status in statuses):
        raise RuntimeError(f"{path}: {sorted(set(statuses))}")
    return spent * 1000 / len(payloads)


def submit_cpu(backend: str, database_url: str, tmp: Path, info: dict) -> Iterator[dict]:
    """`submit_cpu_ms`: ours and the bare insert in this process, alternating rounds,
    each after a warm-up, on the database `submit_vs_bare` has just used. The CPU of this
    process only: SQLite's work is in it, a PostgreSQL server's is not."""
    from api import create_app
    from bench import _bare
    from core.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                      "STORAGE_URL": f"file://{tmp / 'photos'}"})  # fmt: skip
    auth = {"Authorization": f"Bearer {info['inspector'][1]}"}
    units = info["units"]

    def bodies(n):
        return [submission(units[i % len(units)]) for i in range(n)]

    path = "/api/v1/inspections/submissions"
    ours, bare = [], []
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url  # the bare app's engine, made on first use
    _bare.engine.cache_clear()
    try:
        wsgi_cpu_ms(app, path, bodies(WARMUP), auth)
        wsgi_cpu_ms(_bare.app, "/rows", bodies(WARMUP), {})
        for _ in range(ROUNDS):
            ours.append(wsgi_cpu_ms(app, path, bodies(CPU_REQUESTS // ROUNDS), auth))
            bare.append(wsgi_cpu_ms(_bare.app, "/rows", bodies(CPU_REQUESTS // ROUNDS), {}))
    finally:
        _bare.engine().dispose()
        _bare.engine.cache_clear()
        os.environ.pop("DATABASE_URL")
        if saved is not None:
            os.environ["DATABASE_URL"] = saved
        with app.app_context():
            db.engine.dispose()
    ours_ms, bare_ms = statistics.median(ours), statistics.median(bare)
    yield {
        "name": "submit_cpu_ms",
        "value": round(ours_ms, 3),
        "unit": "ms",
        "baseline": round(bare_ms, 3),
        "ratio_vs_bare": round(bare_ms / ours_ms, 3),
        "backend": backend,
        "requests": CPU_REQUESTS,
    }


FILL = """
INSERT INTO inspection (client_uuid, unit_id, kind, ad_hoc, inspector_id,
    checklist_version_id, status, started_at, checkin_far, answers, photos, fixed_on_spot,
    submitted_at, score, max_score, grade, critical_failed, findings_count, created_at,
    version)
SELECT gen_random_uuid(), (:units)[1 + g % :n_units], 'unannounced', true, :inspector,
    :version, CASE WHEN g % 4 = 0 THEN 'published' ELSE 'submitted' END,
    now() - g * interval '5 minutes', false, '{}', '{}', '[]',
    now() - g * interval '5 minutes', 60 + g % 41, 100, '合格', false, g % 3, now(), 1
FROM generate_series(1, :rows) AS g
"""


def list_100k(database_url: str, tmp: Path) -> Iterator[dict]:
    from sqlalchemy import create_engine

    info = prepare(database_url, tmp)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(FILL),
            {
                "units": [u["id"] for u in info["units"]],
                "n_units": len(info["units"]),
                "inspector": info["inspector"][0],
                "version": info["version_id"],
                "rows": LIST_ROWS,
            },
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    env = {"DATABASE_URL": database_url, "STORAGE_URL": f"file://{tmp / 'photos'}"}
    office = {"Authorization": f"Bearer {info['office'][1]}"}
    with gunicorn("bench._bare:app", env, "/ping") as port:
        load(port, "GET", "/page", [None] * WARMUP, {}, concurrency=1)
        bare = load(port, "GET", "/page", [None] * LIST_REQUESTS, {}, concurrency=1)
    paths = {
        "list_100k": "/api/v1/inspections?per_page=20",
        "list_100k_filtered": "/api/v1/inspections?per_page=20&status=published&score_min=80"
        "&has_findings=true",
    }
    with gunicorn("wsgi:app", env, "/healthz") as port:
        for name, path in paths.items():
            load(port, "GET", path, [None] * WARMUP, office, concurrency=1)
            ours = load(port, "GET", path, [None] * LIST_REQUESTS, office, concurrency=1)
            common = {"backend": "postgresql", "rows": LIST_ROWS, "correct": not ours["failures"]}
            yield {"name": f"{name}_p50_ms", "value": round(ours["p50"], 1), "unit": "ms",
                   "baseline": round(bare["p50"], 1)} | common  # fmt: skip
            yield {"name": f"{name}_p99_ms", "value": round(ours["p99"], 1), "unit": "ms",
                   "baseline": round(bare["p99"], 1)} | common  # fmt: skip


def run() -> Iterator[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
        tmp = Path(tmp)
        yield from submit_vs_bare("sqlite", f"sqlite:///{tmp / 'bench.db'}", tmp)
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            for name in ("submit_rps", "list_100k_p50_ms"):
                yield {"name": name, "backend": "postgresql", "value": None,
                       "skipped": "TEST_DATABASE_URL is not set"}  # fmt: skip
            return
        with temporary_database(server, "bench_inspections") as url:
            yield from submit_vs_bare("postgresql", url, tmp)
        with temporary_database(server, "bench_inspections") as url:
            yield from list_100k(url, tmp)
