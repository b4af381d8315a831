#!/usr/bin/env bash
# Static checks of the operations config; needs no Docker engine and no running service:
# docker-compose.yml (Debian's docker-compose), the Grafana dashboards and provisioning and the
# metric names of dashboards and alerts (tools/check_ops.py), the Prometheus config and alert
# rules (promtool check) and the alerts' unit tests (promtool test rules).
# The tools come from tools/setup.sh. ctest runs this as ops.check_ops.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in docker-compose promtool python3; do
  command -v "$tool" >/dev/null || { echo "check_ops: $tool missing (run tools/setup.sh)" >&2; exit 1; }
done

step() { echo "check_ops: $*" >&2; "$@"; }
step docker-compose --file docker-compose.yml config --quiet
step tools/check_ops.py
step promtool check config config/prometheus/prometheus.yml
step promtool check rules config/prometheus/alerts.yml
step promtool test rules config/prometheus/alerts_test.yml
echo "check_ops: passed" >&2
