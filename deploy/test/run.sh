#!/usr/bin/env bash
# `make test`: real services, lint, migrations check, the whole pytest suite on PostgreSQL.
source "$(dirname "$0")/../dev/common.sh"
cd "$ROOT"
bash deploy/test/services.sh
bash deploy/dev/bootstrap.sh

export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/annotation}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/5}"
export CELERY_TASK_ALWAYS_EAGER=false
export DJANGO_SECRET_KEY="test-secret-key-not-for-production-$(hostname)"
export PLAYWRIGHT_CHROMIUM=/usr/bin/chromium

log "ruff"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
log "makemigrations --check"
"$PY" manage.py makemigrations --check --dry-run >/dev/null
if [ -f frontend/package.json ]; then
  log "frontend unit tests (vitest)"
  (cd frontend && npx vitest run --reporter=dot)
fi
log "pytest on PostgreSQL"
"$PY" -m pytest "$@"
