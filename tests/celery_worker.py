"""A real Celery worker process for tests, on Redis and the pytest-django test database.

Use it from tests marked `@pytest.mark.worker` and `@pytest.mark.django_db(transaction=True)`
(the worker is another process: it only sees committed rows):

    def test_something(celery_worker):          # one worker with the default environment
        ...
    def test_other(celery_worker_factory):      # several, or with setting overrides
        worker = celery_worker_factory(VIDEO_RENDITION_PRESET="veryslow")
        worker.kill()                           # SIGKILL the whole process group

The worker gets the test database (DATABASE_URL), MEDIA_ROOT and the broker of the test
process as they are when it starts (so request a fixture that changes MEDIA_ROOT *before*
`celery_worker`); keyword arguments become extra environment variables (settings read with `env`).
Queues are emptied before the first worker starts so leftovers of earlier runs cannot leak in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from annotation_server.celery import app as _celery_app
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
QUEUE_KEYS = ("transcoding", "default", "unacked", "unacked_index", "unacked_mutex")
READY_TIMEOUT_S = 120


def wait_until(predicate: Callable[[], object], *, timeout: float = 180, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(0.2)


def test_database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test_ database)."""
    db = connection.settings_dict
    credentials = quote(db.get("USER") or "postgres")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # not a test, whatever its name says


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        command = [
            sys.executable, "-m", "celery", "-A", "annotation_server", "worker",
            "-Q", "transcoding,default", "-c", "1", "--pool", "prefork",
            "-n", f"{self.name}@%h", "-l", "info",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            # Own session: kill() reaches the pool child and its ffmpeg too.
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_until(self._ready, timeout=READY_TIMEOUT_S, what=f"worker {self.name} to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"celery worker exited with {self.process.returncode}:\n{self.log()}")
        return " ready." in self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the worker, its pool processes and their children, like an OOM kill."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _purge_queues(broker_url: str) -> None:
    client = redis.Redis.from_url(broker_url)
    client.delete(*QUEUE_KEYS)
    client.close()


@pytest.fixture
def celery_worker_factory(transactional_db, settings, tmp_path):
    """start(**env_overrides) → a running WorkerProcess; all are stopped at teardown."""
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://… (see deploy/test/run.sh)")
    if connection.vendor != "postgresql":
        pytest.fail("worker tests need DATABASE_URL to point at PostgreSQL")
    _purge_queues(broker)
    workers: list[WorkerProcess] = []

    def start(**overrides: object) -> WorkerProcess:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=test_database_url(),
            CELERY_BROKER_URL=broker,
            CELERY_TASK_ALWAYS_EAGER="false",
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            DJANGO_SETTINGS_MODULE="annotation_server.settings",
            PYTHONUNBUFFERED="1",
        )
        env.update({key: str(value) for key, value in overrides.items()})
        worker = WorkerProcess(env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
        # Captured by pytest: shown only when the test failed.
        print(f"--- log of worker {worker.name} ---\n{worker.log()}")
    _purge_queues(broker)


@pytest.fixture
def celery_worker(celery_worker_factory) -> WorkerProcess:
    """One real worker on the `transcoding` and `default` queues."""
    return celery_worker_factory()


def _reset_broker_pools() -> None:
    # Celery caches the connection and producer pools of the broker it first talked to.
    _celery_app._pool = None
    _celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """Point this process's Celery app at a closed port: every publish is refused."""
    port = free_port()  # nobody listens there
    # The app reads Django's settings under the CELERY_ namespace; publishing uses the write URL.
    conf = _celery_app.conf
    previous = {
        "CELERY_BROKER_URL": conf.broker_url,
        "CELERY_BROKER_WRITE_URL": conf.broker_write_url,
    }
    conf.update({key: f"redis://127.0.0.1:{port}/0" for key in previous})
    _reset_broker_pools()
    try:
        yield
    finally:
        _celery_app.conf.update(previous)
        _reset_broker_pools()


@contextmanager
def _second_connection():
    """A connection of its own to the test database (psycopg, not Django's), closed at the end."""
    import psycopg

    conf = connection.settings_dict
    other = psycopg.connect(
        dbname=conf["NAME"], user=conf["USER"], host=conf["HOST"], port=conf["PORT"] or 5432
    )
    try:
        yield other
    finally:
        other.close()


@contextmanager
def job_held_elsewhere(kind: str, job_pk: int):
    """Another worker running the job: its advisory lock taken on a second connection to the
    test database, released when the block ends, as when that worker dies. The lock is given
    back explicitly before the connection closes: a closed connection's backend releases it a
    moment later, and a test that runs the job next must not race that."""
    from annotation_server.core.jobs import job_lock_key

    key = job_lock_key(kind, job_pk)
    with _second_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", key)
        try:
            yield
        finally:
            other.execute("SELECT pg_advisory_unlock(%s, %s)", key)


@contextmanager
def table_locked(table: str, mode: str = "ACCESS EXCLUSIVE"):
    """Everyone else waits for `table` (even to read it; with mode SHARE, only to write it)
    until the block ends: a way to catch a worker in the middle of a job."""
    assert mode in ("ACCESS EXCLUSIVE", "SHARE"), mode
    with _second_connection() as other:
        other.execute(f'LOCK TABLE "{table}" IN {mode} MODE')  # opens a transaction
        yield
