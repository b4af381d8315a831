#!/usr/bin/env bash
# Prints, one per line, the Debian packages that ship the shared libraries the given binaries
# load (ldd). The runtime stage of tools/docker/Dockerfile installs exactly these, so it follows
# the build's dependencies without a second package list.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 BINARY..." >&2; exit 2; }

libs=$(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
for lib in $libs; do
  real=$(readlink -f "$lib")
  found=""
  # Debian 12 merged /lib into /usr/lib; dpkg knows each file under the path its package used.
  for path in "$lib" "$real" "/usr${lib#/usr}" "${lib#/usr}" "/usr${real#/usr}" "${real#/usr}"; do
    if found=$(dpkg-query -S "$path" 2>/dev/null); then
      break
    fi
  done
  [[ -n $found ]] || { echo "$0: no installed package ships $lib" >&2; exit 1; }
  echo "${found%%:*}"
done | sort -u
