"""docker-compose.yml validates with the compose client, and the shared nginx site template
renders to a config nginx accepts (no Docker engine needed for either)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "stack"))
import prodstack  # noqa: E402 - a script folder, not a package

from tests.deploy.envfile import read_env_file  # noqa: E402

APP_ROLES = ("migrate", "web", "worker", "transcoder", "beat")


def _compose_command() -> list[str]:
    # Compose v2 is a docker plugin; Debian 12 packages v1 as docker-compose. Either validates.
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    client = shutil.which("docker-compose")
    assert client, "no compose client: run `bash deploy/test/services.sh` (installs it)"
    return [client]


def _compose_config(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(env_overrides)
    return subprocess.run(
        [*_compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env() -> dict[str, str]:
    return {"APP_ENV_FILE": "deploy/production.env.example", **read_env_file()}


def test_compose_file_validates_and_wires_every_service():
    result = _compose_config(_production_env())
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "nginx", *APP_ROLES}
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service, f"{name} has no health check"
    # The broker keeps every queued task: persistence on, never evict.
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    for role in APP_ROLES:
        service = services[role]
        assert service["command"] == [role]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["environment"]["MEDIA_SERVE_BACKEND"] == "nginx"
        assert service["environment"]["DJANGO_SECRET_KEY"] == _production_env()["DJANGO_SECRET_KEY"]
    for role in ("web", "worker", "transcoder", "beat"):
        assert services[role]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    # Workers and nginx see the same media volume; nginx only reads it.
    media_mounts = {
        name: [v for v in s.get("volumes", []) if "media" in str(v)] for name, s in services.items()
    }
    assert media_mounts["transcoder"] and media_mounts["web"] and media_mounts["nginx"]
    assert set(config["volumes"]) >= {"pgdata", "redisdata", "media", "static"}


def test_compose_refuses_to_start_without_a_database_password():
    env = _production_env()
    env.pop("POSTGRES_PASSWORD")
    result = _compose_config(env)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_nginx_site_template_renders_to_a_config_nginx_accepts(tmp_path):
    env = {"STATIC_ROOT": str(tmp_path / "static"), "MEDIA_ROOT": str(tmp_path / "media")}
    conf = prodstack.write_nginx_config(tmp_path / "run", http_port=18080, app_port=18000, env=env)
    site = (conf.parent / "site.conf").read_text()
    # Media is reachable only through Django's X-Accel-Redirect, never by a browser's own URL.
    assert "location /protected-media/ {\n        internal;" in site
    assert f"alias {tmp_path / 'media'}/;" in site
    assert "location /media/" not in site
    assert "client_max_body_size 2g;" in site
    rendered = [line for line in site.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in rendered if "${" in line]
    assert any("$http_x_forwarded_proto" in line for line in rendered)


def test_template_with_an_unknown_placeholder_is_refused():
    try:
        prodstack.render_template("listen ${NGINX_NOT_SET};", {"NGINX_LISTEN": "80"})
    except prodstack.StackError as exc:
        assert "NGINX_NOT_SET" in str(exc)
    else:
        raise AssertionError("an unknown placeholder must not render silently")
