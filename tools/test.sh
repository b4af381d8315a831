#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with AddressSanitizer and
# UBSan, and runs the whole ctest suite (the integration and fault tests start and stop their
# own throwaway PostgreSQL clusters).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
build=${LPA_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DLPA_SANITIZE=ON -DLPA_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
# Leaks are reported by LeakSanitizer at exit; halt on the first UB report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
