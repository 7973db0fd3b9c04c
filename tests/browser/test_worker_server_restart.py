"""A submit sent while the web server is really down is delivered once it is back, stored once.

test_worker_resilience.py fakes the outage with Playwright request routing; here the app runs
in gunicorn as in production (deploy/gunicorn.conf.py, WhiteNoise serving collected static
files, DJANGO_DEBUG unset), on the test database, and the outage is the gunicorn process being
stopped: the port refuses connections until the same server starts again on it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from tests.browser.helpers import login, start_task, wait_unlocked, wait_until
from tests.celery_worker import test_database_url
from tests.celery_worker import wait_until as wait_for
from tests.ports import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_TIMEOUT_S = 60


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


class GunicornServer:
    """`gunicorn annotation_server.wsgi` on one fixed port, stopped and started at will."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            str(GUNICORN), "annotation_server.wsgi", "-c", "deploy/gunicorn.conf.py",
            "-b", f"127.0.0.1:{self.port}",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for(self._ready, timeout=START_TIMEOUT_S, what=f"gunicorn on {self.url}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """SIGTERM the master, as a deploy or a crash-restart does; wait until it is gone."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """STATIC_ROOT with the built app collected: WhiteNoise serves it without DEBUG."""
    static_root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "STATIC_ROOT": str(static_root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert (static_root / "worker" / "app.js").exists()
    return static_root


@pytest.fixture
def gunicorn_server(
    transactional_db, media_root, collected_static, tmp_path
) -> Iterator[GunicornServer]:
    """A running gunicorn on the test database; killed at teardown whatever happened."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.pop("DJANGO_DEBUG", None)
    env.update(
        DATABASE_URL=test_database_url(),
        MEDIA_ROOT=str(media_root),
        STATIC_ROOT=str(collected_static),
        DJANGO_SETTINGS_MODULE="annotation_server.settings",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="4",
        GUNICORN_GRACEFUL_TIMEOUT="5",
        PYTHONUNBUFFERED="1",
    )
    server = GunicornServer(env, tmp_path / "gunicorn.log")
    try:
        server.start()
        yield server
    finally:
        server.kill()
        # Captured by pytest: shown only when the test failed.
        print(f"--- gunicorn log ---\n{server.log()}")


def _sync_state(page) -> str:
    return page.evaluate("document.querySelector('#sync').dataset.state")


def test_submit_while_gunicorn_is_stopped_is_delivered_after_it_restarts(
    gunicorn_server: GunicornServer, page, make_batch, make_user
):
    server = gunicorn_server
    make_batch(pairs=2, must_watch=True)
    login(page, server.url, make_user("annotator").username)
    first = start_task(page)
    page.keyboard.press("Space")
    wait_unlocked(page)
    # Stage 1: instruction following left, correctness right, information left,
    # aesthetics right; no harms on either side.
    for key in ["1", "2", "1", "2", "n", "n"]:
        page.keyboard.press(key)
    assert not page.evaluate("document.querySelector('#stage2').disabled")
    page.keyboard.press("2")  # more helpful: right
    page.keyboard.press("1")  # safer: left
    assert page.evaluate("document.activeElement?.id") == "submit"
    # The next pair was claimed while the worker answered: it needs no server to show.
    wait_until(page, "document.querySelector('#task').dataset.prefetched === 'ready'")

    server.stop()
    assert _refuses_connections(server.port)  # really down, not slow
    page.keyboard.press("Enter")

    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    wait_until(page, "document.querySelector('#sync').dataset.state === 'waiting'")
    assert "retrying" in page.locator("#sync").inner_text()
    assert not Annotation.objects.filter(assignment_id=first).exists()
    assert Assignment.objects.get(pk=first).status != Assignment.Status.SUBMITTED

    server.start()  # same port, same database: the browser keeps its session
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'", timeout_s=45)
    assert "saved" in page.locator("#sync").inner_text()

    assert Annotation.objects.filter(assignment_id=first).count() == 1
    assignment = Assignment.objects.get(pk=first)
    assert assignment.status == Assignment.Status.SUBMITTED
    annotation = Annotation.objects.get(assignment=assignment)
    left, right = ("video_0", "video_1") if assignment.left_is_video_0 else ("video_1", "video_0")
    assert annotation.left_is_video_0 == assignment.left_is_video_0
    assert annotation.pref_instruction_following == left
    assert annotation.pref_correctness == right
    assert annotation.pref_information == left
    assert annotation.pref_aesthetics == right
    assert annotation.video_0_harms == [] and annotation.video_1_harms == []
    assert annotation.helpfulness == right
    assert annotation.harmlessness == left
    # The worker carries on with the prefetched pair on the restarted server.
    assert _sync_state(page) == "idle"
    assert page.locator("main.pair").get_attribute("data-assignment") != first
