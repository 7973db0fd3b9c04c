#!/usr/bin/env bash
# Builds the worker app (frontend/) into frontend/dist when its sources changed.
source "$(dirname "$0")/common.sh"
cd "$ROOT/frontend"
[ -f package.json ] || exit 0
command -v npm >/dev/null || apt_install nodejs npm
# `|| true`: a listed file may not exist (there is no index.html), and under `set -o pipefail`
# find's non-zero exit would otherwise end the script before building anything.
stamp_src=$({ find src index.html package.json package-lock.json vite.config.ts tsconfig.json \
  -type f 2>/dev/null || true; } | sort | xargs cat 2>/dev/null | sha256sum | cut -c1-16)
if [ -f dist/.stamp ] && [ "$(cat dist/.stamp)" = "$stamp_src" ] && [ -d node_modules ]; then
  exit 0
fi
log "building the worker app (npm ci + vite build)"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else
  npm install --no-audit --no-fund --loglevel=error; fi
npm run build --silent
echo "$stamp_src" > dist/.stamp
