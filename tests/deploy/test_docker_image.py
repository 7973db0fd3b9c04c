"""The production image: deploy/docker/build.sh builds deploy/Dockerfile (on stand-in bases made
from Debian's packages where Docker Hub is out of reach), and every role of docker-compose.yml
runs from it with compose's own settings: migrate (with collectstatic), web, worker,
transcoder and beat come up and pass their container health checks; the demo batch is
imported inside the image (ffmpeg renders the clips), the transcoder container makes the
renditions, an annotator completes a pair through the web container, and an export written in
the image holds that annotation. Containers use the host's network, PostgreSQL and Redis (a
database and Redis DB of their own); nginx is covered by test_production_stack.py."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from annotation_server.accounts import demo
from tests.deploy.envfile import read_env_file
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "annotation-server:suite"
DB_NAME = "annot_docker"
REDIS_DB = 14
ROLES = ("web", "worker", "transcoder", "beat")
ANNOTATOR = next(a for a in demo.ACCOUNTS if a.username == "annotator1")
# As nginx would send them: production settings redirect plain http and check the Host.
PROXY_HEADERS = {"Host": "localhost", "X-Forwarded-Proto": "https"}


def _run(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _psql(sql: str, database: str = "postgres") -> str:
    return _run(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atqc", sql
    ).stdout.strip()


def _redis_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    return re.sub(r"/\d*$", f"/{REDIS_DB}", broker)


def _app_environment(web_port: int) -> dict[str, str]:
    """What compose gives the app containers: the env file (here the shipped example) and the
    x-app `environment`, with the database and broker pointed at this machine's."""
    env = read_env_file()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env.update({k: str(v) for k, v in compose["services"]["web"]["environment"].items()})
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        CELERY_BROKER_URL=_redis_url(),
        GUNICORN_BIND=f"127.0.0.1:{web_port}",
        GUNICORN_WORKERS="2",
    )
    unresolved = {k: v for k, v in env.items() if "${" in v}
    assert not unresolved, f"compose variables the test did not resolve: {unresolved}"
    return env


class Containers:
    """The containers one test module started, removed again at the end."""

    def __init__(self, env_file: Path, media: Path, static: Path):
        self.env_file, self.media, self.static = env_file, media, static
        self.names: list[str] = []

    def _mounts(self) -> list[str]:
        return ["-v", f"{self.media}:/app/var/media", "-v", f"{self.static}:/app/var/static"]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """One-off container (`docker run --rm`), as `docker compose run` would start it."""
        return _run(
            "docker", "run", "--rm", "--network", "host", "--env-file", str(self.env_file),
            *self._mounts(), IMAGE, *args, timeout=timeout,
        )  # fmt: skip

    def start(self, role: str) -> str:
        name = f"suite-{role}-{os.getpid()}"
        _run("docker", "rm", "-f", name, check=False)
        _run(
            "docker", "run", "-d", "--name", name, "--network", "host",
            "--env-file", str(self.env_file), *self._mounts(), IMAGE, role,
        )  # fmt: skip
        self.names.append(name)
        return name

    def wait_healthy(self, name: str, role: str, timeout: float = 120) -> None:
        """Until the image's own health check (compose's `healthcheck`) passes."""
        deadline = time.monotonic() + timeout
        while True:
            state = _run("docker", "inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            assert state == "true", f"{role} exited:\n{self.logs(name)}"
            check = _run(
                "docker", "exec", name, "python", "deploy/healthcheck.py", role,
                timeout=60, check=False,
            )  # fmt: skip
            if check.returncode == 0:
                return
            assert time.monotonic() < deadline, f"{role} never became healthy:\n{self.logs(name)}"
            time.sleep(2)

    def logs(self, name: str) -> str:
        """The log's warnings and errors, then its tail: what a failed assertion shows."""
        result = _run("docker", "logs", name, check=False)
        lines = (result.stdout + result.stderr).splitlines()
        problems = [line for line in lines if '"WARNING"' in line or '"ERROR"' in line]
        return "\n".join([*problems[-20:], "--- tail ---", *lines[-30:]])[-8000:]

    def remove(self) -> None:
        for name in self.names:
            _run("docker", "rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def image():
    built = subprocess.run(
        ["bash", str(ROOT / "deploy" / "docker" / "build.sh"), IMAGE],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return IMAGE


@pytest.fixture(scope="module")
def stack(image, tmp_path_factory):
    base = tmp_path_factory.mktemp("docker")
    media, static = base / "media", base / "static"
    for folder in (media, static):
        folder.mkdir()
        folder.chmod(0o777)  # the image runs as its own unprivileged user
    web_port = free_port()
    env_file = base / "app.env"
    env_file.write_text(
        "".join(f"{k}={v}\n" for k, v in _app_environment(web_port).items()), encoding="utf-8"
    )
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB_NAME}")
    _run("redis-cli", "-u", _redis_url(), "flushdb")
    containers = Containers(env_file, media, static)
    try:
        containers.run("migrate")
        names = {role: containers.start(role) for role in ROLES}
        for role, name in names.items():
            containers.wait_healthy(name, role)
        yield {
            "containers": containers,
            "names": names,
            "url": f"http://127.0.0.1:{web_port}",
            "media": media,
            "static": static,
        }
    finally:
        containers.remove()
        _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        # Files the containers wrote belong to the image's user: remove them as the test user.
        shutil.rmtree(base, ignore_errors=True)


def test_image_runs_unprivileged_with_ffmpeg_and_passes_the_deploy_check(stack):
    containers = stack["containers"]
    user = _run("docker", "exec", stack["names"]["web"], "id", "-u").stdout.strip()
    assert user != "0"
    ffmpeg = _run("docker", "exec", stack["names"]["transcoder"], "ffmpeg", "-version")
    assert ffmpeg.stdout.startswith("ffmpeg version")
    # The shipped production settings, inside the image, pass Django's deployment checks.
    check = containers.run("manage", "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in check.stdout


def test_migrate_role_collected_the_worker_app_and_the_admin(stack):
    static = stack["static"]
    # The frontend stage's build made it into the image and collectstatic gathered it.
    assert list((static / "worker").rglob("*.js")), sorted(p.name for p in static.iterdir())
    assert (static / "admin" / "css" / "base.css").is_file()
    ready = requests.get(stack["url"] + "/readyz", headers=PROXY_HEADERS, timeout=10)
    assert ready.status_code == 200, ready.text
    assert {name for name, c in ready.json()["checks"].items() if c["ok"]} == {
        "database",
        "broker",
        "storage",
    }


def test_demo_batch_is_transcoded_annotated_and_exported_inside_the_containers(stack):
    containers, url = stack["containers"], stack["url"]
    first = containers.run("manage", "demo_setup").stdout
    assert re.search(r"Demo batch 'demo': .*21 pairs", first), first
    # The transcoder container renders every clip (psql sees the same database).
    deadline = time.monotonic() + 180
    while _psql("SELECT count(*) FROM catalog_video WHERE status <> 'ready'", DB_NAME) != "0":
        failed = _psql("SELECT count(*) FROM catalog_video WHERE status = 'failed'", DB_NAME)
        assert failed == "0", containers.logs(stack["names"]["transcoder"])
        assert time.monotonic() < deadline, containers.logs(stack["names"]["transcoder"])
        time.sleep(2)
    renditions = list((stack["media"] / "videos" / "renditions").rglob("*.mp4"))
    assert renditions and all(path.stat().st_size > 1000 for path in renditions)
    assert "published" in containers.run("manage", "demo_setup").stdout

    session = requests.Session()
    session.headers.update(PROXY_HEADERS)
    token = session.post(
        url + "/api/v1/auth/token/",
        json={"username": ANNOTATOR.username, "password": ANNOTATOR.password},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    session.headers["Authorization"] = "Token " + token.json()["token"]
    claim = session.post(url + "/api/v1/assignments/next/", json={}, timeout=10)
    assert claim.status_code == 200, claim.text
    pair = claim.json()
    answers = {
        "sub_preferences": {
            "instruction_following": "left",
            "correctness": "left",
            "information": "right",
            "aesthetics": "left",
        },
        "harm_labels": {"left": [], "right": []},
        "helpfulness": "left",
        "harmlessness": "right",
        "timings": {"stage1_ms": 20000, "stage2_ms": 4000},
    }
    submitted = session.post(
        f"{url}/api/v1/assignments/{pair['id']}/submit/", json=answers, timeout=10
    )
    assert submitted.status_code in (200, 201), submitted.text

    containers.run(
        "manage", "export_safesora", "--out", "/app/var/media/exports/suite",
        "--kind", "preference", "--test-fraction", "0", "--videos", "none",
    )  # fmt: skip
    path = stack["media"] / "exports" / "suite" / "config-train.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = json.load(handle)
    assert len(records) == 1
    assert records[0]["prompt_text"] == pair["prompt"]["text"]
