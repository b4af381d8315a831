# The API's benchmarks (issue 8, a-c), sourced by tools/bench.sh with the API server running on
# 18082 against its PostgreSQL: uses its helpers (psql, pg_port, seconds, ratio). Each scenario
# appends one line to api_report.
#   a. gRPC creates/s vs pgbench running the same single-create transaction (tools/bench_create.sql),
#      at 8 and at 64 concurrent clients;
#   b. goodput (OK/s) of an open loop offering 3x the closed-loop capacity, vs that capacity;
#   c. phantom commits after a burst with short deadlines: packages committed whose client was not
#      told OK and which no retry with an idempotency key can find.

api_report=()
api_line() { api_report+=("$(printf "$@")"); }
bench_tool() { "$build/tools/lpa-bench" --addr 127.0.0.1:18082 "$@"; }
field() { sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" <<<" $2"; } # key=value from lpa-bench's line
reset_tables() { psql -c "TRUNCATE package, package_event, idempotency_key"; }

pgbench_tps() { # clients
  "$PG_BIN/pgbench" -n -M prepared -c "$1" -j 2 -T "$seconds" -f tools/bench_create.sql \
    -h 127.0.0.1 -p "$pg_port" -U postgres logistic_package_api 2>&1 \
    | sed -n 's/.*tps = \([0-9.]*\).*/\1/p' | head -1
}

# a. Closed loop at 8 and 64 clients; the best rate is the capacity for (b).
capacity=0
for c in 8 64; do
  reset_tables
  line=$(bench_tool --clients "$c" --seconds "$seconds")
  api_rate=$(field per_second "$line")
  reset_tables
  pg_rate=$(pgbench_tps "$c")
  api_line '%-46s %10.0f %12.0f %7s  (target >= 2.0; p50 %s ms, p99 %s ms)' \
    "a. API Create, $c clients vs pgbench" "$api_rate" "$pg_rate" "$(ratio "$api_rate" "$pg_rate")" \
    "$(field p50_ms "$line")" "$(field p99_ms "$line")"
  capacity=$(awk -v a="$capacity" -v b="$api_rate" 'BEGIN { print (b > a ? b : a) }')
done

# b. Open loop at 3x capacity, 1 s deadlines: shedding must keep the goodput near capacity.
reset_tables
offered=$(awk -v c="$capacity" 'BEGIN { printf "%.0f", 3 * c }')
line=$(bench_tool --rate "$offered" --seconds "$seconds" --deadline-ms 1000)
goodput=$(field ok_per_second "$line")
api_line '%-46s %10.0f %12.0f %7s  (target >= 0.8; offered %s/s, %s shed, p99 of OK %s ms)' \
  "b. goodput at 3x overload vs capacity" "$goodput" "$capacity" "$(ratio "$goodput" "$capacity")" \
  "$offered" "$(field resource_exhausted "$line")" "$(field p99_ms "$line")"

# c. A burst at 2x capacity with 300 ms deadlines, each Create with its own idempotency key; the
# answers the clients saw are compared with what committed.
reset_tables
answers=$dir/answers.txt
burst_rate=$(awk -v c="$capacity" 'BEGIN { printf "%.0f", 2 * c }')
line=$(bench_tool --rate "$burst_rate" --seconds 5 --deadline-ms 300 --idempotency-keys \
  --ids-out "$answers")
psql <<SQL
CREATE TEMP TABLE answer (idem_key text, code text, package_id bigint);
\copy answer FROM '$answers' WITH (FORMAT text, DELIMITER ' ')
SELECT 'committed ' || (SELECT count(*) FROM package)
  || ' ok ' || (SELECT count(*) FROM answer WHERE code = 'OK')
  || ' late ' || (SELECT count(*) FROM package p WHERE NOT EXISTS
       (SELECT 1 FROM answer a WHERE a.code = 'OK' AND a.package_id = p.package_id))
  || ' phantom ' || (SELECT count(*) FROM package p WHERE NOT EXISTS
       (SELECT 1 FROM answer a WHERE a.code = 'OK' AND a.package_id = p.package_id)
       AND NOT EXISTS (SELECT 1 FROM idempotency_key k WHERE k.package_id = p.package_id))
\g $dir/phantoms.txt
SQL
read -r _ committed _ ok _ late _ phantom <"$dir/phantoms.txt"
api_line '%-46s %10s %12s %7s  (target 0; %s committed, %s told OK, %s committed after the client gave up, each found by its key)' \
  "c. phantom commits, 300 ms deadlines" "$phantom" "" "" "$committed" "$ok" "$late"
