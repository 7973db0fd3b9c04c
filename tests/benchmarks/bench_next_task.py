"""Benchmark: next-task latency and throughput under gunicorn on PostgreSQL.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/annot_bench_next \\
        .venv/bin/python tests/benchmarks/bench_next_task.py [--seconds 5] [--rounds 3]

Builds (drops and recreates) its own database with one published batch of 20,000 pairs × K=3
and 50 annotator accounts, prints EXPLAIN ANALYZE of the claim's pair query, starts gunicorn on a
loopback port (gthread, one process per core, 3 threads each, `--reuse-port`; see
`server_layout`, and BENCH_WORKERS / BENCH_THREADS / BENCH_WORKER_CLASS / BENCH_REUSE_PORT=0
to change it), then at concurrency 1, 20 and 50 measures:
- the trivial authenticated endpoint GET /api/v1/ping/ (the baseline), and
- the worker loop: POST /api/v1/assignments/next/ (always a fresh claim) then submit
  (every 10th pair is skipped instead), each client its own account. With
  `--claims prefetch` the loop follows the worker app's own order instead: each claim asks
  for the next pair with `{"prefetch": true}` while one is open, then the older is submitted
  (two open per account, as in the browser).
Every request authenticates with the account's API token, or with `--auth session` as the
worker's browser does (session cookie, CSRF cookie and header) — the baseline too.
With `--items`, each round also runs the same loop on a classification batch of as many image
items (claims name that batch, submits send a harmful verdict and a category) with its own 50
accounts, and prints its throughput against the pairwise loop's of the same round.
It prints p50/p95/p99 latency, requests/s, the ratio against the baseline, and finally checks
the database: no pair above K, `taken` equal to its open + submitted assignments, nobody with
a pair twice.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/annot_bench_next"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
os.environ.setdefault("CELERY_BROKER_URL", "")

PAIRS, K, ACCOUNTS = 20_000, 3, 50
ITEMS_BATCH = "bench-items"
VIDEOS_PER_PROMPT = 5  # 10 pairs per prompt
SKIP = '{"reason": "unsure"}'
ANSWERS = json.dumps(
    {
        "sub_preferences": {
            "instruction_following": "left",
            "correctness": "right",
            "information": "left",
            "aesthetics": "left",
        },
        "harm_labels": {"left": [], "right": ["violence"]},
        "helpfulness": "left",
        "harmlessness": "right",
        "timings": {"stage1_ms": 30000, "stage2_ms": 5000},
    }
)


def recreate_database() -> None:
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    admin_url = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> tuple[object, list[str]]:
    """One published batch of PAIRS pairs and ACCOUNTS annotators; returns (batch, tokens)."""
    from itertools import combinations

    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation_server.accounts import roles
    from annotation_server.batches.models import Batch, Pair
    from annotation_server.catalog.models import Prompt, Video

    prompts_needed = PAIRS // 10
    prompts = Prompt.objects.bulk_create(
        Prompt(prompt_id=f"p{i:05d}", text=f"Prompt {i}", prompt_type="safety_neutral")
        for i in range(prompts_needed)
    )
    videos = Video.objects.bulk_create(
        Video(
            prompt=p,
            video_id=f"{p.prompt_id}-v{j}",
            video_text=p.text,
            generated_from="M",
            source=f"videos/source/{p.prompt_id}-{j}.mp4",
            sha256=f"{p.pk:058d}{j:06d}",
            status=Video.Status.READY,
            rendition=f"r/{p.prompt_id}-{j}.mp4",
            duration_s=2.0,
        )
        for p in prompts
        for j in range(VIDEOS_PER_PROMPT)
    )
    batch = Batch.objects.create(name="bench", overlap=K, status=Batch.Status.PUBLISHED)
    rows = []
    for start in range(0, len(videos), VIDEOS_PER_PROMPT):
        group = videos[start : start + VIDEOS_PER_PROMPT]
        for a, b in combinations(group, 2):
            rows.append(
                Pair(
                    batch=batch,
                    prompt_id=a.prompt_id,
                    video_0=a,
                    video_1=b,
                    pair_id=f"{a.video_id}-{b.video_id}",
                )
            )
    Pair.objects.bulk_create(rows, batch_size=5000)
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"bench{i:03d}") for i in range(ACCOUNTS))
    roles.role_groups()[roles.ANNOTATOR].user_set.add(*users)
    tokens = [Token.objects.create(user=u).key for u in users]
    return batch, tokens


def seed_items() -> tuple[object, list[str]]:
    """A published classification batch of PAIRS image items (below the pairwise batch's
    priority, so plain claims keep going there) and ACCOUNTS accounts of its own."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation_server.accounts import roles
    from annotation_server.batches.models import Batch, Pair
    from annotation_server.catalog.models import MediaType, Taxonomy, Video

    images = Video.objects.bulk_create(
        (
            Video(
                video_id=f"img{i:06d}", media_type=MediaType.IMAGE, video_text="",
                generated_from="", source=f"images/source/{i}.png", sha256=f"{i:064d}",
                status=Video.Status.READY, rendition=f"images/r/{i}.webp",
            )
            for i in range(PAIRS)
        ),
        batch_size=5000,
    )  # fmt: skip
    batch = Batch.objects.create(
        name=ITEMS_BATCH,
        kind=Batch.Kind.CLASSIFICATION,
        taxonomy=Taxonomy.objects.get(name="safesora", version=1),
        overlap=K,
        priority=-1,
        status=Batch.Status.PUBLISHED,
    )
    Pair.objects.bulk_create(
        (Pair(batch=batch, video_0=v, pair_id=v.video_id) for v in images), batch_size=5000
    )
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"items{i:03d}") for i in range(ACCOUNTS))
    roles.role_groups()[roles.ANNOTATOR].user_set.add(*users)
    return batch, [Token.objects.create(user=u).key for u in users]


def credentials(tokens: list[str], auth: str) -> list[dict[str, str]]:
    """Each account's request headers: its API token, or (`auth="session"`) what the worker's
    browser sends — the session cookie of a logged-in session and the CSRF cookie and header."""
    if auth == "token":
        return [{"Authorization": f"Token {token}"} for token in tokens]
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
    from rest_framework.authtoken.models import Token

    result = []
    for token in Token.objects.filter(key__in=tokens).select_related("user"):
        session = SessionStore()  # as django.contrib.auth.login leaves it
        session[SESSION_KEY] = str(token.user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = token.user.get_session_auth_hash()
        session.save()
        secret = _get_new_csrf_string()
        result.append(
            {
                "Cookie": f"sessionid={session.session_key}; csrftoken={secret}",
                "X-CSRFToken": _mask_cipher_secret(secret),
            }
        )
    return result


def explain_claim(batch, label: str) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from annotation_server.assignments.selectors import regular_candidates

    user = get_user_model().objects.get(username="bench000")
    qs = regular_candidates(batch=batch, annotator=user).select_for_update(
        skip_locked=True, of=("self",)
    )[:1]
    with transaction.atomic():
        plan = qs.explain(analyze=True)
    print(f"\n-- EXPLAIN ANALYZE of the claim query, ORM/SQLite form ({label}):\n{plan}\n")


def count_queries(headers: dict[str, str]) -> None:
    """SQL statements per request, in-process: the part of the cost that load cannot blur."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(**{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    counts = {}
    for label, call in (
        ("GET /ping/", lambda: client.get("/api/v1/ping/")),
        ("GET /me/", lambda: client.get("/api/v1/me/")),
        ("POST next/ (new claim)", lambda: client.post("/api/v1/assignments/next/", {}, "json")),
        ("POST next/ (resume)", lambda: client.post("/api/v1/assignments/next/", {}, "json")),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = call()
        counts[label] = len(captured)
        if label.endswith("(resume)"):
            assignment = response.json()["id"]
    with CaptureQueriesContext(connection) as captured:
        client.post(f"/api/v1/assignments/{assignment}/submit/", json.loads(ANSWERS), "json")
    counts["POST submit/"] = len(captured)
    print("SQL statements per request (BEGIN/COMMIT/SAVEPOINT included):")
    for label, n in counts.items():
        print(f"  {label:<24} {n}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_layout() -> dict:
    """gunicorn's layout for the run. One process per core by default: each process runs
    Python under its own GIL, so two cores need two processes, and more processes than cores
    only time-slice the same cores. `--reuse-port` gives each process its own listening socket
    and lets the kernel spread connections over them; with one shared socket, the process that
    wakes first accepts most of a burst of keep-alive connections (wrk opens all of them at
    once), and one GIL then serves up to all of the clients while the other core idles."""
    return {
        "workers": _env_count("BENCH_WORKERS", os.cpu_count() or 2),
        "threads": _env_count("BENCH_THREADS", 3),
        "worker_class": os.environ.get("BENCH_WORKER_CLASS", "gthread"),
        "reuse_port": os.environ.get("BENCH_REUSE_PORT", "1") not in ("0", "false", "no"),
    }


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name}={raw!r}: give a whole number of 1 or more (default {default}).")
    return int(raw)


def start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_DB,
        "DATABASE_CONN_MAX_AGE": "60",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "ERROR",
    }
    layout = server_layout()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "annotation_server.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(layout["workers"]),
            "-k",
            layout["worker_class"],
            "--threads",
            str(layout["threads"]),
            "--log-level",
            "warning",
            *(["--reuse-port"] if layout["reuse_port"] else []),
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/ping/")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


class Client:
    """One keep-alive connection, one account."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {**headers, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, (time.perf_counter() - started) * 1000


def run_phase(port: int, accounts: list[dict], concurrency: int, seconds: float, kind: str) -> dict:
    lat: dict[str, list[float]] = {"main": [], "submit": []}
    counts = {"requests": 0, "errors": 0, "empty": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    barrier = threading.Barrier(concurrency)

    def loop(headers: dict[str, str]) -> None:
        client = Client(port, headers)
        mine: dict[str, list[float]] = {"main": [], "submit": []}
        n = errors = empty = skips = 0
        barrier.wait()
        while time.perf_counter() < deadline:
            if kind in ("ping", "me"):
                status, _, ms = client.call("GET", f"/api/v1/{kind}/")
                mine["main"].append(ms)
                n += 1
                errors += status != 200
                continue
            status, body, ms = client.call("POST", "/api/v1/assignments/next/", "{}")
            mine["main"].append(ms)
            n += 1
            if status == 204:
                empty += 1
                break
            if status != 200:
                errors += 1
                continue
            assignment = json.loads(body)["id"]
            skips += 1
            if skips % 10 == 0:
                path, payload, ok = (f"/api/v1/assignments/{assignment}/skip/", SKIP, 200)
            else:
                path, payload, ok = f"/api/v1/assignments/{assignment}/submit/", ANSWERS, 201
            status, _, ms = client.call("POST", path, payload)
            mine["submit"].append(ms)
            n += 1
            errors += status != ok
        with lock:
            for key in lat:
                lat[key].extend(mine[key])
            counts["requests"] += n
            counts["errors"] += errors
            counts["empty"] += empty

    started = time.perf_counter()
    threads = [
        threading.Thread(target=loop, args=(accounts[i % len(accounts)],))
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "lat": lat,
        "rps": counts["requests"] / elapsed,
        "main_rps": len(lat["main"]) / elapsed,
        **counts,
    }


WRK_SCRIPT = Path(__file__).with_name("next_task.lua")
_EXPECTED = {"ping": 200, "me": 200, "claim": 200, "submit": 201, "skip": 200}


def ensure_tool(command: str, hint: str = "") -> str:
    """Path of a benchmark tool from the Debian package of the same name, installed when
    missing (wrk, valgrind)."""
    path = shutil.which(command)
    if path is None:
        print(f"installing {command} (apt-get install {command}) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", command], check=True, env=env)
        path = shutil.which(command)
    if path is None:
        raise SystemExit(f"{command} is needed: apt-get install {command}{hint}")
    return path


def ensure_wrk() -> str:
    """Path of wrk (C, epoll, LuaJIT)."""
    return ensure_tool("wrk", " (or run with --client python)")


def run_phase_wrk(port: int, accounts: list[dict], concurrency: int, seconds: float, kind: str):
    """Same measurement as run_phase, with wrk as the load generator (one thread, one
    connection and one account per client); each request is timed inside wrk's Lua.
    `kind` "app" is the loop in the worker app's order (prefetch claims)."""
    split: list[int] = []
    sampler = threading.Timer(seconds / 4, lambda: split.extend(connection_split(port)))
    cpu_before = cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "samples.txt"
        # One line per account, its headers separated by tabs.
        lines = "\n".join("\t".join(f"{k}: {v}" for k, v in h.items()) for h in accounts)
        env = {**os.environ, "BENCH_HEADERS": lines, "BENCH_OUT": str(out)}
        mode = kind if kind in ("ping", "me", "app", "items") else "loop"
        sampler.start()
        subprocess.run(
            [
                ensure_wrk(),
                "-t",
                str(concurrency),
                "-c",
                str(concurrency),
                "-d",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(WRK_SCRIPT),
                f"http://127.0.0.1:{port}",
                "--",
                mode,
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        lines = out.read_text().split("\n")
    cpu_after = cpu_seconds()
    sampler.join()
    lat: dict[str, list[float]] = {"main": [], "submit": []}
    counts = {"requests": 0, "errors": 0, "empty": 0}
    duration_s = seconds
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            if parts[0] == "duration_us":
                duration_s = int(parts[1]) / 1e6
            else:
                counts["errors"] += int(parts[1])
            continue
        if len(parts) != 3:
            continue
        what, code, micros = parts[0], int(parts[1]), int(parts[2]) / 1000
        counts["requests"] += 1
        lat["submit" if what in ("submit", "skip") else "main"].append(micros)
        if what == "claim" and code == 204:
            counts["empty"] += 1
        elif code != _EXPECTED[what]:
            counts["errors"] += 1
    return {
        "lat": lat,
        "rps": counts["requests"] / duration_s,
        "main_rps": len(lat["main"]) / duration_s,
        "split": split,
        "cpu": {group: cpu_after[group] - cpu_before.get(group, 0.0) for group in cpu_after},
        **counts,
    }


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the web server (gunicorn), PostgreSQL's processes and the
    load generator (this script's finished children, i.e. wrk), from /proc (Linux only).
    The difference over a phase, per request, says where the cost of a request goes; on this
    shared 2-core machine it moves less than req/s does."""
    totals = {"web": 0.0, "db": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        group = "web" if b"gunicorn" in cmdline else "db" if name.startswith("postgres") else None
        if group:
            fields = stat[stat.rindex(")") + 2 :].split()
            # utime + stime, and cutime + cstime: a backend that exits during a phase leaves
            # /proc, and its time moves to the postmaster that reaped it (without these two
            # a phase could show negative database CPU).
            totals[group] += sum(int(value) for value in fields[11:15]) / tick
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["wrk"] = children.ru_utime + children.ru_stime
    return totals


def fmt_cpu(result: dict) -> str:
    """CPU ms per request by process group, summed over the merged phases."""
    cpu = result.get("cpu") or {}
    if not cpu or not result["requests"]:
        return ""
    return "cpu ms/req " + " ".join(
        f"{group} {seconds * 1000 / result['requests']:.2f}" for group, seconds in cpu.items()
    )


def connection_split(port: int) -> list[int]:
    """Established client connections per gunicorn process, largest first (from `ss`; empty
    when iproute2 is missing). An uneven split means one GIL serves most of the clients."""
    if shutil.which("ss") is None:
        return []
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
    ).stdout
    per_pid: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        per_pid[pid] = per_pid.get(pid, 0) + 1
    return sorted(per_pid.values(), reverse=True)


def fmt_split(result: dict) -> str:
    splits = result.get("splits") or [result.get("split") or []]
    return " ".join("+".join(map(str, split)) or "?" for split in splits)


def merge(results: list[dict]) -> dict:
    """Several phases of one kind as one: latencies pooled, rates averaged."""
    return {
        "lat": {key: [v for r in results for v in r["lat"][key]] for key in ("main", "submit")},
        "rps": statistics.mean(r["rps"] for r in results),
        "main_rps": statistics.mean(r["main_rps"] for r in results),
        "splits": [r.get("split") or [] for r in results],
        "cpu": {
            group: sum((r.get("cpu") or {}).get(group, 0.0) for r in results)
            for group in ("web", "db", "wrk")
            if any(group in (r.get("cpu") or {}) for r in results)
        },
        **{key: sum(r[key] for r in results) for key in ("requests", "errors", "empty")},
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50):6.1f}  p95 {pct(values, 95):6.1f}  p99 {pct(values, 99):6.1f} ms"


def check_invariants(batch) -> list[str]:
    from django.db import connection

    problems = []
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT p.id, p.taken, COUNT(a.id) FILTER (WHERE a.status IN ('open','submitted')
                                                      AND NOT a.is_gold)
            FROM batches_pair p LEFT JOIN assignments_assignment a ON a.pair_id = p.id
            WHERE p.batch_id = %s GROUP BY p.id
            HAVING p.taken <> COUNT(a.id) FILTER (WHERE a.status IN ('open','submitted')
                                                  AND NOT a.is_gold) OR p.taken > %s""",
            [batch.pk, K],
        )
        problems += [f"pair {r[0]}: taken {r[1]} vs {r[2]} live" for r in cur.fetchall()]
        cur.execute(
            """SELECT pair_id, COUNT(*) FROM annotations_annotation
                       GROUP BY pair_id HAVING COUNT(*) > %s""",
            [K],
        )
        problems += [f"pair {r[0]}: {r[1]} annotations > K" for r in cur.fetchall()]
        cur.execute("""SELECT pair_id, annotator_id FROM assignments_assignment
                       GROUP BY 1, 2 HAVING COUNT(*) > 1""")
        problems += [f"pair {r[0]} twice for {r[1]}" for r in cur.fetchall()]
        cur.execute("SELECT COUNT(*) FROM annotations_annotation")
        print(f"annotations stored: {cur.fetchone()[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one phase")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 20, 50])
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline/loop phase pairs per concurrency"
    )
    parser.add_argument(
        "--auth",
        choices=["token", "session"],
        default="token",
        help="how every request authenticates: an API token (default), or as the worker's "
        "browser does (session cookie, CSRF header)",
    )
    parser.add_argument(
        "--claims",
        choices=["fresh", "prefetch"],
        default="fresh",
        help="the loop's claims: a fresh claim, then its submit (default), or the worker "
        "app's order: the next pair claimed with prefetch while one is open (wrk only)",
    )
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk",
        help="load generator: wrk (C, default) or Python threads (http.client)",
    )
    parser.add_argument(
        "--items",
        action="store_true",
        help="also run the loop on a classification batch of image items (wrk only)",
    )
    args = parser.parse_args()
    if args.claims == "prefetch" and args.client != "wrk":
        parser.error("--claims prefetch needs the wrk client")
    if args.items and args.client != "wrk":
        parser.error("--items needs the wrk client")
    loop_kind = "app" if args.claims == "prefetch" else "next"
    phase = run_phase_wrk if args.client == "wrk" else run_phase
    if args.client == "wrk":
        ensure_wrk()

    recreate_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    batch, tokens = seed()
    items_batch, item_accounts = None, []
    if args.items:
        items_batch, item_tokens = seed_items()
        item_accounts = credentials(item_tokens, args.auth)
    print(f"seeded {PAIRS} pairs × K={K}, {ACCOUNTS} accounts in {time.perf_counter() - t0:.1f}s")
    accounts = credentials(tokens, args.auth)
    explain_claim(batch, "fresh batch")
    count_queries(accounts[-1])

    port = free_port()
    server = start_server(port)
    try:
        # warm-up: every worker process and thread imports, connects and prepares
        phase(port, accounts, 20, 3, "next")
        layout = server_layout()
        print(
            f"server: gunicorn -w {layout['workers']} -k {layout['worker_class']} "
            f"--threads {layout['threads']}{' --reuse-port' if layout['reuse_port'] else ''}"
            f" on {os.cpu_count()} cores; {args.auth} auth; {args.claims} claims; conns = "
            "client connections per gunicorn process"
        )
        print(f"{'':>4} {'endpoint':<26} {'latency':<42} {'req/s':>8}")
        claim_label = "POST next/ (prefetch)" if args.claims == "prefetch" else "POST next/ (claim)"
        for c in args.concurrency:
            # Baseline and loop alternate, `--rounds` times: the machine's speed drifts (other
            # tenants, the load of the previous phase), and the ratio is taken per round, where
            # both sides met the same machine, then its median.
            rounds = [
                (
                    phase(port, accounts, c, args.seconds, "ping"),
                    phase(port, accounts, c, args.seconds, loop_kind),
                    phase(port, item_accounts, c, args.seconds, "items") if args.items else None,
                )
                for _ in range(args.rounds)
            ]
            me = phase(port, accounts, c, args.seconds, "me")
            ping, nxt = merge([r[0] for r in rounds]), merge([r[1] for r in rounds])
            ratios = [n["rps"] / p["rps"] for p, n, _ in rounds]
            print(
                f"c={c:<3} {'GET /ping/ (baseline)':<26} {fmt(ping['lat']['main']):<42} "
                f"{ping['rps']:8.1f}  conns {fmt_split(ping)}  {fmt_cpu(ping)}"
            )
            print(
                f"{'':>5} {'GET /me/ (5 queries)':<26} {fmt(me['lat']['main']):<42} "
                f"{me['rps']:8.1f}"
            )
            print(
                f"{'':>5} {claim_label:<26} {fmt(nxt['lat']['main']):<42} "
                f"{nxt['main_rps']:8.1f}  conns {fmt_split(nxt)}  {fmt_cpu(nxt)}"
            )
            print(f"{'':>5} {'POST submit/ or skip/':<26} {fmt(nxt['lat']['submit']):<42}")
            print(
                f"{'':>5} {'claim+submit loop, all':<26} {'ratio vs baseline req/s:':<42} "
                f"{nxt['rps']:8.1f}  = {statistics.median(ratios):.0%} of ping (median of "
                f"{' '.join(f'{r:.0%}' for r in ratios)}), {nxt['rps'] / me['rps']:.0%} of me"
                f"   errors {ping['errors'] + me['errors'] + nxt['errors']}, "
                f"204s {nxt['empty']}"
            )
            if args.items:
                items = merge([r[2] for r in rounds])
                shares = [i["rps"] / n["rps"] for _, n, i in rounds]
                print(
                    f"{'':>5} {'classification claim':<26} {fmt(items['lat']['main']):<42} "
                    f"{items['main_rps']:8.1f}"
                )
                print(f"{'':>5} {'classification submit/skip':<26} {fmt(items['lat']['submit'])}")
                print(
                    f"{'':>5} {'classification loop, all':<26} {'ratio vs pairwise loop:':<42} "
                    f"{items['rps']:8.1f}  = {statistics.median(shares):.0%} of the pairwise "
                    f"loop (median of {' '.join(f'{r:.0%}' for r in shares)})   errors "
                    f"{items['errors']}, 204s {items['empty']}"
                )
            if ping.get("cpu") and nxt.get("cpu") and ping["requests"] and nxt["requests"]:
                # CPU per request of everything on the machine (web, database, wrk): on this
                # CPU-bound 2-core machine, throughput goes as its inverse, with less noise.
                per_ping = sum(ping["cpu"].values()) / ping["requests"]
                per_loop = sum(nxt["cpu"].values()) / nxt["requests"]
                print(
                    f"{'':>5} {'summed CPU per request':<26} loop / ping "
                    f"{per_loop / per_ping:.2f} (60 % of ping's throughput needs ≤ 1.67)"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    explain_claim(batch, "after the run")
    problems = check_invariants(batch)
    if items_batch is not None:
        problems += check_invariants(items_batch)
    print("violations:", len(problems), *problems[:10], sep="\n  ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
