"""Container health checks: `python deploy/healthcheck.py web|worker|transcoder|beat`.

Exit 0 when healthy. Kept free of Django imports for the web and beat checks so a check never
costs more than the thing it checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path


def check_web() -> bool:
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    # Django refuses Hosts outside ALLOWED_HOSTS: ask as the first one the site answers to.
    hosts = [h.strip().lstrip(".") for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and h != "*"), "localhost")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed URL
        return response.status == 200


def check_celery(queue: str) -> bool:
    node = f"{queue}@{os.uname().nodename}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "annotation_server",
            "inspect",
            "ping",
            "-d",
            node,
            "--timeout",
            "5",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def check_beat() -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"celery" in b" ".join(args) and b"beat" in args:
            return True
    return False


def main(role: str) -> int:
    checks = {
        "web": check_web,
        "worker": lambda: check_celery("default"),
        "transcoder": lambda: check_celery("transcoding"),
        "beat": check_beat,
    }
    try:
        return 0 if checks[role]() else 1
    except Exception as exc:  # a check that cannot run means unhealthy; say why in the log
        print(f"{role} unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "web"))
