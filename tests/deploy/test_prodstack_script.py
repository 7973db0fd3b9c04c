"""deploy/stack/prodstack.py refuses a configuration it cannot run, saying what to change,
and starts nothing in that case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "stack" / "prodstack.py"


def _start(tmp_path: Path, **env_values: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(MEDIA_ROOT=str(tmp_path / "media"), STATIC_ROOT=str(tmp_path / "static"))
    env.update(env_values)
    return subprocess.run(
        [sys.executable, str(STACK), "start", "--run-dir", str(tmp_path / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_start_without_a_redis_broker_is_refused_with_the_setting_to_change(tmp_path):
    result = _start(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/none")
    assert result.returncode == 1
    assert "CELERY_BROKER_URL=redis://" in result.stderr
    assert not (tmp_path / "run" / "stack.json").exists()


def test_start_on_sqlite_is_refused_with_the_setting_to_change(tmp_path):
    result = _start(
        tmp_path, DATABASE_URL="sqlite:///db.sqlite3", CELERY_BROKER_URL="redis://127.0.0.1:6379/9"
    )
    assert result.returncode == 1
    assert "DATABASE_URL=postgres://" in result.stderr
    assert not (tmp_path / "run" / "stack.json").exists()


def test_stop_without_a_running_stack_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, str(STACK), "stop", "--run-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "nothing was running" in result.stdout


def test_entrypoint_names_the_roles_when_given_an_unknown_one():
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "entrypoint.sh"), "webserver"],
        env={"PATH": os.environ["PATH"], "APP_ROOT": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 64
    assert "use migrate, web, worker, transcoder, beat or manage" in result.stderr
