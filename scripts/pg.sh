#!/usr/bin/env bash
# Start or stop the local PostgreSQL (Debian's cluster 15/main, loopback only) for the tests.
# Usage: scripts/pg.sh start|stop|url
set -euo pipefail
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres bash -c "$1"; fi; }
case "${1:-}" in
  start)
    command -v pg_ctlcluster >/dev/null || { echo "PostgreSQL is not installed (make system)" >&2; exit 1; }
    SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
    $SUDO pg_ctlcluster 15 main start 2>/dev/null || pg_lsclusters | grep -q "15 *main.*online"
    for _ in $(seq 1 30); do as_postgres "psql -qtAc 'select 1'" >/dev/null 2>&1 && exit 0; sleep 0.5; done
    echo "PostgreSQL did not start" >&2; exit 1 ;;
  stop)
    SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
    $SUDO pg_ctlcluster 15 main stop 2>/dev/null || true ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
