#!/usr/bin/env bash
# Makes sure the real services the suite talks to are installed and running:
# PostgreSQL (trust auth on 127.0.0.1 for user postgres), Redis, ffmpeg, Chromium, nginx.
source "$(dirname "$0")/../dev/common.sh"

PGHOST=127.0.0.1; PGPORT="${PGPORT:-5432}"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg
[ -x /usr/bin/chromium ] || apt_install chromium
# A CJK font, so the Chinese UI renders (and its screenshot is legible) in headless Chromium.
apt_install fonts-wqy-microhei
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light
# The compose client validates docker-compose.yml; the engine builds the production image and
# runs its roles (tests/deploy/test_docker_image.py).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
  || apt_install docker-compose
command -v dockerd >/dev/null || apt_install docker.io
if ! docker info >/dev/null 2>&1; then
  log "starting the Docker engine"
  # systemd where there is one; a container or CI sandbox has none: start dockerd directly.
  as_root systemctl start docker >/dev/null 2>&1 \
    || as_root sh -c 'nohup dockerd >/var/log/dockerd-annotation-test.log 2>&1 &'
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 \
    || { tail -20 /var/log/dockerd-annotation-test.log >&2; echo "dockerd did not start" >&2; exit 1; }
fi
command -v redis-server >/dev/null || apt_install redis-server
command -v pg_ctlcluster >/dev/null || apt_install postgresql
command -v ss >/dev/null || apt_install iproute2  # ss: listening sockets per gunicorn process

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }
if ! pg_up; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
fi
if ! psql -h "$PGHOST" -p "$PGPORT" -U postgres -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian install asks for passwords on TCP: trust loopback for the test user.
  log "allowing trust auth for postgres on loopback"
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  sleep 1
fi
psql -h "$PGHOST" -p "$PGPORT" -U postgres -Atc 'select 1' >/dev/null

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/redis-test.log
  for _ in $(seq 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
