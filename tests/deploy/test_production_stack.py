"""The production path end to end, without Docker: deploy/stack/prodstack.py starts gunicorn,
the Celery worker and transcoder, beat and nginx (the compose nginx config) on loopback, on a
PostgreSQL database and Redis DB of its own. An admin imports a batch through the admin upload,
the real transcoder makes the renditions, the admin publishes, an annotator completes the pair
through the API, the dataset is exported, and the video is fetched through nginx with a Range
request. Everything started is stopped at the end, also when a step fails."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from annotation_server.taxonomy import harm_label
from tests.clips import lavfi_clip

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "stack" / "prodstack.py"
DB_NAME = "annot_prodstack"
REDIS_DB = 15
ADMIN = ("stackadmin", "admin-pw-long-enough")
ANNOTATOR_PASSWORD = "annotator-pw-long-enough"


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        text=True,
    )


def _redis_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    return re.sub(r"/\d*$", f"/{REDIS_DB}", broker)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Start the stack on a fresh database; stop it (and drop the database) afterwards."""
    base = tmp_path_factory.mktemp("prodstack")
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-u", _redis_url(), "flushdb"], check=True, capture_output=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "CELERY_BROKER_URL": _redis_url(),
        "MEDIA_ROOT": str(base / "media"),
        "STATIC_ROOT": str(base / "static"),
        "IMPORT_STAGING_ROOT": str(base / "media" / ".staging"),
        "DJANGO_SECRET_KEY": "prodstack-test-key-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Loopback has no TLS: the secure-cookie settings are checked by check --deploy instead.
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "LOG_JSON": "true",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "CELERY_WORKER_CONCURRENCY": "1",
        "TRANSCODER_CONCURRENCY": "1",
        # Small enough to check the limit cheaply; production uses 2g.
        "NGINX_CLIENT_MAX_BODY_SIZE": "5m",
    }
    run_dir = base / "run"
    started_pids: dict[str, int] = {}
    started = subprocess.run(
        [sys.executable, str(STACK), "start", "--run-dir", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        record = json.loads(started.stdout.strip().splitlines()[-1])
        started_pids.update(record["pids"])
        yield {
            "env": env,
            "base": base,
            "url": record["url"],
            "run_dir": run_dir,
            "pids": record["pids"],
            "app_port": record["app_port"],
        }
    finally:
        subprocess.run(
            [sys.executable, str(STACK), "stop", "--run-dir", str(run_dir)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    # `stop` left nothing behind: every process group it recorded is gone.
    assert not [name for name, pid in started_pids.items() if _alive(pid)]


def _alive(pid: int) -> bool:
    """A process of that group still runs (zombies awaiting their reaper do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if int(fields[2]) == pid and fields[0] != "Z":
            return True
    return False


def _manage(stack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=stack["env"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result.stdout


def _upload_files(base: Path) -> tuple[Path, Path]:
    clips = base / "clips"
    clips.mkdir()
    lavfi_clip(clips / "a.mp4", pattern="testsrc", size="160x120")
    lavfi_clip(clips / "b.mp4", pattern="smptebars", size="160x120")
    archive = base / "videos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clips / "a.mp4", "clips/a.mp4")
        zf.write(clips / "b.mp4", "clips/b.mp4")
    manifest = base / "manifest.jsonl"
    manifest.write_text(
        json.dumps(
            {
                "prompt_id": "stack-p1",
                "prompt_text": "A red ball rolls across a table.",
                "prompt_type": "safety_neutral",
                # Labelled prompts export; unlabelled ones are skipped by design.
                "prompt_labels": harm_label(),
                "videos": [
                    {"path": "clips/a.mp4", "video_id": "stack-v1", "generated_from": "ModelA"},
                    {"path": "clips/b.mp4", "video_id": "stack-v2", "generated_from": "ModelB"},
                ],
            }
        )
        + "\n"
    )
    return manifest, archive


def _login(session: requests.Session, url: str, username: str, password: str) -> None:
    session.get(url)
    response = session.post(
        url,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
    )
    assert response.status_code == 302, f"login to {url} failed: {response.status_code}"


def _wait_import(stack, name: str, timeout_s: float = 120) -> str:
    """The batch id once the admin upload's import job succeeded (fails on a failed job)."""
    script = (
        "import json; from annotation_server.batches.models import BatchImport; "
        f"job = BatchImport.objects.get(name={name!r}); "
        "print(json.dumps([job.status, job.batch_id, job.problems]))"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        status, batch_id, problems = json.loads(
            _manage(stack, "shell", "-c", script).strip().splitlines()[-1]
        )
        if status in ("succeeded", "failed"):
            assert status == "succeeded", problems
            return str(batch_id)
        assert time.monotonic() < deadline, f"import not finished: {status}"
        time.sleep(1)


def _wait_videos_ready(stack, timeout_s: float = 180) -> dict[str, str]:
    script = (
        "import json; from annotation_server.catalog.models import Video; "
        "print(json.dumps(dict(Video.objects.values_list('video_id', 'status'))))"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = json.loads(_manage(stack, "shell", "-c", script).strip().splitlines()[-1])
        if statuses and all(s in ("ready", "failed") for s in statuses.values()):
            return statuses
        assert time.monotonic() < deadline, f"transcoding not finished: {statuses}"
        time.sleep(1)


VIDEO_STATES = "() => [...document.querySelectorAll('video')].map((v) => v.readyState)"
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


def _worker_app_in_chromium(chromium, url: str, sessionid: str) -> tuple[list[str], list[int], str]:
    """Open the worker app as the annotator through nginx: CSP violations, <video> states."""
    context = chromium.new_context()
    try:
        context.add_cookies([{"name": "sessionid", "value": sessionid, "url": url}])
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.on(
            "response",
            lambda r: console.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )
        page.add_init_script(CSP_RECORDER)
        page.goto(f"{url}/work/")
        page.get_by_role("button", name="Start annotating").click()
        # Both videos of the claimed pair load their metadata through nginx.
        # Polled from Python: page-side polling would eval() a string, which this very
        # CSP forbids (as it should).
        states: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = page.evaluate(VIDEO_STATES)
            if len(states) >= 2 and all(state >= 1 for state in states):
                break
            page.wait_for_timeout(250)
        violations = page.evaluate("window.__cspViolations")
        # For the failure message: what the page showed and said.
        seen = page.inner_text("body")[:1500] + "\nconsole: " + " | ".join(console)[:1500]
    finally:
        context.close()
    return violations, states, seen


@pytest.mark.worker
@pytest.mark.browser
def test_production_stack_imports_transcodes_annotates_exports_and_serves_ranges(stack, browser):
    url, base = stack["url"], stack["base"]
    assert requests.get(f"{url}/readyz", timeout=10).json()["status"] == "ok"
    _manage(
        stack,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({ADMIN[0]!r}, '', {ADMIN[1]!r})",
    )
    created = _manage(
        stack,
        "create_annotators",
        "--count",
        "1",
        "--prefix",
        "stackann",
        "--password",
        ANNOTATOR_PASSWORD,
    )
    # The command prints one "username<TAB>password" line per account it made.
    annotator = created.strip().splitlines()[-1].split("\t")[0]
    assert annotator.startswith("stackann")

    # 1. An admin imports the batch through the admin upload form (manifest + zip).
    admin = requests.Session()
    _login(admin, f"{url}/admin/login/", *ADMIN)
    form_url = f"{url}/admin/batches/batch/import/"
    assert admin.get(form_url).status_code == 200
    manifest, archive = _upload_files(base)
    with manifest.open("rb") as m, archive.open("rb") as z:
        response = admin.post(
            form_url,
            data={
                "csrfmiddlewaretoken": admin.cookies["csrftoken"],
                "name": "stack-batch",
                "overlap": "1",
                "priority": "0",
                "instructions": "",
            },
            files={"manifest": ("manifest.jsonl", m), "videos": ("videos.zip", z)},
            allow_redirects=False,
        )
    assert response.status_code == 302, response.text[-2000:]
    job_page = re.search(r"/admin/batches/batchimport/\d+/change/", response.headers["Location"])
    assert job_page, response.headers["Location"]
    # The default-queue worker imports the upload; the job's page then links the batch.
    batch_pk = _wait_import(stack, "stack-batch")
    page = admin.get(f"{url}{job_page[0]}").text
    assert f"/admin/batches/batch/{batch_pk}/change/" in page

    # 2. The real transcoder worker makes both renditions.
    assert _wait_videos_ready(stack) == {"stack-v1": "ready", "stack-v2": "ready"}

    # 3. The admin publishes the batch with the admin's lifecycle action.
    changelist = f"{url}/admin/batches/batch/"
    admin.get(changelist)
    response = admin.post(
        changelist,
        data={
            "csrfmiddlewaretoken": admin.cookies["csrftoken"],
            "action": "batch_publish",
            "_selected_action": batch_pk,
            "index": "0",
        },
    )
    assert response.status_code == 200

    # 4. The annotator claims the pair through the API and watches a video through nginx.
    token = requests.post(
        f"{url}/api/v1/auth/token/",
        json={"username": annotator, "password": ANNOTATOR_PASSWORD},
        timeout=30,
    ).json()["token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    claimed = api.post(f"{url}/api/v1/assignments/next/", json={}, timeout=30)
    assert claimed.status_code == 200, claimed.text
    assignment = claimed.json()
    video_url = url + assignment["left"]["video_url"]

    viewer = requests.Session()
    _login(viewer, f"{url}/accounts/login/", annotator, ANNOTATOR_PASSWORD)
    ranged = viewer.get(video_url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert ranged.status_code == 206
    assert len(ranged.content) == 100
    total = int(ranged.headers["Content-Range"].rsplit("/", 1)[1])
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{total}"
    # Django's caching header survives the hand-over to nginx (browsers keep renditions).
    assert "immutable" in ranged.headers["Cache-Control"]
    whole = viewer.get(video_url, timeout=30)
    assert whole.status_code == 200 and len(whole.content) == total
    assert whole.content[100:200] == ranged.content
    assert whole.content[4:8] == b"ftyp"
    # Nobody reaches media without Django's check: not anonymously, not by the internal path.
    assert requests.get(video_url, timeout=30).status_code in (302, 403, 404)
    assert requests.get(f"{url}/protected-media/videos/", timeout=30).status_code == 404
    assert requests.get(f"{url}/media/videos/", timeout=30).status_code == 404

    # The worker app runs under the production CSP in a real browser, videos served by nginx.
    violations, states, seen = _worker_app_in_chromium(browser, url, viewer.cookies["sessionid"])
    assert violations == [], seen
    assert len(states) >= 2 and all(state >= 1 for state in states), seen

    # nginx serves the built app's static files, gzipped, and refuses oversized uploads.
    app_js = requests.get(
        f"{url}/static/worker/app.js", headers={"Accept-Encoding": "gzip"}, timeout=30
    )
    assert app_js.status_code == 200
    assert app_js.headers["Content-Encoding"] == "gzip"
    too_big = admin.post(
        form_url,
        data={"csrfmiddlewaretoken": admin.cookies["csrftoken"]},
        files={"videos": ("big.zip", b"0" * (6 * 1024 * 1024))},
    )
    assert too_big.status_code == 413

    # 5. The annotator submits the two-stage answer.
    submitted = api.post(
        f"{url}/api/v1/assignments/{assignment['id']}/submit/",
        json={
            "sub_preferences": {
                "instruction_following": "left",
                "correctness": "right",
                "information": "left",
                "aesthetics": "left",
            },
            "harm_labels": {"left": [], "right": ["violence"]},
            "helpfulness": "left",
            "harmlessness": "left",
            "timings": {"stage1_ms": 20000, "stage2_ms": 5000},
        },
        timeout=30,
    )
    assert submitted.status_code in (200, 201), submitted.text
    assert api.post(f"{url}/api/v1/assignments/next/", json={}, timeout=30).status_code == 204

    # 6. The SafeSora export from the stack's database holds the completed pair.
    out = base / "dataset"
    summary = _manage(
        stack, "export_safesora", "--out", str(out), "--kind", "preference", "--videos", "copy"
    )
    records = []
    for split in ("train", "test"):
        path = out / f"config-{split}.json.gz"
        if path.exists():
            records += json.loads(gzip.decompress(path.read_bytes()))
    assert len(records) == 1, summary
    record = records[0]
    assert record["prompt_id"] == "stack-p1"
    assert {record["video_0"]["video_id"], record["video_1"]["video_id"]} == {
        "stack-v1",
        "stack-v2",
    }
    for side in ("video_0", "video_1"):
        exported = out / record[side]["video_path"]
        assert exported.read_bytes()[4:8] == b"ftyp"

    # 7. The container health checks of docker-compose pass against these processes.
    check_env = {**stack["env"], "GUNICORN_BIND": f"127.0.0.1:{stack['app_port']}"}
    for role in ("web", "worker", "transcoder", "beat"):
        checked = subprocess.run(
            [sys.executable, "deploy/healthcheck.py", role],
            cwd=ROOT,
            env=check_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, f"{role}: {checked.stderr}"

    # 8. With LOG_JSON the web and worker processes log one JSON object per line.
    for role, logger_prefix in (("web", "gunicorn.access"), ("transcoder", "celery")):
        lines = (stack["run_dir"] / f"{role}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(r["name"].startswith(logger_prefix) and r["levelname"] for r in records), role
