#!/usr/bin/env bash
# A project-local PostgreSQL 15 cluster: no system service, data in a folder of your choice.
# Works as root by running the server as the `postgres` user.
#
#   tools/pg_local.sh start   DATADIR PORT   # initdb on first use, start, create the database
#   tools/pg_local.sh stop    DATADIR        # fast shutdown
#   tools/pg_local.sh restart DATADIR PORT
#   tools/pg_local.sh dsn     DATADIR PORT   # print the libpq connection string
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB_NAME=${LPA_DB_NAME:-logistic_package_api}

die() { echo "pg_local: $*" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

dsn() { echo "host=127.0.0.1 port=$2 dbname=$DB_NAME user=postgres"; }

start() {
  local dir port=$2
  dir=$(realpath -m "$1") # the server resolves its socket path after changing directory
  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 server not found in $PG_BIN (apt-get install postgresql-15)"
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
  chmod 700 "$dir"
  if [[ ! -f $dir/PG_VERSION ]]; then
    as_owner "$PG_BIN/initdb" -D "$dir" -U postgres -E UTF8 --locale=C --auth=trust >"$dir.initdb.log" 2>&1 \
      || die "initdb failed, see $dir.initdb.log"
  fi
  if as_owner "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    echo "pg_local: already running in $dir" >&2
  else
    # Unix socket inside the data directory so nothing outside it is needed.
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${LPA_PG_FSYNC:-on}" start >/dev/null \
      || die "server did not start, see $dir/server.log"
  fi
  if ! as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
    as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
  fi
  dsn "$dir" "$port"
}

stop() {
  local dir=$1
  [[ -f $dir/PG_VERSION ]] || return 0
  as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

cmd=${1:-}
case "$cmd" in
  start) [[ $# -eq 3 ]] || die "usage: $0 start DATADIR PORT"; start "$2" "$3" ;;
  stop) [[ $# -eq 2 ]] || die "usage: $0 stop DATADIR"; stop "$2" ;;
  restart) [[ $# -eq 3 ]] || die "usage: $0 restart DATADIR PORT"; stop "$2"; start "$2" "$3" ;;
  dsn) [[ $# -eq 3 ]] || die "usage: $0 dsn DATADIR PORT"; dsn "$2" "$3" ;;
  *) die "usage: $0 start|stop|restart|dsn DATADIR [PORT]" ;;
esac
