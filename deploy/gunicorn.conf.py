"""Gunicorn settings for the web process, read from the environment (deploy/production.env.example).

Threads rather than more processes: requests mostly wait on PostgreSQL, and video bytes are
sent by nginx, so a few processes with several threads each carry many workers cheaply.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false (or empty for {default}), not {value!r}")


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# Admin uploads are only staged inside the request (the import is a Celery job), but moving
# a multi-gigabyte upload into the staging folder can take a while: time, not forever.
timeout = _int("GUNICORN_TIMEOUT", 300)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Each process its own listening socket (SO_REUSEPORT), the kernel spreading new connections
# over them. With one shared socket the process that wakes first takes most of a burst of
# keep-alive connections (nginx's upstream pool, load generators) and its one GIL then serves
# them while other cores idle (docs/benchmarks.md, "Next task under load"). A process that
# exits (max_requests, reload) drops connections still waiting in its own accept queue unless
# the kernel hands them over (`sysctl net.ipv4.tcp_migrate_req=1`, Linux 5.14+).
reuse_port = _bool("GUNICORN_REUSE_PORT", False)
# Recycle processes now and then so a slow leak never grows without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Only the proxy in front may claim https through X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
# gunicorn ≥ 25 opens a control socket at one fixed per-user path; several gunicorns on one
# machine (a stack beside a benchmark) would take it from each other, so place it or skip it.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

if os.environ.get("LOG_JSON", "").lower() in ("1", "true", "yes", "on"):
    # The same JSON lines as Django's own logs (settings.LOGGING), one object per request.
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "loggers": {
            "gunicorn.error": {
                "handlers": ["console"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
