#!/usr/bin/env python3
"""The production stack without Docker: the same processes as docker-compose, on this machine.

    python deploy/stack/prodstack.py start --run-dir var/prodstack [--http-port 8080]
    python deploy/stack/prodstack.py stop  --run-dir var/prodstack
    python deploy/stack/prodstack.py run   --run-dir var/prodstack   # start, wait for Ctrl-C, stop

It runs deploy/entrypoint.sh for every role (migrate, web = gunicorn, worker = Celery on the
`default` queue, transcoder = Celery on `transcoding`, beat) and nginx from Debian with the
site config docker-compose uses (deploy/nginx/site.conf.template), all as the calling user.
Settings come from the environment and .env as usual (DATABASE_URL, CELERY_BROKER_URL,
MEDIA_ROOT, STATIC_ROOT, ...); the stack forces MEDIA_SERVE_BACKEND=nginx and real Celery.
PostgreSQL and Redis are the running ones; --start-services installs/starts local ones first.

Each process runs in its own session (process group); `stop` ends exactly those groups, by
the ids recorded in RUN_DIR/stack.json. Logs are in RUN_DIR/<role>.log.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy" / "nginx"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
ROLES = ("web", "worker", "transcoder", "beat")
TEMPLATE_VAR = re.compile(r"\$\{(NGINX_[A-Z_]+)\}")


class StackError(RuntimeError):
    """Something a person must fix before the stack can start; the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_template(text: str, values: dict[str, str]) -> str:
    """envsubst for ${NGINX_*} only, as the nginx image does: nginx's $vars stay untouched."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise StackError(f"nginx template needs {name}, which the stack did not set")
        return values[name]

    return TEMPLATE_VAR.sub(substitute, text)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise StackError("nginx is not installed: run `bash deploy/test/services.sh` (Debian)")
    return found


def write_nginx_config(run_dir: Path, *, http_port: int, app_port: int, env: dict) -> Path:
    nginx_run = run_dir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (nginx_run / sub).mkdir(parents=True, exist_ok=True)
    values = {
        "NGINX_LISTEN": f"127.0.0.1:{http_port}"
        if env.get("STACK_LOOPBACK", "1") == "1"
        else str(http_port),
        "NGINX_UPSTREAM": f"127.0.0.1:{app_port}",
        "NGINX_STATIC_ROOT": str(Path(env["STATIC_ROOT"]).resolve()),
        "NGINX_MEDIA_ROOT": str(Path(env["MEDIA_ROOT"]).resolve()),
        "NGINX_CLIENT_MAX_BODY_SIZE": env.get("NGINX_CLIENT_MAX_BODY_SIZE", "2g"),
        "NGINX_RUN_DIR": str(nginx_run.resolve()),
        "NGINX_USER": f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}",
    }
    site = render_template((NGINX_DIR / "site.conf.template").read_text(), values)
    (nginx_run / "site.conf").write_text(site)
    main = render_template((NGINX_DIR / "standalone.conf.template").read_text(), values)
    conf = nginx_run / "nginx.conf"
    conf.write_text(main)
    test = subprocess.run(
        [
            nginx_binary(),
            "-t",
            "-q",
            "-p",
            str(nginx_run),
            "-e",
            str(nginx_run / "error.log"),
            "-c",
            str(conf),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if test.returncode != 0:
        raise StackError(f"nginx rejected the generated config {conf}:\n{test.stderr}")
    return conf


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (as settings.py reads it), comments and blanks skipped."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def stack_env(run_dir: Path, *, app_port: int) -> dict[str, str]:
    # The real environment wins over .env, as in settings.py.
    env = {**read_dotenv(ROOT / ".env"), **os.environ}
    env.setdefault("MEDIA_ROOT", str(ROOT / "var" / "media"))
    env.setdefault("STATIC_ROOT", str(ROOT / "var" / "static"))
    env.update(
        {
            "APP_ROOT": str(ROOT),
            "PYTHON": env.get("STACK_PYTHON", sys.executable),
            "MEDIA_SERVE_BACKEND": "nginx",
            "MEDIA_ACCEL_PREFIX": "/protected-media/",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GUNICORN_BIND": f"127.0.0.1:{app_port}",
            "CELERY_BEAT_DIR": str(run_dir / "beat"),
        }
    )
    broker = env.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://")):
        raise StackError("set CELERY_BROKER_URL=redis://HOST:PORT/DB: the stack runs real workers")
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise StackError("set DATABASE_URL=postgres://...: the production stack runs on PostgreSQL")
    for folder in ("MEDIA_ROOT", "STATIC_ROOT"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    return env


def spawn(name: str, argv: list[str], *, env: dict, run_dir: Path) -> int:
    log = open(run_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it from here
    # A new session per process: `stop` can end the role and every child it forked.
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    return process.pid


def wait_http_ok(url: str, *, timeout_s: float, pids: dict[str, int]) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            if not _alive(pid):
                raise StackError(f"{name} exited during start-up: see its log in the run dir")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise StackError(f"{url} not ready after {timeout_s:.0f} s ({last})")


def wait_celery(env: dict, *, nodes: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ping = subprocess.run(
            [
                env["PYTHON"],
                "-m",
                "celery",
                "-A",
                "annotation_server",
                "inspect",
                "ping",
                "--timeout",
                "3",
                "--json",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        answered = ping.stdout
        if all(node in answered for node in nodes):
            return
        time.sleep(1)
    raise StackError(f"Celery workers {nodes} did not answer a ping within {timeout_s:.0f} s")


def start(run_dir: Path, *, http_port: int, app_port: int, start_services: bool) -> dict:
    """Migrate, collect static files, start every role and nginx; return the stack record."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / "stack.json").exists():
        raise StackError(f"a stack is recorded in {run_dir}: stop it first (prodstack.py stop)")
    if start_services:
        subprocess.run(["bash", str(ROOT / "deploy" / "test" / "services.sh")], check=True)
    http_port = http_port or free_port()
    app_port = app_port or free_port()
    env = stack_env(run_dir, app_port=app_port)
    subprocess.run(["bash", str(ENTRYPOINT), "migrate"], cwd=ROOT, env=env, check=True)
    conf = write_nginx_config(run_dir, http_port=http_port, app_port=app_port, env=env)

    record: dict = {
        "http_port": http_port,
        "app_port": app_port,
        "pids": {},
        "url": f"http://127.0.0.1:{http_port}",
    }
    try:
        for role in ROLES:
            record["pids"][role] = spawn(
                role, ["bash", str(ENTRYPOINT), role], env=env, run_dir=run_dir
            )
            # Recorded as soon as started, so `stop` finds it even if a later step fails.
            (run_dir / "stack.json").write_text(json.dumps(record, indent=2))
        nginx_run = conf.parent
        record["pids"]["nginx"] = spawn(
            "nginx",
            [
                nginx_binary(),
                "-p",
                str(nginx_run),
                "-e",
                str(nginx_run / "error.log"),
                "-c",
                str(conf),
            ],
            env=env,
            run_dir=run_dir,
        )
        (run_dir / "stack.json").write_text(json.dumps(record, indent=2))
        wait_http_ok(f"{record['url']}/readyz", timeout_s=60, pids=record["pids"])
        host = socket.gethostname()
        wait_celery(env, nodes=[f"default@{host}", f"transcoding@{host}"], timeout_s=60)
    except BaseException:
        stop(run_dir)
        raise
    return record


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def stop(run_dir: Path, *, timeout_s: float = 20) -> list[str]:
    """End every process group the stack started (TERM, then KILL); return the roles ended."""
    record_file = run_dir / "stack.json"
    if not record_file.exists():
        return []
    pids: dict[str, int] = json.loads(record_file.read_text())["pids"]
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.2)
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    record_file.unlink()
    return list(pids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "run"))
    parser.add_argument("--run-dir", type=Path, default=ROOT / "var" / "prodstack")
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT", 0)))
    parser.add_argument("--app-port", type=int, default=0)
    parser.add_argument(
        "--start-services",
        action="store_true",
        help="install/start local PostgreSQL and Redis first",
    )
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    try:
        if args.command == "stop":
            ended = stop(run_dir)
            print(f"stopped: {', '.join(ended) or 'nothing was running'}")
            return 0
        record = start(
            run_dir,
            http_port=args.http_port,
            app_port=args.app_port,
            start_services=args.start_services,
        )
    except (StackError, subprocess.CalledProcessError) as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(record))
    if args.command == "run":
        print(f"serving on {record['url']}/ (Ctrl-C stops)", file=sys.stderr)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stop(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
