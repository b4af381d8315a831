#!/usr/bin/env bash
# The run command: installs what is missing, builds into build/, starts a project-local
# PostgreSQL 15 cluster (data in build/local/pgdata, port 55432), and runs the API server in the
# foreground until Ctrl-C. The server applies migrations itself at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools/setup.sh
build=${LPA_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPA_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"

pg_port=${LPA_PG_PORT:-55432}
pg_data=$root/$build/local/pgdata
LPA_DB_DSN=$(tools/pg_local.sh start "$pg_data" "$pg_port")
export LPA_DB_DSN
echo "run: PostgreSQL on 127.0.0.1:$pg_port (data in $pg_data)" >&2

cleanup() {
  tools/pg_local.sh stop "$pg_data"
  echo "run: PostgreSQL stopped" >&2
}
trap cleanup EXIT

echo "run: API server on :8082 (gRPC), :8000 (status), :9100 (metrics); Ctrl-C stops" >&2
# Not exec: the trap stops PostgreSQL after the server exits. SIGINT reaches both, the server
# drains and exits 0.
"$build/grpc_gateway/logistic-package-api" --config config/config.yaml || true
