#!/usr/bin/env bash
# `make api-types`: writes the OpenAPI schema the server publishes (drf-spectacular) to
# frontend/openapi.yaml and the worker app's TypeScript API types generated from it
# (openapi-typescript) to frontend/src/generated/api-schema.d.ts. Both are checked in, so a
# change to an API's serializers shows in review as a change to the types the app compiles
# against; tests/frontend/test_api_types.py fails when they are out of step.
# API_TYPES_OUT=DIR writes both files into DIR instead (the test compares them there).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
out="${API_TYPES_OUT:-}"
schema="${out:-frontend}/openapi.yaml"
types="${out:-frontend/src/generated}/api-schema.d.ts"
mkdir -p "$(dirname "$schema")" "$(dirname "$types")"
[ -x frontend/node_modules/.bin/openapi-typescript ] || bash deploy/dev/build-frontend.sh
# The schema describes code, not a deployment: settings need a key, any key will do.
DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-api-types}" "$PY" manage.py spectacular \
  --validate --fail-on-warn --file "$schema"
frontend/node_modules/.bin/openapi-typescript "$schema" --output "$types" --silent
