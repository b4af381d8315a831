#!/usr/bin/env bash
# The run command: installs what is missing, builds into build/, starts a project-local
# PostgreSQL 15 cluster (data in build/local/pgdata, port 55432) and an embedded Kafka broker
# (librdkafka's mock cluster), then runs the API server, the retranslator and package-history
# until Ctrl-C. package-history records into its own database, package_history, in the same
# cluster. Every service applies its migrations itself at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

source tools/lib.sh
build=${LPA_BUILD_DIR:-build}
lpa_build "$build"

pg_port=${LPA_PG_PORT:-55432}
local_dir=$root/$build/local
pg_data=$local_dir/pgdata
mkdir -p "$local_dir"
LPA_DB_DSN=$(tools/pg_local.sh start "$pg_data" "$pg_port")
LPA_HISTORY_DSN=$(LPA_DB_NAME=package_history tools/pg_local.sh start "$pg_data" "$pg_port" 2>/dev/null)
export LPA_DB_DSN LPA_HISTORY_DSN
echo "run: PostgreSQL on 127.0.0.1:$pg_port (data in $pg_data; databases logistic_package_api, package_history)" >&2

pids=()
cleanup() {
  lpa_stop_in_reverse "${pids[@]}"
  tools/pg_local.sh stop "$pg_data"
  echo "run: stopped" >&2
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The embedded broker picks its own port and prints it.
lpa_start_broker "$build" "$local_dir" || exit 1
pids+=("$LPA_BROKER_PID")
echo "run: Kafka broker on $LPA_KAFKA_BROKERS (watch: kcat -b $LPA_KAFKA_BROKERS -C -t omp-package-events)" >&2
echo "$LPA_KAFKA_BROKERS" >"$local_dir/kafka-bootstrap"

"$build/actors/retranslator" --config config/config.yaml &
pids+=($!)
"$build/actors/package-history" --config config/config.yaml &
pids+=($!)
"$build/grpc_gateway/logistic-package-api" --config config/config.yaml &
pids+=($!)
echo "run: API on :8082 (gRPC), :8080 (REST), :8000 (status), :9100 (metrics); retranslator metrics :9101;" \
  "package-history :8083 (history gRPC), :8001 (status), :9102 (metrics); Ctrl-C stops" >&2
wait -n "${pids[@]}" || true
