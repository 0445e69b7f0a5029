#!/usr/bin/env bash
# Set up and run the whole suite: ruff, mypy and pytest on SQLite, PostgreSQL and Redis,
# with the browser test in Debian's Chromium. The real servers must answer: no skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

up() {  # host port
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

wait_for() {  # name host port
  for _ in $(seq 1 30); do up "$2" "$3" && return 0; sleep 1; done
  echo "FATAL: $1 on $2:$3 cannot be reached; the contract suites need it." >&2
  exit 1
}

say "services"
if ! up 127.0.0.1 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! up 127.0.0.1 6379; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for PostgreSQL 127.0.0.1 5432
wait_for Redis 127.0.0.1 6379
echo "PostgreSQL and Redis answer"

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium for the browser test"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

say "virtual environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'

say "ruff"
.venv/bin/ruff check .
say "mypy"
.venv/bin/mypy
say "pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
