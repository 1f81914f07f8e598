"""Instructions a submission executes, counted by valgrind's callgrind, against the bare
insert's, in the same run: a figure that repeats within half a percent from run to run,
where this kind of machine's wall and CPU times drift by tens of percent within minutes
(bench/submit.py's lines). For comparing two commits: run this on each.

Each app runs in a child process under callgrind with collection off; after its warm-up
it says so, and collection is switched on (`callgrind_control -i on`) only while it
makes SUBMISSIONS requests as WSGI calls (no server, no socket), on SQLite. PostgreSQL's
work is in its server, which callgrind does not see, so there is no PostgreSQL line.

Lines: submit_instructions (millions per submission; baseline: the bare insert's),
with ratio_vs_bare. Skipped when valgrind is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SUBMISSIONS = 50
WARMUP = 30
DEADLINE_S = 600

TARGETS = {  # (module:app, path, authenticated)
    "ours": ("api", "/api/v1/inspections/submissions", True),
    "bare": ("bench._bare", "/rows", False),
}


def _child(target: str, database_url: str, tmp: str, signals: str) -> None:
    """Runs under callgrind: warm up, signal `ready`, wait for `go`, submit, signal
    `done`, wait for `exit`."""
    from bench import submit

    info = json.loads(Path(tmp, "info.json").read_text())
    module, path, authenticated = TARGETS[target]
    if module == "api":
        from api import create_app

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": database_url, "STORAGE_URL": f"file://{tmp}/photos"}
        )
    else:
        from bench import _bare

        os.environ["DATABASE_URL"] = database_url
        app = _bare.app
    headers = {"Authorization": f"Bearer {info['token']}"} if authenticated else {}
    units = info["units"]

    def bodies(n: int) -> list[dict]:
        return [submit.submission(units[i % len(units)]) for i in range(n)]

    submit.wsgi_cpu_ms(app, path, bodies(WARMUP), headers)
    measured = bodies(SUBMISSIONS)
    _signal(signals, "ready")
    _wait(signals, "go")
    submit.wsgi_cpu_ms(app, path, measured, headers)
    _signal(signals, "done")
    _wait(signals, "exit")


def _signal(folder: str, name: str) -> None:
    Path(folder, name).touch()


def _wait(folder: str, name: str, child: subprocess.Popen | None = None) -> None:
    """Until `name` appears in `folder`; or an error when `child` (the counted process)
    ended first or the deadline passed."""
    deadline = time.monotonic() + DEADLINE_S
    while not Path(folder, name).exists():
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"the counted process ended before '{name}'")
        if time.monotonic() > deadline:
            raise TimeoutError(name)
        time.sleep(0.05)


def _count(target: str, database_url: str, tmp: Path) -> float:
    """Millions of instructions per request of `target`."""
    signals = tempfile.mkdtemp(dir=tmp)
    out = tmp / f"callgrind.{target}"
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, "-m", "bench.instructions", target, database_url, str(tmp), signals,
    ]  # fmt: skip
    log = tmp / f"{target}.log"
    with log.open("wb") as output:
        child = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=Path(__file__).parent.parent
        )
    try:
        _wait(signals, "ready", child)
        subprocess.run(
            ["callgrind_control", "-i", "on", str(child.pid)], check=True, capture_output=True
        )
        _signal(signals, "go")
        _wait(signals, "done", child)
        subprocess.run(
            ["callgrind_control", "-i", "off", str(child.pid)], check=True, capture_output=True
        )
        _signal(signals, "exit")
        if child.wait(DEADLINE_S) != 0:
            raise RuntimeError(f"the counted process ended with {child.returncode}")
    except RuntimeError as exc:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"{target}: {exc}\n" + "\n".join(tail)) from None
    finally:
        if child.poll() is None:
            child.kill()
    totals = next(line for line in out.read_text().splitlines() if line.startswith("totals:"))
    return int(totals.split()[1]) / SUBMISSIONS / 1e6


def run() -> Iterator[dict]:
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        yield {"name": "submit_instructions", "value": None, "skipped": "valgrind is not installed"}
        return
    from bench import submit

    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp / 'bench.db'}"
        info = submit.prepare(url, tmp)  # (the bare app's table too)
        (tmp / "info.json").write_text(
            json.dumps({"units": info["units"], "token": info["inspector"][1]})
        )
        ours, bare = _count("ours", url, tmp), _count("bare", url, tmp)
    yield {
        "name": "submit_instructions",
        "value": round(ours, 3),
        "unit": "M instructions",
        "baseline": round(bare, 3),
        "ratio_vs_bare": round(bare / ours, 3),
        "backend": "sqlite",
        "requests": SUBMISSIONS,
    }


if __name__ == "__main__":
    _child(*sys.argv[1:5])
