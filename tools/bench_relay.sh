# The retranslator's benchmarks (issue 7, a-h), sourced by tools/bench.sh after its API part:
# uses its PostgreSQL (psql, pg_port), its broker (LPA_KAFKA_BROKERS, LPA_BROKER_PID) and its
# helpers (await, http_ok, now, rate, ratio). Each scenario appends one line to relay_report.
# Knobs: LPA_BENCH_EVENTS (backlog size, 1,000,000); LPA_BENCH_ONLY (see tools/bench.sh).

events=${LPA_BENCH_EVENTS:-1000000}
batch=${LPA_RETRANSLATOR_BATCH_SIZE:-100}
relay_report=()
relay_pids=()
report_line() { relay_report+=("$(printf "$@")"); }

# Starts retranslator number I (metrics on 19101 + I) and waits until it serves metrics.
start_relay() {
  local i=$1 port=$((19101 + $1))
  LPA_RETRANSLATOR_METRICS_PORT=$port "$build/actors/retranslator" --config config/config.yaml \
    2>>"$dir/retranslator-$i.log" &
  relay_pids[i]=$!
  await "retranslator $i" http_ok "$port" /metrics
}
stop_relays() {
  local pid
  for pid in "${relay_pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${relay_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${relay_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  relay_pids=()
}
live_owners() { psql -c "SELECT count(DISTINCT owner) FROM relay_slot WHERE lease_until > now()"; }
slots_of_pid() { psql -c "SELECT count(*) FROM relay_slot WHERE owner LIKE '%:$1:%'"; }
waiting() { psql -c "SELECT count(*) FROM package_event"; }
# An index probe, not count(*): the watcher must not take the CPU it measures. Not EXISTS either:
# PostgreSQL plans that as a sequential scan, which walks every deleted row before the first live
# one (0.4 s per probe near the end of a drain).
outbox_empty() {
  [[ -z $(psql -c "SELECT package_event_id FROM package_event ORDER BY package_event_id LIMIT 1") ]]
}
# What autovacuum does to a drained outbox while the retranslators idle: truncates it to no pages
# (their next reads are planned for an empty table). Scenarios that compare runs do it before each
# backlog, so they do not depend on when autovacuum last ran.
vacuum_idle_outbox() {
  psql -c "VACUUM ANALYZE package_event"
  sleep 2 # every consumer polls (poll_interval 1 s) the empty outbox
}
await_drained() { until outbox_empty; do sleep 0.1; done; }
metrics_of() { exec 3<>"/dev/tcp/127.0.0.1/$((19101 + $1))" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3; exec 3<&-; }
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

payload="jsonb_build_object('ID', p, 'Title', 'bench-' || p, 'Material', 'cardboard',
  'MaximumVolume', 1500.5, 'Reusable', true, 'Created', now(), 'Updated', NULL)"
# N Created events of as many packages (ids from FIRST, 1 by default), committed at once like
# API writes.
creates_backlog() {
  psql -c "INSERT INTO package_event (package_id, event_type, package_seq, payload)
           SELECT p, 'Created', 1, $payload FROM generate_series(${2:-1}, ${2:-1} + $1 - 1) p"
}
# About N events of realistic shapes: packages with 1 to 20 events each (created, updated, half
# of them removed at the end) and 5 hot packages with 2,000 events each, interleaved the way
# live traffic is (each package's events spread over the whole backlog, in sequence order).
mixed_backlog() {
  psql -c "WITH pk AS (SELECT p, CASE WHEN p <= 5 THEN 2000
                                      ELSE 1 + (hashint4(p) & 2147483647) % 20 END AS c
                       FROM generate_series(1, ($1 - 10000) * 2 / 21) p)
           INSERT INTO package_event (package_id, event_type, package_seq, payload)
           SELECT p, t, k, CASE WHEN t <> 'Removed' THEN $payload END
           FROM pk, generate_series(1, c) k,
                LATERAL (SELECT CASE WHEN k = 1 THEN 'Created' WHEN k = c AND p % 2 = 0
                                     THEN 'Removed' ELSE 'Updated' END::event_type_enum AS t) t
           ORDER BY k::float8 / c, p"
}
# Drain rate of a backlog already committed, by the running retranslators.
time_drain() { # events
  local started
  started=$(now)
  await_drained
  rate "$1" "$started" "$(now)"
}
# Quantile Q of the commit_to_ack histogram between two /metrics snapshots.
ack_quantile() { # q before-file after-file
  awk -v q="$1" '
    /^logistic_package_api_retranslator_commit_to_ack_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      if (FILENAME == ARGV[1]) before[le] = $NF; else { after[le] = $NF; order[n++] = le }
    }
    END {
      total = after["+Inf"] - before["+Inf"]
      for (i = 0; i < n; i++) {
        le = order[i]; c = after[le] - before[le]
        if (c >= q * total) { printf "%s", le; exit }
      }
    }' "$2" "$3"
}

# The schema: the API migrated it when it ran; else a retranslator does, once it holds slots.
if ! wants api; then
  start_relay 0
  await "the schema" eval '[[ $(live_owners 2>/dev/null) == 1 ]]'
  stop_relays
fi
psql -c "TRUNCATE package, package_event RESTART IDENTITY"
psql -c "CREATE SEQUENCE bench_seq" # tools/bench_steady.sql

# a. Creates-only backlog vs the outbox SQL ceiling (pgbench: slot range scan + delete).
if wants a; then
  creates_backlog "$events"
  slots=$(psql -c "SELECT slot_count FROM relay_settings")
  started=$(now)
  "$PG_BIN/pgbench" -n -M extended -c 2 -j 2 -t $(((events / slots / batch + 2) * slots / 2)) \
    -D batch="$batch" -D k=0 -D clients=2 -D slots="$slots" -f tools/bench_outbox.sql \
    -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api >/dev/null
  outbox_rate=$(rate "$events" "$started" "$(now)")
  [[ $(waiting) == 0 ]] || { echo "bench: the outbox ceiling left events behind" >&2; exit 1; }
  start_relay 0
  creates_backlog "$events"
  creates_rate=$(time_drain "$events")
  report_line '%-44s %10.0f %12.0f %7s  target >= 0.6' "a. creates backlog vs outbox SQL" \
    "$creates_rate" "$outbox_rate" "$(ratio "$creates_rate" "$outbox_rate")"
fi

# b. Mixed backlog vs (a).
if wants b; then
  mixed_backlog "$events"
  mixed_events=$(waiting)
  mixed_rate=$(time_drain "$mixed_events")
  report_line '%-44s %10.0f %12.0f %7s  target >= 0.8' "b. mixed backlog ($mixed_events) vs (a)" \
    "$mixed_rate" "$creates_rate" "$(ratio "$mixed_rate" "$creates_rate")"
fi

# c. Steady writes of 5,000 events/s (500 transactions of 10, skewed packages): commit -> ack
# latency; actor mailboxes sampled.
if wants c; then
  [[ -n ${relay_pids[0]:-} ]] || start_relay 0 # when (a) did not run
  metrics_of 0 >"$dir/steady.before"
  "$PG_BIN/pgbench" -n -M prepared -c 8 -j 2 -R 500 -T 30 -f tools/bench_steady.sql \
    -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api >"$dir/steady.pgbench" 2>&1 &
  steady=$!
  max_mailbox=0
  while kill -0 "$steady" 2>/dev/null; do
    depth=$(metrics_of 0 | awk '/^logistic_package_api_actor_mailbox_depth/ { if ($NF > m) m = $NF }
                                END { print m + 0 }')
    ((depth > max_mailbox)) && max_mailbox=$depth
    sleep 1
  done
  wait "$steady"
  await_drained
  metrics_of 0 >"$dir/steady.after"
  steady_rate=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/steady.pgbench" | awk '{ print $1 * 10 }')
  report_line '%-44s %10.0f  p50 <= %ss, p99 <= %ss (target p99 <= 0.1 s); max mailbox %s' \
    "c. steady events/s, commit -> ack" "$steady_rate" "$(ack_quantile 0.5 "$dir/steady.before" \
    "$dir/steady.after")" "$(ack_quantile 0.99 "$dir/steady.before" "$dir/steady.after")" \
    "$max_mailbox"
fi

# e + g. Kafka down (broker SIGSTOPped) while the backlog grows to EVENTS: the relay's memory;
# then, after 60 s of outage, the drain rate vs (a).
if wants e; then
  kill -STOP "$LPA_BROKER_PID"
  outage=$(now)
  rss_samples=("$(rss_mb "${relay_pids[0]}")")
  for i in $(seq 0 9); do
    creates_backlog $((events / 10)) $((i * events / 10 + 1))
    rss_samples+=("$(rss_mb "${relay_pids[0]}")")
  done
  while awk -v a="$outage" -v b="$(now)" 'BEGIN { exit !(b - a < 60) }'; do sleep 1; done
  report_line '%-44s RSS MB while it grew: %s (target <= 100, flat)' \
    "e. broker down, backlog to $events" "${rss_samples[*]}"
  kill -CONT "$LPA_BROKER_PID"
  backlog_events=$(waiting)
  recovery_rate=$(time_drain "$backlog_events")
  report_line '%-44s %10.0f %12.0f %7s  target >= 0.8' "g. drain after a 60 s outage vs (a)" \
    "$recovery_rate" "$creates_rate" "$(ratio "$recovery_rate" "$creates_rate")"
fi
stop_relays

# d. 1, 2 and 4 retranslators on one database: total drain rate.
if wants d; then
  scale=()
  for n in 1 2 4; do
    for ((i = 0; i < n; i++)); do start_relay "$i"; done
    until [[ $(live_owners) == "$n" ]]; do sleep 0.2; done
    vacuum_idle_outbox
    creates_backlog $((events / 2))
    scale+=("$n: $(time_drain $((events / 2)))/s")
    stop_relays
  done
  report_line '%-44s %s (target: no drop as relays are added)' "d. relays on one database" \
    "${scale[*]}"
fi

# f. 3 retranslators draining a backlog; one SIGSTOPped for 30 s: the others' rate, and when its
# slots moved.
if wants f; then
  for i in 0 1 2; do start_relay "$i"; done
  until [[ $(live_owners) == 3 ]]; do sleep 0.2; done
  vacuum_idle_outbox
  creates_backlog "$events"
  sleep 5
  before=$(waiting)
  sleep 5
  rate_all=$(awk -v a="$before" -v b="$(waiting)" 'BEGIN { print (a - b) / 5 }')
  frozen=${relay_pids[2]}
  kill -STOP "$frozen"
  stopped=$(now)
  before=$(waiting)
  moved=
  while awk -v a="$stopped" -v b="$(now)" 'BEGIN { exit !(b - a < 20) }'; do
    [[ -z $moved && $(slots_of_pid "$frozen") == 0 ]] \
      && moved=$(awk -v a="$stopped" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    sleep 0.5
  done
  rate_frozen=$(awk -v a="$before" -v b="$(waiting)" -v s="$stopped" -v e="$(now)" \
    'BEGIN { print (a - b) / (e - s) }')
  while awk -v a="$stopped" -v b="$(now)" 'BEGIN { exit !(b - a < 30) }'; do sleep 0.5; done
  kill -CONT "$frozen"
  await_drained
  stop_relays
  report_line '%-44s %10.0f %12.0f %7s  target >= 0.5; its slots moved after %s s' \
    "f. one of 3 frozen for 30 s: rate vs before" "$rate_frozen" "$rate_all" \
    "$(ratio "$rate_frozen" "$rate_all")" "${moved:-(not within 20)}"
fi

# h. 10 kill -9s under steady writes (2,000 events/s): duplicates in the topic, as a share of
# events.
if wants h; then
  export LPA_KAFKA_TOPIC=lpa-bench-duplicates
  start_relay 0
  "$PG_BIN/pgbench" -n -M prepared -c 2 -j 2 -R 200 -T 30 -f tools/bench_steady.sql \
    -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api >"$dir/kills.pgbench" 2>&1 &
  steady=$!
  for _ in $(seq 10); do
    sleep 2.5
    kill -KILL "${relay_pids[0]}"
    wait "${relay_pids[0]}" 2>/dev/null || true
    start_relay 0
  done
  wait "$steady"
  await_drained
  stop_relays
  unset LPA_KAFKA_TOPIC
  kcat -C -b "$LPA_KAFKA_BROKERS" -t lpa-bench-duplicates -o beginning -e -q -f '%h\n' \
    | sed -n 's/.*event-id=\([0-9]*\).*/\1/p' >"$dir/kills.ids"
  read -r records distinct < <(sort "$dir/kills.ids" | uniq -c | awk '{ r += $1; d++ } END { print r, d }')
  written=$(($(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
    "$dir/kills.pgbench") * 10))
  report_line '%-44s %s written, %s distinct in the topic, %s records: duplicates %s%%' \
    "h. 10 kill -9s under 2,000 writes/s" "$written" "$distinct" "$records" \
    "$(awk -v r="$records" -v d="$distinct" 'BEGIN { printf "%.1f", 100 * (r - d) / d }')"
fi
