"""Production settings: `check --deploy` is clean with deploy/production.env.example, and every
page carries a content security policy the worker app satisfies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.envfile import PRODUCTION_ENV, read_env_file

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    # A clean environment: only what an operator would put in .env, nothing from this shell.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL", "")
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_without_warnings_given_the_production_env():
    result = _check_deploy(read_env_file(PRODUCTION_ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_embedded_defaults():
    # The same check must catch a forgotten .env: insecure cookies, no HSTS, default key.
    result = _check_deploy({})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for warning in (
        "security.W004",
        "security.W008",
        "core.W001",
        "core.W002",
        "security.W012",
        "security.W016",
    ):
        assert warning in output


def test_a_malformed_prepare_threshold_is_named_not_a_traceback_deep_in_psycopg():
    env = {**read_env_file(PRODUCTION_ENV), "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}
    result = _check_deploy({**env, "DATABASE_PREPARE_THRESHOLD": "five"})
    assert result.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD='five': give a whole number" in result.stderr
    # Empty turns preparing off (poolers in transaction mode) and is a valid setting.
    assert _check_deploy({**env, "DATABASE_PREPARE_THRESHOLD": ""}).returncode == 0


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.django_db
def test_pages_carry_a_policy_that_forbids_inline_and_foreign_scripts(client):
    policy = _policy(client.get("/accounts/login/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'self'" in policy["media-src"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


@pytest.mark.django_db
def test_login_and_admin_pages_run_no_inline_script(client, django_user_model):
    # Inline scripts would be blocked by the policy: the pages must not depend on any.
    assert not INLINE_SCRIPT.findall(client.get("/accounts/login/").content.decode())
    client.force_login(
        django_user_model.objects.create_superuser("root", "root@example.org", "pw-long-enough")
    )
    for url in ("/admin/", "/admin/batches/batch/", "/admin/catalog/video/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not INLINE_SCRIPT.findall(response.content.decode()), url
