#!/usr/bin/env bash
# Container health check that needs no curl (the images have none): GET
# http://127.0.0.1:PORT/PATH through bash's /dev/tcp; healthy when the answer is 200.
# Usage: lpa-healthcheck PORT PATH   (installed under that name by tools/docker/Dockerfile)
set -euo pipefail
usage="usage: lpa-healthcheck PORT PATH"
port=${1:?$usage}
path=${2:?$usage}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3
status=${status%$'\r'}
if [[ $status != HTTP/1.[01]\ 200\ * ]]; then
  echo "GET $path on :$port: ${status:-no answer}" >&2
  exit 1
fi
