#!/usr/bin/env bash
# Creates the virtualenv and installs what the platform needs (idempotent, quick when done).
source "$(dirname "$0")/common.sh"
cd "$ROOT"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv

if [ ! -x "$PY" ]; then
  log "creating virtualenv in $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "installing Python dependencies"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q -e ".[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
if [ -f frontend/package.json ]; then
  bash deploy/dev/build-frontend.sh
fi
