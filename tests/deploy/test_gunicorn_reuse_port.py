"""GUNICORN_REUSE_PORT: each web process listens on its own socket and serves requests.

Started from deploy/gunicorn.conf.py exactly as production starts it. With the option, the
kernel sees one listening socket per worker process (and spreads new connections over them);
without it, one socket shared by every process, which is what lets the first process to wake
take most of a burst of keep-alive connections.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.celery_worker import wait_until
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _listening_sockets(port: int) -> list[set[str]]:
    """One entry per listening socket on the port: the pids that hold it."""
    out = subprocess.run(
        ["ss", "-ltnpH", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    return [set(re.findall(r"pid=(\d+)", line)) for line in out.splitlines() if line.strip()]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def start_gunicorn(tmp_path):
    started: list[subprocess.Popen] = []

    def start(**settings: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
        env.update(
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="2",
            GUNICORN_THREADS="2",
            DJANGO_SETTINGS_MODULE="annotation_server.settings",
            **settings,
        )
        log = (tmp_path / f"gunicorn-{port}.log").open("wb")
        process = subprocess.Popen(
            [str(GUNICORN), "annotation_server.wsgi", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        # Both workers booted: with reuse_port each binds its own socket only once it runs.
        wait_until(
            lambda: _healthy(port) and sum(len(pids) for pids in _listening_sockets(port)) >= 2,
            timeout=60,
            what=f"gunicorn with two workers on port {port}",
        )
        return process, port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def test_reuse_port_gives_each_worker_its_own_socket(start_gunicorn):
    master, port = start_gunicorn(GUNICORN_REUSE_PORT="true")

    sockets = _listening_sockets(port)
    assert len(sockets) == 2, sockets
    assert all(len(pids) == 1 for pids in sockets), sockets
    assert str(master.pid) not in set().union(*sockets)  # only the workers listen
    for _ in range(20):  # new connections each time: whichever socket gets them answers
        assert _healthy(port)


def test_without_reuse_port_all_processes_share_one_socket(start_gunicorn):
    master, port = start_gunicorn()

    sockets = _listening_sockets(port)
    assert len(sockets) == 1, sockets
    assert str(master.pid) in sockets[0] and len(sockets[0]) == 3, sockets  # master + 2


def test_a_misspelt_setting_stops_gunicorn_with_a_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update(GUNICORN_BIND=f"127.0.0.1:{free_port()}", GUNICORN_REUSE_PORT="yes please")
    result = subprocess.run(
        [str(GUNICORN), "annotation_server.wsgi", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GUNICORN_REUSE_PORT must be true or false" in result.stdout + result.stderr
