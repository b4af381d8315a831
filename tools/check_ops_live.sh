#!/usr/bin/env bash
# Live check of the dashboards and alerts against the real Prometheus (Debian's prometheus
# package): starts a project-local PostgreSQL, the embedded Kafka broker, the API server, the
# retranslator and a stand-in OTLP collector on free loopback ports, then Prometheus with
# config/prometheus/prometheus.yml rewritten to scrape those ports every second (rules:
# config/prometheus/alerts.yml). After some load (lpa-bench open loop: creates, describes,
# lists, updates; describes of missing ids through the REST gateway so not-found counters
# move), once Prometheus has scraped both jobs and seen events sent to Kafka, it evaluates
# through Prometheus's HTTP API (tools/check_ops_live.py check):
#   - every panel target of every dashboard (Grafana's $__rate_interval/$__interval -> 1m,
#     $__range -> 5m, the dashboards' template variables -> ".*", i.e. "All"): status success,
#     result type vector/matrix/scalar, and at least one series;
#   - every template-variable query label_values(M, L), as count by (L) (M): at least one series;
#   - every alert rule's expr: it must evaluate (status success; it is normally empty, the line
#     says whether the condition holds), and the expr with its comparisons against constants
#     removed (e.g. `increase(x[5m]) > 0` -> `increase(x[5m])`) must return at least one series;
#   - /api/v1/rules: all alert rules loaded, each with health "ok" (Prometheus's own evaluation).
# What counts as data: a counter that never moved (restarts, failures, slot takeovers) is a
# series with value 0; histogram_quantile over a histogram whose rate is 0 in the window is a
# series with value NaN. Both are series, so they count. The tracing counters exist only when an
# OTLP endpoint is configured, hence the stand-in collector (it answers 200 to every export).
#
#   tools/check_ops_live.sh BUILD_DIR     # ctest runs it as ops.check_ops_live
# Knob: LPA_CHECK_OPS_LIVE_SECONDS (10), seconds of load.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source tools/lib.sh

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(realpath "$1")
seconds=${LPA_CHECK_OPS_LIVE_SECONDS:-10}
for tool in prometheus python3; do
  command -v "$tool" >/dev/null || { echo "check_ops_live: $tool missing (run tools/setup.sh)" >&2; exit 1; }
done
for bin in grpc_gateway/logistic-package-api actors/retranslator tools/lpa-kafka-broker tools/lpa-bench; do
  [[ -x $build/$bin ]] || { echo "check_ops_live: $build/$bin not built" >&2; exit 1; }
done

log() { echo "check_ops_live: $*" >&2; }
dir=$build/check_ops_live
pg_data=$dir/pgdata
tools/pg_local.sh stop "$pg_data" 2>/dev/null || true # left over by a killed run
rm -rf "$dir"
mkdir -p "$dir"

pids=()
cleanup() {
  local rc=$?
  lpa_stop_in_reverse "${pids[@]}"
  tools/pg_local.sh stop "$pg_data"
  ((rc == 0)) || log "failed; logs in $dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Free loopback ports, chosen by the kernel (none of the defaults 8080/8082/8000/9100/9101, so
# this runs beside tools/run.sh and other tests).
read -r pg_port grpc_port status_port rest_port metrics_port relay_metrics_port prom_port otlp_port \
  < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

# Polls a command every 0.2 s until it succeeds; gives up after TIMEOUT seconds (generous:
# ASan builds are slow) or as soon as process PID (- for none) has exited.
await() {
  local what=$1 timeout=$2 pid=$3 deadline
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ $pid != - ]] && ! kill -0 "$pid" 2>/dev/null; then
      log "$what: the process exited, see the logs"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$what: not within ${timeout}s"
      exit 1
    fi
    sleep 0.2
  done
}
http_ok() { python3 tools/check_ops_live.py http-get "$1"; }
prom=http://127.0.0.1:$prom_port
prom_value() { python3 tools/check_ops_live.py query-value "$prom" "$1"; }
prom_true() { [[ -n $(prom_value "$1") ]]; } # the query returns a sample

LPA_DB_DSN=$(tools/pg_local.sh start "$pg_data" "$pg_port")
export LPA_DB_DSN
log "PostgreSQL on 127.0.0.1:$pg_port"

# Stand-in OTLP/HTTP collector: 200 to every export, so the tracing counters are registered.
python3 - "$otlp_port" >"$dir/otlp.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)

lpa_start_broker "$build" "$dir"
pids+=("$LPA_BROKER_PID")
export LPA_LOG_LEVEL=warn LPA_GRPC_PORT=$grpc_port LPA_STATUS_PORT=$status_port \
  LPA_REST_PORT=$rest_port LPA_METRICS_PORT=$metrics_port \
  LPA_RETRANSLATOR_METRICS_PORT=$relay_metrics_port \
  LPA_TRACING_OTLP_ENDPOINT=http://127.0.0.1:$otlp_port

"$build/grpc_gateway/logistic-package-api" --config config/config.yaml 2>"$dir/api.log" &
pids+=($!)
await "the API server (readiness)" 120 "${pids[-1]}" http_ok "http://127.0.0.1:$status_port/ready"
"$build/actors/retranslator" --config config/config.yaml 2>"$dir/retranslator.log" &
pids+=($!)
await "the retranslator's metrics" 120 "${pids[-1]}" http_ok "http://127.0.0.1:$relay_metrics_port/metrics"
log "API on :$grpc_port (REST :$rest_port, metrics :$metrics_port), retranslator metrics :$relay_metrics_port"

python3 tools/check_ops_live.py config "$dir/prometheus.yml" "$metrics_port" "$relay_metrics_port"
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
pids+=($!)
await "Prometheus (readiness)" 60 "${pids[-1]}" http_ok "$prom/-/ready"
await "Prometheus scraping both jobs (up == 1)" 60 "${pids[-1]}" \
  prom_true 'count(up{job=~"api|retranslator"} == 1) == 2'
log "Prometheus on :$prom_port scrapes both jobs"

# Load: lpa-bench's open loop, and describes of ids that do not exist through the REST gateway
# (lpa-bench describes only ids it created). lpa-bench exits 1 when a call was not OK.
log "load for ${seconds}s"
"$build/tools/lpa-bench" --addr "127.0.0.1:$grpc_port" --rate 100 --seconds "$seconds" \
  --mix create=60,describe=20,list=10,update=10 >"$dir/bench.out" 2>"$dir/bench.log" &
bench=$!
missing=$(python3 tools/check_ops_live.py get-missing "http://127.0.0.1:$rest_port/v1/packages/" "$seconds")
wait "$bench" || [[ $? == 1 ]] || { log "lpa-bench failed, see $dir/bench.log"; exit 1; }
log "lpa-bench: $(cat "$dir/bench.out")"
log "describes of missing ids through REST: $missing"

# Synchronization: Prometheus has seen the load's results (not a fixed wait).
await "not-found counter in Prometheus" 60 - prom_true 'logistic_package_api_not_found_total > 0'
await "events sent to Kafka in Prometheus" 120 - \
  prom_true 'sum(logistic_package_api_retranslator_events_sent_total) > 0'
await "commit-to-ack histogram in Prometheus" 60 - \
  prom_true 'sum(logistic_package_api_retranslator_commit_to_ack_seconds_count) > 0'

python3 tools/check_ops_live.py check "$prom"
