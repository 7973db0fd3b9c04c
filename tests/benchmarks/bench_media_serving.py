"""Benchmark: video bytes through nginx (X-Accel-Redirect) against Django streaming them.

    .venv/bin/python tests/benchmarks/bench_media_serving.py [--seconds 6] [--rounds 2]

Starts the no-Docker production stack (deploy/stack/prodstack.py) on its own PostgreSQL
database (bench_media_serving, recreated) and Redis DB 14, with ONE gunicorn process of 4
threads, and beside it a second gunicorn with the same settings but MEDIA_SERVE_BACKEND=django
(the baseline: Django reads the file and answers the Range itself). The "rendition" is a
32 MB file. Two measurements, each run on both servers in alternating rounds so that the
load of a shared machine hits both alike:

1. seeking: clients logged in as an admin send 256 KiB Range requests at random offsets
   (what a browser does when it seeks); requests/s, MB/s, latency percentiles;
2. slow viewers: 8 clients download the whole file slowly (about 1 MB/s each, like viewers on
   ordinary connections) while a probe asks /healthz every 0.1 s; the probe's latency shows
   whether video traffic holds the web threads that pages and the API need.

Prints both servers' figures and their ratio. Everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "stack" / "prodstack.py"
DB = "bench_media_serving"
CHUNK = 256 * 1024

SETUP = """
from django.contrib.auth import get_user_model
from annotation_server.catalog.models import Prompt, Video
get_user_model().objects.create_superuser("bench", "", "bench-pw-long-enough")
prompt = Prompt.objects.create(prompt_id="bench", text="bench", prompt_type="safety_neutral")
video = Video.objects.create(
    prompt=prompt, video_id="bench", video_text="bench", generated_from="bench",
    source="videos/source/bench.mp4", sha256="0" * 64, rendition="videos/renditions/bench.mp4",
    status="ready",
)
print(video.uid)
"""


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


_COOKIES: dict[str, dict] = {}


def session_for(base: str) -> requests.Session:
    """A session logged in as the admin; the login (password hashing) happens once per server,
    before any measurement, and every client thread reuses its cookie."""
    if base not in _COOKIES:
        s = requests.Session()
        s.get(f"{base}/admin/login/")
        s.post(
            f"{base}/admin/login/",
            data={
                "username": "bench",
                "password": "bench-pw-long-enough",
                "csrfmiddlewaretoken": s.cookies["csrftoken"],
                "next": "/admin/",
            },
        )
        _COOKIES[base] = s.cookies.get_dict()
    s = requests.Session()
    s.cookies.update(_COOKIES[base])
    return s


def seek_load(base: str, path: str, size: int, *, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    received, errors = [0], []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        s = session_for(base)
        rnd = random.Random()
        mine, got = [], 0
        while time.monotonic() < stop_at:
            start = rnd.randrange(0, size - CHUNK)
            t0 = time.perf_counter()
            r = s.get(base + path, headers={"Range": f"bytes={start}-{start + CHUNK - 1}"})
            if r.status_code != 206:
                errors.append(r.status_code)
                continue
            mine.append(time.perf_counter() - t0)
            got += len(r.content)
        with lock:
            latencies.extend(mine)
            received[0] += got

    wall = _run_threads([client] * clients)
    return {
        "n": len(latencies),
        "bytes": received[0],
        "wall": wall,
        "lat": latencies,
        "errors": errors,
    }


def slow_viewers(base: str, path: str, *, viewers: int, seconds: float) -> dict:
    stop_at = time.monotonic() + seconds
    probe_latencies: list[float] = []

    def viewer() -> None:
        s = session_for(base)
        while time.monotonic() < stop_at:
            with s.get(base + path, stream=True, timeout=120) as r:
                for _ in r.iter_content(64 * 1024):
                    if time.monotonic() >= stop_at:
                        break
                    time.sleep(0.06)  # about 1 MB/s per viewer

    def probe() -> None:
        time.sleep(1)  # let the viewers take their threads first
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            requests.get(f"{base}/healthz", timeout=120)
            probe_latencies.append(time.perf_counter() - t0)
            time.sleep(0.1)

    _run_threads([viewer] * viewers + [probe])
    return {"lat": probe_latencies}


def _run_threads(targets) -> float:
    threads = [threading.Thread(target=t) for t in targets]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def _pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[p - 1] * 1000


def _merge(runs: list[dict]) -> dict:
    lat = [x for r in runs for x in r["lat"]]
    wall = sum(r.get("wall", 0) for r in runs) or 1
    return {
        "req_s": sum(r.get("n", 0) for r in runs) / wall,
        "mb_s": sum(r.get("bytes", 0) for r in runs) / wall / 1e6,
        "p50": _pct(lat, 50),
        "p95": _pct(lat, 95),
        "errors": sum(len(r.get("errors", [])) for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    base_dir = Path(tempfile.mkdtemp(prefix="bench-media-"))
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB}")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
        "MEDIA_ROOT": str(base_dir / "media"),
        "STATIC_ROOT": str(base_dir / "static"),
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "LOG_LEVEL": "WARNING",
        "CELERY_WORKER_CONCURRENCY": "1",
    }
    clip = base_dir / "media" / "videos" / "renditions" / "bench.mp4"
    clip.parent.mkdir(parents=True)
    # Served bytes are never decoded here: a random 32 MB file stands in for a long rendition.
    clip.write_bytes(os.urandom(32 * 1024 * 1024))
    size = clip.stat().st_size
    run_dir = base_dir / "run"
    baseline = None
    try:
        out = subprocess.run(
            [sys.executable, str(STACK), "start", "--run-dir", str(run_dir)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        nginx_url = json.loads(out.strip().splitlines()[-1])["url"]
        uid = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        port = 20000 + os.getpid() % 20000
        baseline = subprocess.Popen(
            ["bash", "deploy/entrypoint.sh", "web"],
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={
                **env,
                "APP_ROOT": str(ROOT),
                "PYTHON": sys.executable,
                "MEDIA_SERVE_BACKEND": "django",
                "GUNICORN_BIND": f"127.0.0.1:{port}",
            },
        )
        django_url = f"http://127.0.0.1:{port}"
        for _ in range(60):
            try:
                if requests.get(f"{django_url}/healthz", timeout=2).ok:
                    break
            except OSError:
                time.sleep(0.5)
        path = f"/media/v/{uid.splitlines()[-1]}/video.mp4"
        for url in (nginx_url, django_url):
            assert (
                session_for(url).get(url + path, headers={"Range": "bytes=0-9"}).status_code == 206
            )
        print(
            f"file {size / 1e6:.0f} MB; gunicorn 1 process x 4 threads; rounds of "
            f"{args.seconds:.0f} s alternating nginx / django, {args.rounds} each"
        )
        print("seeking (256 KiB ranges):")
        print(
            f"{'clients':>7} | {'nginx req/s':>11} {'MB/s':>6} {'p50 ms':>7} {'p95 ms':>7} | "
            f"{'django req/s':>12} {'MB/s':>6} {'p50 ms':>7} {'p95 ms':>7} | req/s ratio"
        )
        for clients in args.concurrency:
            runs = {"nginx": [], "django": []}
            for _ in range(args.rounds):
                for name, url in (("nginx", nginx_url), ("django", django_url)):
                    runs[name].append(
                        seek_load(url, path, size, clients=clients, seconds=args.seconds)
                    )
            a, b = _merge(runs["nginx"]), _merge(runs["django"])
            print(
                f"{clients:>7} | {a['req_s']:>11.1f} {a['mb_s']:>6.0f} {a['p50']:>7.1f} "
                f"{a['p95']:>7.1f} | {b['req_s']:>12.1f} {b['mb_s']:>6.0f} {b['p50']:>7.1f} "
                f"{b['p95']:>7.1f} | {a['req_s'] / max(b['req_s'], 1e-9):.2f}x"
                f"  (errors {a['errors']}/{b['errors']})"
            )
        print("slow viewers (8 x ~1 MB/s whole-file downloads) - /healthz probe latency:")
        runs = {"nginx": [], "django": []}
        for _ in range(args.rounds):
            for name, url in (("nginx", nginx_url), ("django", django_url)):
                runs[name].append(slow_viewers(url, path, viewers=8, seconds=args.seconds))
        a, b = _merge(runs["nginx"]), _merge(runs["django"])
        print(f"  nginx : p50 {a['p50']:.1f} ms, p95 {a['p95']:.1f} ms")
        print(
            f"  django: p50 {b['p50']:.1f} ms, p95 {b['p95']:.1f} ms"
            f"  (p50 ratio django/nginx {b['p50'] / a['p50']:.1f}x)"
        )
    finally:
        if baseline is not None:
            os.killpg(baseline.pid, 15)
            baseline.wait(timeout=30)
        subprocess.run(
            [sys.executable, str(STACK), "stop", "--run-dir", str(run_dir)],
            env=env,
            capture_output=True,
            check=False,
        )
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
