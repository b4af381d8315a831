# Shared by tools/run.sh and tools/bench.sh (source it from the repository root).

# Installs what is missing and builds the binaries (no tests) into $1.
lpa_build() {
  tools/setup.sh
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPA_BUILD_TESTS=OFF >/dev/null
  cmake --build "$1" -j"$(nproc)"
}

# Starts the embedded Kafka broker in the background with the service's topic; logs go to DIR.
# Once it listens, sets LPA_BROKER_PID and exports LPA_KAFKA_BROKERS (its bootstrap address).
lpa_start_broker() {
  local build=$1 dir=$2
  "$build/tools/lpa-kafka-broker" --topic omp-package-events --partitions 6 \
    >"$dir/broker.out" 2>"$dir/broker.log" &
  LPA_BROKER_PID=$!
  for _ in $(seq 100); do
    grep -q '^bootstrap: ' "$dir/broker.out" 2>/dev/null && break
    sleep 0.1
  done
  LPA_KAFKA_BROKERS=$(sed -n 's/^bootstrap: //p' "$dir/broker.out")
  if [[ -z $LPA_KAFKA_BROKERS ]]; then
    kill "$LPA_BROKER_PID" 2>/dev/null || true
    echo "the Kafka broker did not start, see $dir/broker.log" >&2
    return 1
  fi
  export LPA_KAFKA_BROKERS
}

# Stops the given processes last-started first (services before the broker they talk to).
lpa_stop_in_reverse() {
  local pids=("$@") i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
