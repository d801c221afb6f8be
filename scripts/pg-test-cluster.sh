#!/usr/bin/env bash
# pg-test-cluster.sh: a throw-away PostgreSQL 15 cluster for the storage conformance tests.
#
#   scripts/pg-test-cluster.sh start DIR   initdb + start on a free 127.0.0.1 port; creates the
#                                          database vigil_test; prints its URL as the LAST line:
#                                          postgresql://postgres@127.0.0.1:PORT/vigil_test
#   scripts/pg-test-cluster.sh stop DIR    stops it (pg_ctl -m fast) and removes DIR
#
# Listens on 127.0.0.1 only, with its unix socket inside DIR (-k DIR); trust auth for local and
# loopback connections; fsync off (a test cluster: speed over crash safety). When run as root the
# server runs as the `postgres` OS user (PostgreSQL refuses to run as root) and DIR is chowned to
# it. Both commands are idempotent: start on a running cluster prints its URL again; stop on a
# stopped or missing cluster just removes what is left.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PG_USER (default postgres, when root).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}

die() {
  echo "pg-test-cluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

# Runs a command as the cluster's OS user (root -> $PG_USER, otherwise the current user).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "$PG_USER" -- "$@"
    else
      su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

is_running() {
  [[ -f "$DATA/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

print_url() {
  echo "postgresql://postgres@127.0.0.1:$(cat "$DIR/port")/vigil_test"
}

cmd_start() {
  [[ -x "$PG_BIN/initdb" ]] || die "no PostgreSQL binaries in $PG_BIN (install postgresql-15)"
  if [[ $(id -u) -eq 0 ]] && ! id "$PG_USER" >/dev/null 2>&1; then
    die "running as root but OS user '$PG_USER' does not exist"
  fi
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd -P)
  DATA="$DIR/data"
  if [[ $(id -u) -eq 0 ]]; then
    chown "$PG_USER" "$DIR"
    # Every parent directory must be traversable by the server's user.
    local d="$DIR"
    while [[ "$d" != "/" ]]; do
      d=$(dirname "$d")
      as_pg test -x "$d" || die "$PG_USER cannot traverse $d; use a DIR under /tmp"
    done
  fi

  if is_running && [[ -f "$DIR/port" ]]; then
    print_url
    return
  fi

  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    rm -rf "$DATA"
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C \
      --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi

  local port started=0
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    # -h 127.0.0.1: TCP on loopback only; -k DIR: the unix socket lives in DIR.
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $DIR -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c max_connections=100" start >/dev/null; then
      started=1
      break
    fi
    # Most likely another process took the port between the probe and the bind: try another.
    sleep 0.2
  done
  [[ $started -eq 1 ]] || { tail -n 20 "$DIR/server.log" >&2 || true; die "server did not start"; }
  echo "$port" >"$DIR/port"

  if ! as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'vigil_test'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres vigil_test
  fi
  print_url
}

cmd_stop() {
  if [[ ! -d "$DIR" ]]; then
    return 0
  fi
  DIR=$(cd "$DIR" && pwd -P)
  DATA="$DIR/data"
  # Refuse to delete something that is not one of our clusters.
  if [[ -e "$DATA" && ! -f "$DATA/PG_VERSION" ]] || [[ ! -e "$DATA" && -n "$(ls -A "$DIR")" &&
    ! -f "$DIR/port" && ! -f "$DIR/initdb.log" ]]; then
    die "$DIR does not look like a test cluster; not removing it"
  fi
  if [[ -f "$DATA/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}

[[ $# -eq 2 ]] || usage
DIR=$2
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
