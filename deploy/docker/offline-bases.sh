#!/usr/bin/env bash
# Stand-ins for deploy/Dockerfile's two base images, built from Debian 12's own packages, for
# machines that reach Debian's mirror but not Docker Hub (a registry mirror of Debian, PyPI and
# npm only; CI sandboxes). deploy/docker/build.sh calls this when the official images cannot be
# pulled; run it yourself to prepare a machine:
#   annotation-base/bookworm          debootstrap --variant=minbase bookworm
#   annotation-base/python:bookworm   + Debian's Python 3.11 with pip, as a venv at /usr/local
#                                     (so `python` and `pip` behave as in python:3.11-slim)
#   annotation-base/node:bookworm     + this machine's Node.js and npm (the ones `make setup`
#                                     builds the worker app with; Debian 12's Node 18 is too old
#                                     for Vite)
# Each image is built only when missing (FORCE=1 rebuilds them). Extra CA certificates of this
# machine (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's) are trusted inside,
# so that `npm ci` and `pip install` in the build work behind the same proxy.
# DEBIAN_MIRROR=http://... picks the mirror (default: deb.debian.org).
source "$(dirname "$0")/../dev/common.sh"

BASE=annotation-base/bookworm
PYTHON_BASE=annotation-base/python:bookworm
NODE_BASE=annotation-base/node:bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

present() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! present "$BASE"; then
  apt_install debootstrap
  log "debootstrap bookworm from $MIRROR (about a minute)"
  as_root debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; echo "debootstrap failed (mirror $MIRROR)" >&2; exit 1; }
  as_root tar -C "$work/rootfs" -c . | docker import - "$BASE" >/dev/null
  as_root rm -rf "$work/rootfs"
fi

# The build contexts: this machine's extra CA certificates (possibly none).
for ctx in python node; do
  mkdir -p "$work/$ctx/certs"
  cp /usr/local/share/ca-certificates/*.crt "$work/$ctx/certs/" 2>/dev/null || true
done

if ! present "$PYTHON_BASE"; then
  log "building $PYTHON_BASE"
  cat >"$work/python/Dockerfile" <<DOCKERFILE
FROM $BASE
ENV LANG=C.UTF-8 \\
    PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
COPY certs/ /usr/local/share/ca-certificates/
RUN apt-get update \\
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \\
    && rm -rf /var/lib/apt/lists/* \\
    && update-ca-certificates \\
    && python3 -m venv /usr/local \\
    && ln -sf python3 /usr/local/bin/python
CMD ["python3"]
DOCKERFILE
  docker build --network host -q -t "$PYTHON_BASE" "$work/python" >/dev/null
fi

if ! present "$NODE_BASE"; then
  node_bin="$(command -v node || true)"
  npm_cli="$(readlink -f "$(command -v npm || true)" 2>/dev/null || true)"
  if [ -z "$node_bin" ] || [ ! -f "$npm_cli" ]; then
    echo "Node.js and npm are needed on this machine (make setup installs them)" >&2
    exit 1
  fi
  log "building $NODE_BASE (Node.js $("$node_bin" --version) from this machine)"
  cp "$(readlink -f "$node_bin")" "$work/node/node"
  # npm's package folder: .../node_modules/npm/bin/npm-cli.js -> .../node_modules/npm
  cp -a "$(dirname "$(dirname "$npm_cli")")" "$work/node/npm"
  cat >"$work/node/Dockerfile" <<DOCKERFILE
FROM $BASE
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY certs/ /usr/local/share/ca-certificates/
RUN apt-get update \\
    && apt-get install -y --no-install-recommends libstdc++6 ca-certificates \\
    && rm -rf /var/lib/apt/lists/* \\
    && update-ca-certificates
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
    && node --version && npm --version
DOCKERFILE
  docker build --network host -q -t "$NODE_BASE" "$work/node" >/dev/null
fi
log "stand-in bases ready: $PYTHON_BASE, $NODE_BASE"
