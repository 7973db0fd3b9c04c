#!/usr/bin/env bash
# `make run`: the platform on the embedded default, with a demo batch and printed log-ins.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
bash deploy/dev/bootstrap.sh
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
mkdir -p var
log "migrating the database"
"$PY" manage.py migrate --noinput -v0
log "preparing the demo batch (skipped when it exists)"
"$PY" manage.py demo_setup
HOST="${HOST:-127.0.0.1}"; PORT="${PORT:-8000}"
log "serving on http://$HOST:$PORT/  (Ctrl-C stops)"
exec "$PY" manage.py runserver "$HOST:$PORT" --noreload
