#!/usr/bin/env bash
# Container entrypoint: `entrypoint.sh ROLE [ARGS...]`.
#   migrate     apply migrations and collect static files, then exit (compose runs it first)
#   web         gunicorn (deploy/gunicorn.conf.py); with MIGRATE_ON_START=true it migrates first
#   worker      Celery worker on the `default` and `machines` queues (CELERY_WORKER_QUEUES to
#               change; machine-annotator runs wait on their endpoint, not on this CPU)
#   transcoder  Celery worker on the `transcoding` queue (ffmpeg; its own concurrency)
#   beat        Celery beat (periodic expiry and stale-video sweeps); run exactly one
#   manage      python manage.py ARGS... (e.g. createsuperuser, export_safesora)
set -euo pipefail
cd "${APP_ROOT:-/app}"
PY="${PYTHON:-python}"
role="${1:-web}"; shift || true

wait_for_database() {
  # Compose starts us once PostgreSQL is healthy, but a restarted database may lag behind.
  for _ in $(seq 60); do
    "$PY" manage.py shell -c "from django.db import connection; connection.ensure_connection()" \
      >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "database not reachable at DATABASE_URL after 60 s" >&2
  return 1
}

migrate() {
  wait_for_database
  "$PY" manage.py migrate --noinput
  "$PY" manage.py collectstatic --noinput -v0
}

case "$role" in
  migrate)
    migrate ;;
  web)
    if [ "${MIGRATE_ON_START:-false}" = "true" ]; then migrate; fi
    exec "$PY" -m gunicorn annotation_server.wsgi:application -c deploy/gunicorn.conf.py "$@" ;;
  worker)
    exec "$PY" -m celery -A annotation_server worker -Q "${CELERY_WORKER_QUEUES:-default,machines}" \
      -n "default@%h" \
      --concurrency "${CELERY_WORKER_CONCURRENCY:-2}" --prefetch-multiplier 1 \
      --without-gossip --without-mingle -l "${LOG_LEVEL:-INFO}" "$@" ;;
  transcoder)
    # ffmpeg uses several threads itself: one or two clips at a time per machine is plenty.
    exec "$PY" -m celery -A annotation_server worker -Q transcoding -n "transcoding@%h" \
      --concurrency "${TRANSCODER_CONCURRENCY:-1}" --prefetch-multiplier 1 \
      --max-tasks-per-child "${TRANSCODER_MAX_TASKS_PER_CHILD:-50}" \
      --without-gossip --without-mingle -l "${LOG_LEVEL:-INFO}" "$@" ;;
  beat)
    mkdir -p "${CELERY_BEAT_DIR:-/app/var/beat}"
    exec "$PY" -m celery -A annotation_server beat --pidfile= \
      -s "${CELERY_BEAT_DIR:-/app/var/beat}/celerybeat-schedule" -l "${LOG_LEVEL:-INFO}" "$@" ;;
  manage)
    exec "$PY" manage.py "$@" ;;
  *)
    echo "unknown role '$role': use migrate, web, worker, transcoder, beat or manage" >&2
    exit 64 ;;
esac
