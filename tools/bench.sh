#!/usr/bin/env bash
# Benchmarks, as ratios against this machine's own ceiling measured in the same run:
#   1. API creates per second (lpa-bench, CLIENTS concurrent gRPC callers) vs pgbench running the
#      same transaction with as many clients straight against PostgreSQL;
#   2. retranslator events per second (a backlog of EVENTS outbox rows delivered to Kafka and
#      deleted) vs kcat producing as many messages of the same size to the same broker with the
#      same producer settings (idempotent, acks=all).
# Uses its own PostgreSQL (build/bench/pgdata, port 55433), broker and ports, so it can run next
# to tools/run.sh. Knobs: LPA_BENCH_SECONDS (10), LPA_BENCH_CLIENTS (8), LPA_BENCH_EVENTS (100000).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source tools/lib.sh

seconds=${LPA_BENCH_SECONDS:-10}
clients=${LPA_BENCH_CLIENTS:-8}
events=${LPA_BENCH_EVENTS:-100000}
build=${LPA_BUILD_DIR:-build}
lpa_build "$build" >/dev/null

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
dir=$root/$build/bench
pg_port=55433
pg_data=$dir/pgdata
tools/pg_local.sh stop "$pg_data" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir"
export LPA_DB_DSN
LPA_DB_DSN=$(tools/pg_local.sh start "$pg_data" "$pg_port")
psql() { "$PG_BIN/psql" -X -q -t -A -h 127.0.0.1 -p "$pg_port" -U postgres -d logistic_package_api "$@"; }

pids=()
cleanup() {
  lpa_stop_in_reverse "${pids[@]}"
  tools/pg_local.sh stop "$pg_data"
}
trap cleanup EXIT

lpa_start_broker "$build" "$dir"
pids+=("$LPA_BROKER_PID")
export LPA_LOG_LEVEL=warn LPA_GRPC_PORT=18082 LPA_STATUS_PORT=18000 LPA_METRICS_PORT=19100 \
  LPA_RETRANSLATOR_METRICS_PORT=19101

http_ok() { # port path: true on HTTP 200
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3
  local status
  read -r _ status _ <&3 || true
  exec 3<&-
  [[ $status == 200 ]]
}
await() { # what, command...: waits up to 30 s for the command to succeed
  local what=$1
  shift
  for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
  echo "bench: $what did not come up" >&2
  exit 1
}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }

# 1. API writes vs pgbench.
"$build/grpc_gateway/logistic-package-api" --config config/config.yaml 2>"$dir/api.log" &
pids+=($!)
await "the API server" http_ok 18000 /ready
api_line=$("$build/tools/lpa-bench" --addr 127.0.0.1:18082 --clients "$clients" --seconds "$seconds")
api_rate=$(sed -n 's/.*per_second=\([0-9.]*\).*/\1/p' <<<"$api_line")
pg_line=$("$PG_BIN/pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" \
  -f tools/bench_create.sql -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api 2>&1 \
  | grep 'tps = ' | head -1)
pg_rate=$(sed -n 's/.*tps = \([0-9.]*\).*/\1/p' <<<"$pg_line")

# 2. Retranslator delivery vs kcat. The API is stopped; the backlog replaces what step 1 wrote.
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" || true
unset 'pids[-1]'
backlog() { # EVENTS Created events of as many packages, committed at once like API writes
  psql -c "INSERT INTO package_event (package_id, event_type, package_seq, payload)
           SELECT p, 'Created', 1, jsonb_build_object('ID', p, 'Title', 'bench-' || p,
             'Material', 'cardboard', 'MaximumVolume', 1500.5, 'Reusable', true,
             'Created', now(), 'Updated', NULL)
           FROM generate_series(1, $events) p"
}
psql -c "TRUNCATE package, package_event RESTART IDENTITY"
batch=${LPA_RETRANSLATOR_BATCH_SIZE:-100}
backlog
started=$(now)
"$PG_BIN/pgbench" -n -M extended -c 2 -j 2 -t $((events / batch / 2 + 1)) -D batch="$batch" \
  -f tools/bench_outbox.sql -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api >/dev/null
outbox_rate=$(rate "$events" "$started" "$(now)")
psql -c "TRUNCATE package_event"

"$build/actors/retranslator" --config config/config.yaml 2>"$dir/retranslator.log" &
pids+=($!)
await "the retranslator" http_ok 19101 /metrics
backlog
started=$(now)
# An index probe, not count(*): the watcher must not take the CPU it measures.
until [[ $(psql -c "SELECT NOT EXISTS (SELECT 1 FROM package_event)") == t ]]; do sleep 0.1; done
relay_rate=$(rate "$events" "$started" "$(now)")

# As many messages of the size the retranslator sent (%S: value bytes of one of its messages),
# a key and the same headers.
value_bytes=$(kcat -C -b "$LPA_KAFKA_BROKERS" -t omp-package-events -o beginning -c 1 -e -f '%S\n')
awk -v n="$events" -v size="$value_bytes" 'BEGIN { v = sprintf("%" size "s", ""); gsub(/ /, "x", v);
  for (i = 1; i <= n; i++) print i "|" v }' >"$dir/kcat.in"
kcat_args=(-P -b "$LPA_KAFKA_BROKERS" -t lpa-bench-ceiling -K '|' -X enable.idempotence=true
  -X acks=all -X linger.ms=5 -H event-id=1 -H event-type=Created -H package-seq=1)
echo "0|warm-up" | kcat "${kcat_args[@]}" # creates the topic
started=$(now)
kcat "${kcat_args[@]}" <"$dir/kcat.in"
kcat_rate=$(rate "$events" "$started" "$(now)")

report=$dir/report.txt
{
  echo "logistic-package-api benchmark ($(date -u +%FT%TZ), $(nproc) cores)"
  printf '%-38s %12s %14s %7s\n' "what" "product/s" "ceiling/s" "ratio"
  printf '%-38s %12.0f %14.0f %7s\n' "API Create, $clients clients" "$api_rate" "$pg_rate" \
    "$(ratio "$api_rate" "$pg_rate")"
  printf '%-38s %12.0f %14.0f %7s\n' "retranslator vs Kafka (kcat)" "$relay_rate" "$kcat_rate" \
    "$(ratio "$relay_rate" "$kcat_rate")"
  printf '%-38s %12.0f %14.0f %7s\n' "retranslator vs outbox SQL (pgbench)" "$relay_rate" \
    "$outbox_rate" "$(ratio "$relay_rate" "$outbox_rate")"
  echo "API: $api_line"
  echo "retranslator: $events events, batch $batch, delivered to Kafka and deleted"
  echo "ceilings: pgbench running tools/bench_create.sql and tools/bench_outbox.sql;"
  echo "          kcat -P, idempotent, acks=all, same message size and headers"
} | tee "$report"
