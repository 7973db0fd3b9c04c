"""Benchmark: CPU instructions per request in the web process (ping vs the worker loop).

    .venv/bin/python tests/benchmarks/count_instructions.py [--requests 200]

req/s on this shared 2-core machine moves by ±20 % within minutes, more than most single
changes to the hot path do. Instruction counts do not: valgrind (callgrind) counts every
instruction the Python process executes, the same for the same code and inputs whatever else
the machine is doing. This script builds the same database as bench_next_task.py, then runs
three child processes under valgrind, each calling the Django application in-process (WSGI,
full middleware, token auth (`--auth session`: the worker app's session cookie and CSRF
header), real PostgreSQL, no HTTP server):
- warm-up only (imports, connection, prepared statements),
- warm-up + N × GET /api/v1/ping/ (the trivial authenticated endpoint),
- warm-up + N/2 × (POST next/ then submit/) — N requests of the worker loop,
and prints instructions per request of each and their ratio. Takes ~3 minutes.

With `--postgres` it also counts PostgreSQL's side: it makes a scratch cluster (initdb as the
`postgres` user in a temporary folder, its own port), seeds it natively, restarts it under
valgrind, runs the same three children natively against it and reads the instructions of
each child's backend process (valgrind writes one count per forked backend when it exits).
The web and database counts together are the whole cost of a request but for the kernel and
the load generator: on this 2-core machine, where all three share the cores, that is what the
req/s ratio of bench_next_task.py measures, without its noise. Adds ~1 minute.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_next_task as bench  # noqa: E402  (sets DATABASE_URL to the bench database)

from tests.ports import free_port  # noqa: E402  (bench_next_task put the project on the path)

WARM_UP = 50
# The environment of every measured child. The same string hashes in every child, so dict and
# set work does not vary between runs. OpenBLAS (imported with the quality app's numerical
# libraries) keeps worker threads that spin for a while after start-up; how long they spin
# under valgrind varies run to run.
_CHILD_ENV = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}


def child(mode: str, requests: int, credential: str) -> None:
    """One measured child (under valgrind, or natively against a valgrind-run PostgreSQL):
    warm up, then `requests` requests of `mode` through WSGI; prints its backend's pid."""
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # Long enough that a slow valgrind run never reconnects mid-way (a reconnect costs ~1 M).
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "3600")
    # The application gunicorn loads (views imported, start-up objects frozen out of the
    # garbage collector's way), called directly; loading it sets Django up, so it comes first.
    import importlib

    app = importlib.import_module("annotation_server.wsgi").application
    expiry = importlib.import_module("annotation_server.assignments.expiry")

    # A claim sweeps stale assignments every few seconds of wall-clock time; under valgrind
    # that would run a varying number of times. Real servers do it ~once per 3,000 requests.
    expiry.EXPIRY_CHECK_EVERY_S = float("inf")

    # The request headers that authenticate (bench_next_task.credentials), as WSGI keys.
    headers = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in json.loads(credential).items()
    }

    def call(method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            **headers,
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
        }
        status = []
        content = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        return status[0], content

    def ping() -> None:
        status, _ = call("GET", "/api/v1/ping/")
        assert status.startswith("200"), status

    def loop() -> None:
        status, body = call("POST", "/api/v1/assignments/next/", b"{}")
        assert status.startswith("200"), (status, body)
        assignment = json.loads(body)["id"]
        path = f"/api/v1/assignments/{assignment}/submit/"
        status, body = call("POST", path, bench.ANSWERS.encode())
        assert status.startswith("201"), (status, body)

    for _ in range(WARM_UP):
        ping()
        loop()
    if mode == "ping":
        for _ in range(requests):
            ping()
    elif mode == "loop":
        for _ in range(requests // 2):
            loop()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print(f"backend pid {cursor.fetchone()[0]}", flush=True)


def _child_command(mode: str, requests: int, credential: str) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--requests",
        str(requests),
        "--credential",
        credential,
    ]


def count(
    valgrind: str, mode: str, requests: int, credential: str, keep: Path | None = None
) -> int:
    out_file = "/dev/null" if keep is None else str(keep / f"web-{mode}.out")
    result = subprocess.run(
        [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={out_file}",
            *_child_command(mode, requests, credential),
        ],
        capture_output=True,
        text=True,
        env=_CHILD_ENV,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"the {mode} run failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))


def _user_name() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _as_postgres(*command: str) -> None:
    done = subprocess.run([*_as_postgres_user(), *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{Path(command[0]).name} failed:\n{done.stderr or done.stdout}")


def _stop(bindir: Path, data: Path, mode: str) -> None:
    command = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "stop", "-m", mode]
    subprocess.run([*_as_postgres_user(), *command], capture_output=True)


def _postgres_bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if (Path(bindir.stdout.strip()) / "initdb").exists():
            return Path(bindir.stdout.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise SystemExit("--postgres needs PostgreSQL's server binaries (initdb)")
    return found[-1].parent


def _wait_ready(bindir: Path, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        )
        if ready.returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit(f"the scratch PostgreSQL on port {port} did not start in {seconds:.0f} s")


def count_postgres(
    valgrind: str, requests: int, auth: str, keep: Path | None = None
) -> dict[str, int]:
    """Instructions of the backend serving each child, on a scratch cluster under valgrind.

    With `keep`, each child's callgrind file is copied there as `postgres-<mode>.out` (for
    `callgrind_annotate --inclusive=yes`)."""
    if os.geteuid() != 0 and _user_name() != "postgres":
        raise SystemExit("--postgres runs initdb and postgres: run it as root or as postgres")
    bindir = _postgres_bindir()
    folder = Path(tempfile.mkdtemp(prefix="pg-instructions-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    options = f"-p {port} -k {folder} -c autovacuum=off -c listen_addresses=127.0.0.1"
    url = f"postgres://postgres@127.0.0.1:{port}/annot_instructions"
    server = None
    try:
        _as_postgres(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
        )
        _as_postgres(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        )
        env = {**os.environ, "BENCH_DATABASE_URL": url}
        # Seed natively (fast), then count under valgrind.
        seeded = subprocess.run(
            [sys.executable, __file__, "--seed-only", "--auth", auth],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        credential = seeded.stdout.strip().splitlines()[-1]
        _stop(bindir, data, "fast")
        server = subprocess.Popen(
            [
                *_as_postgres_user(),
                valgrind,
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/cg.%p",
                str(bindir / "postgres"),
                "-D",
                str(data),
                *options.split(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_ready(bindir, port, 120)
        # The first backend after a start rebuilds the catalog cache file (~8 M instructions);
        # let a throwaway connection pay for that, not the first measured child.
        import psycopg

        psycopg.connect(url).close()
        totals = {}
        for mode in ("none", "ping", "loop"):
            print(f"valgrind (PostgreSQL): {mode} ...", flush=True)
            out = subprocess.run(
                _child_command(mode, requests, credential),
                env={**env, **_CHILD_ENV, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            pid = re.search(r"backend pid (\d+)", out).group(1)
            result = folder / f"cg.{pid}"
            for _ in range(100):  # the backend writes its counts as it exits
                if result.exists() and "totals:" in result.read_text(errors="replace"):
                    break
                time.sleep(0.2)
            totals[mode] = int(re.search(r"^totals: (\d+)", result.read_text(), re.M).group(1))
            if keep is not None:
                shutil.copy(result, keep / f"postgres-{mode}.out")
        return totals
    finally:
        _stop(bindir, data, "fast" if server is not None else "immediate")
        if server is not None:
            server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def seed_database(auth: str) -> str:
    """Drop, recreate, migrate and seed the bench database; return one account's
    authenticating headers (JSON).

    No ANALYZE, as in bench_next_task.py (this machine's PostgreSQL runs without autovacuum):
    with statistics of its 50 accounts, PostgreSQL reads the token and role tables by
    sequential scan and hash join, which costs the trivial endpoint 2.3 times more
    instructions (0.28 against 0.12 M) than the index lookups a real user table gets."""
    bench.recreate_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    _, tokens = bench.seed()
    return json.dumps(bench.credentials(tokens[:1], auth)[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="requests per measured run")
    parser.add_argument("--child", choices=["none", "ping", "loop"], help=argparse.SUPPRESS)
    parser.add_argument("--credential", help=argparse.SUPPRESS)
    parser.add_argument(
        "--auth",
        choices=["token", "session"],
        default="token",
        help="authenticate with an API token (default) or as the worker app (session, CSRF)",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also count PostgreSQL's instructions"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder to keep the callgrind files in (web-<mode>.out, postgres-<mode>.out)",
    )
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keep is not None:
        if args.keep.exists() and not args.keep.is_dir():
            raise SystemExit(f"--keep: {args.keep} exists and is not a folder")
        args.keep.mkdir(parents=True, exist_ok=True)
        args.keep = args.keep.resolve()
    if args.child:
        child(args.child, args.requests, args.credential)
        return 0
    if args.seed_only:
        print(seed_database(args.auth))
        return 0
    if args.requests < 100:
        # Python's occasional full garbage collection (millions of instructions) lands in a
        # short window or not: 20 requests gave loop counts from 2.3 to 2.9 M.
        raise SystemExit("--requests: give 100 or more (fewer give unstable counts)")
    valgrind = bench.ensure_tool("valgrind")
    credential = seed_database(args.auth)
    counts = {}
    for mode in ("none", "ping", "loop"):
        print(f"valgrind (web): {mode} ...", flush=True)
        counts[mode] = count(valgrind, mode, args.requests, credential, args.keep)
    db = count_postgres(valgrind, args.requests, args.auth, args.keep) if args.postgres else None
    measured = args.requests // 2 * 2

    def per_request(totals: dict[str, int]) -> tuple[float, float]:
        return (
            (totals["ping"] - totals["none"]) / args.requests,
            (totals["loop"] - totals["none"]) / measured,
        )

    ping, loop = per_request(counts)
    print(f"instructions per request (callgrind, {args.requests} requests after warm-up):")
    print(f"{'':32}{'web':>9}{'database':>10}{'both':>9}")
    rows = [("GET /ping/ (baseline)", ping), ("claim+submit loop, per req", loop)]
    db_ping, db_loop = per_request(db) if db else (None, None)
    for (label, web), database in zip(rows, (db_ping, db_loop), strict=True):
        both = f"{(web + database) / 1e6:8.3f}M" if database is not None else ""
        db_text = f"{database / 1e6:9.3f}M" if database is not None else ""
        print(f"  {label:30}{web / 1e6:8.3f}M{db_text:>10}{both:>9}")
    print(f"  loop / ping: web {loop / ping:.2f}", end="")
    if db:
        print(
            f", database {db_loop / db_ping:.2f}, both {(loop + db_loop) / (ping + db_ping):.2f}"
            f" (60 % of ping's throughput needs ≤ 1.67)"
        )
    else:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
