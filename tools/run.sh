#!/usr/bin/env bash
# The run command: installs what is missing, builds into build/, starts a project-local
# PostgreSQL 15 cluster (data in build/local/pgdata, port 55432) and an embedded Kafka broker
# (librdkafka's mock cluster), then runs the API server and the retranslator until Ctrl-C.
# Both services apply migrations themselves at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools/setup.sh
build=${LPA_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPA_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"

pg_port=${LPA_PG_PORT:-55432}
local_dir=$root/$build/local
pg_data=$local_dir/pgdata
mkdir -p "$local_dir"
LPA_DB_DSN=$(tools/pg_local.sh start "$pg_data" "$pg_port")
export LPA_DB_DSN
echo "run: PostgreSQL on 127.0.0.1:$pg_port (data in $pg_data)" >&2

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  tools/pg_local.sh stop "$pg_data"
  echo "run: stopped" >&2
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The embedded broker picks its own port and prints it.
"$build/tools/lpa-kafka-broker" --topic omp-package-events --partitions 6 \
  >"$local_dir/broker.out" 2>"$local_dir/broker.log" &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^bootstrap: ' "$local_dir/broker.out" 2>/dev/null && break
  sleep 0.1
done
LPA_KAFKA_BROKERS=$(sed -n 's/^bootstrap: //p' "$local_dir/broker.out")
[[ -n $LPA_KAFKA_BROKERS ]] || { echo "run: the Kafka broker did not start, see $local_dir/broker.log" >&2; exit 1; }
export LPA_KAFKA_BROKERS
echo "run: Kafka broker on $LPA_KAFKA_BROKERS (watch: kcat -b $LPA_KAFKA_BROKERS -C -t omp-package-events)" >&2
echo "$LPA_KAFKA_BROKERS" >"$local_dir/kafka-bootstrap"

"$build/actors/retranslator" --config config/config.yaml &
pids+=($!)
"$build/grpc_gateway/logistic-package-api" --config config/config.yaml &
pids+=($!)
echo "run: API on :8082 (gRPC), :8000 (status), :9100 (metrics); retranslator metrics :9101; Ctrl-C stops" >&2
wait -n "${pids[@]}" || true
