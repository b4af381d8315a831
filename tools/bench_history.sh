# package-history's benchmark (issue 10, part 8), sourced by tools/bench.sh after the
# retranslator's, which left omp-package-events full: uses its PostgreSQL (pg_port), its broker
# (LPA_KAFKA_BROKERS) and its helpers (await, http_ok, now, rate, ratio). Three rates over the
# same first N records of the topic, N = LPA_BENCH_HISTORY_EVENTS (200,000) or the topic's size:
#   - package-history ingesting them into a fresh package_history database (from its first record
#     consumed to its last committed; default settings);
#   - kcat consuming them (the Kafka ceiling);
#   - pgbench writing as many history rows the way the writers do (tools/bench_history.sql, as
#     many clients as writers; the database ceiling).
# Appends its lines to history_report.

history_events=${LPA_BENCH_HISTORY_EVENTS:-200000}
topic_size=$(kcat -C -b "$LPA_KAFKA_BROKERS" -t omp-package-events -o beginning -e -q -f 'x\n' | wc -l)
((history_events > topic_size)) && history_events=$topic_size

# The Kafka ceiling: kcat reading the same records.
started=$(now)
kcat -C -b "$LPA_KAFKA_BROKERS" -t omp-package-events -o beginning -c "$history_events" -e -q \
  -f '%k %s\n' >/dev/null
kcat_consume_rate=$(rate "$history_events" "$started" "$(now)")

history_metric() { # series: its value on package-history's metrics endpoint (19102), 0 before any
  exec 3<>/dev/tcp/127.0.0.1/19102 || return 1
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk -v s="$1" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' <&3
  exec 3<&-
}
LPA_HISTORY_DSN=$(LPA_DB_NAME=package_history tools/pg_local.sh start "$pg_data" "$pg_port" 2>/dev/null)
LPA_HISTORY_DSN=$LPA_HISTORY_DSN LPA_HISTORY_STATUS_PORT=18001 LPA_HISTORY_METRICS_PORT=19102 \
  LPA_HISTORY_GROUP="bench-$$" "$build/actors/package-history" --config config/config.yaml \
  2>"$dir/history.log" &
history_pid=$!
await "package-history" http_ok 19102 /metrics
consumed=logistic_package_api_history_records_consumed_total
in_flight=logistic_package_api_history_records_in_flight
until (($(history_metric "$consumed" | cut -d. -f1) > 0)); do sleep 0.05; done
started=$(now)
first=$(history_metric "$consumed" | cut -d. -f1)
until (($(history_metric "$consumed" | cut -d. -f1) >= history_events)) \
  && [[ $(history_metric "$in_flight") == 0 ]]; do sleep 0.05; done
history_rate=$(rate "$((history_events - first))" "$started" "$(now)")
kill -TERM "$history_pid"
wait "$history_pid" || true

# The database ceiling: the writers' statements, as many clients as writers, on a fresh copy.
"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d package_history \
  -c "TRUNCATE history_event, package_state"
writers=${LPA_HISTORY_WRITERS:-2}
pg_tps=$("$PG_BIN/pgbench" -n -M prepared -c "$writers" -j "$writers" -T "$seconds" \
  -f tools/bench_history.sql -h 127.0.0.1 -p "$pg_port" -U postgres package_history 2>&1 \
  | sed -n 's/.*tps = \([0-9.]*\).*/\1/p' | head -1)
pg_rows=$(awk -v t="$pg_tps" 'BEGIN { printf "%.0f", t * 500 }')
ceiling=$(awk -v a="$kcat_consume_rate" -v b="$pg_rows" 'BEGIN { print (a < b ? a : b) }')

history_report+=("$(printf '%-46s %10.0f %12.0f %7s' "history ingest vs Kafka (kcat -C)" \
  "$history_rate" "$kcat_consume_rate" "$(ratio "$history_rate" "$kcat_consume_rate")")")
history_report+=("$(printf '%-46s %10.0f %12.0f %7s' "history ingest vs PostgreSQL (pgbench)" \
  "$history_rate" "$pg_rows" "$(ratio "$history_rate" "$pg_rows")")")
history_report+=("$(printf '%-46s %10.0f %12.0f %7s  (target >= 0.6; %s records)' \
  "history ingest vs the smaller ceiling" "$history_rate" "$ceiling" \
  "$(ratio "$history_rate" "$ceiling")" "$history_events")")
