#!/usr/bin/env bash
# Benchmarks, as ratios against this machine's own ceiling measured in the same run:
#   1. the API (tools/bench_api.sh, a-c of issue 8): creates per second (lpa-bench, 8 and 64
#      concurrent gRPC callers) vs pgbench running the same transaction with as many clients
#      straight against PostgreSQL; goodput under 3x overload; phantom commits;
#   2. the retranslator (tools/bench_relay.sh, scenarios a-h of issue 7): backlogs of EVENTS
#      outbox rows delivered to Kafka and deleted vs pgbench doing the outbox's SQL alone, and vs
#      kcat producing as many messages of the same size to the same broker with the same
#      producer settings (idempotent, acks=all); steady load, scaling, faults;
#   3. package-history (tools/bench_history.sh): ingest of the topic the retranslator filled vs
#      kcat consuming it and vs pgbench writing the same history rows.
# Uses its own PostgreSQL (build/bench/pgdata, port 55433), broker and ports, so it can run next
# to tools/run.sh. Knobs: LPA_BENCH_SECONDS (10), LPA_BENCH_EVENTS (1000000), LPA_BENCH_ONLY
# (the scenarios to run, e.g. "d f": any of api a b c d e f g h; b and g compare with a, which
# then runs too, and e and g are one outage; empty: all).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source tools/lib.sh

seconds=${LPA_BENCH_SECONDS:-10}
only=" ${LPA_BENCH_ONLY:-api a b c d e f g h} "
[[ $only == *" g "* ]] && only+="e "
[[ $only == *" b "* || $only == *" e "* ]] && only+="a "
wants() { [[ $only == *" $1 "* ]]; } # scenario: is it to run?
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
  kill -CONT "${LPA_BROKER_PID:-}" 2>/dev/null || true # a scenario may have stopped it
  [[ $(type -t stop_relays) == function ]] && stop_relays
  lpa_stop_in_reverse "${pids[@]}"
  tools/pg_local.sh stop "$pg_data"
}
trap cleanup EXIT

lpa_start_broker "$build" "$dir"
pids+=("$LPA_BROKER_PID")
export LPA_LOG_LEVEL=warn LPA_GRPC_PORT=18082 LPA_STATUS_PORT=18000 LPA_METRICS_PORT=19100 LPA_REST_PORT=18080 \
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

# 1. The API (tools/bench_api.sh).
api_report=()
if wants api; then
  "$build/grpc_gateway/logistic-package-api" --config config/config.yaml 2>"$dir/api.log" &
  pids+=($!)
  await "the API server" http_ok 18000 /ready
  source tools/bench_api.sh
  # The retranslator's scenarios run without it.
  kill -TERM "${pids[-1]}"
  wait "${pids[-1]}" || true
  unset 'pids[-1]'
fi

# 2. The retranslator (tools/bench_relay.sh).
source tools/bench_relay.sh

if wants a; then
  # As many messages of the size the retranslator sent (%S: value bytes of one of its
  # messages), a key and the same headers.
  value_bytes=$(kcat -C -b "$LPA_KAFKA_BROKERS" -t omp-package-events -o beginning -c 1 -e -f '%S\n')
  awk -v n="$events" -v size="$value_bytes" 'BEGIN { v = sprintf("%" size "s", ""); gsub(/ /, "x", v);
    for (i = 1; i <= n; i++) print i "|" v }' >"$dir/kcat.in"
  kcat_args=(-P -b "$LPA_KAFKA_BROKERS" -t lpa-bench-ceiling -K '|' -X enable.idempotence=true
    -X acks=all -X linger.ms=5 -H event-id=1 -H event-type=Created -H package-seq=1)
  echo "0|warm-up" | kcat "${kcat_args[@]}" # creates the topic
  started=$(now)
  kcat "${kcat_args[@]}" <"$dir/kcat.in"
  kcat_rate=$(rate "$events" "$started" "$(now)")
fi

# 3. package-history (tools/bench_history.sh), on the topic the retranslator filled in (a).
stop_relays
history_report=()
wants a && source tools/bench_history.sh

report=$dir/report.txt
{
  echo "logistic-package-api benchmark ($(date -u +%FT%TZ), $(nproc) cores)"
  if wants api; then
    echo "API (ceiling: pgbench running tools/bench_create.sql; capacity: the best closed loop)"
    printf '%-46s %10s %12s %7s\n' "" "product/s" "ceiling/s" "ratio"
    printf '%s\n' "${api_report[@]}"
  fi
  wants a && printf '%-46s %10.0f %12.0f %7s\n' "retranslator (a) vs Kafka (kcat)" \
    "$creates_rate" "$kcat_rate" "$(ratio "$creates_rate" "$kcat_rate")"
  echo "retranslator: backlogs of $events events, batch $batch, delivered to Kafka and deleted"
  printf '%-44s %10s %12s %7s\n' "" "product/s" "ceiling/s" "ratio"
  printf '%s\n' "${relay_report[@]}"
  echo "package-history: the first records of omp-package-events into a fresh history database"
  printf '%-46s %10s %12s %7s\n' "" "product/s" "ceiling/s" "ratio"
  printf '%s\n' "${history_report[@]}"
  echo "ceilings: pgbench running tools/bench_create.sql, tools/bench_outbox.sql, tools/bench_history.sql;"
  echo "          kcat -P, idempotent, acks=all, same message size and headers"
} | tee "$report"
