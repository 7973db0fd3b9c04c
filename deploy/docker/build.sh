#!/usr/bin/env bash
# deploy/docker/build.sh [TAG]: build the platform's image (deploy/Dockerfile) as TAG
# (default annotation-server:latest), the one docker-compose.yml runs (APP_IMAGE).
# It builds on the official node:22-bookworm-slim and python:3.11-slim-bookworm when they are
# present or can be pulled; otherwise on stand-ins made from Debian's packages
# (deploy/docker/offline-bases.sh). OFFLINE_BASES=1 always uses the stand-ins, OFFLINE_BASES=0
# never does (fail instead).
source "$(dirname "$0")/../dev/common.sh"

TAG="${1:-annotation-server:latest}"
NODE_IMAGE=node:22-bookworm-slim
PYTHON_IMAGE=python:3.11-slim-bookworm

command -v docker >/dev/null || { echo "docker is not installed (apt-get install docker.io)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker engine is not running (start dockerd)" >&2; exit 1; }

available() { docker image inspect "$1" >/dev/null 2>&1 || timeout 120 docker pull -q "$1" >/dev/null 2>&1; }

args=()
mode="${OFFLINE_BASES:-auto}"
if [ "$mode" = 1 ] || { [ "$mode" = auto ] && ! { available "$NODE_IMAGE" && available "$PYTHON_IMAGE"; }; }; then
  if [ "$mode" = 0 ]; then
    echo "$NODE_IMAGE / $PYTHON_IMAGE cannot be pulled (and OFFLINE_BASES=0)" >&2; exit 1
  fi
  log "official base images out of reach: using stand-ins built from Debian's packages"
  bash "$(dirname "$0")/offline-bases.sh"
  args=(--build-arg NODE_IMAGE=annotation-base/node:bookworm
        --build-arg PYTHON_IMAGE=annotation-base/python:bookworm)
fi
log "docker build -f deploy/Dockerfile -t $TAG"
docker build --network host "${args[@]}" -f "$ROOT/deploy/Dockerfile" -t "$TAG" "$ROOT"
