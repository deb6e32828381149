#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each (first argument, e.g. 20s).
set -euo pipefail
fuzztime=${1:-20s}
cd "$(dirname "$0")/.."
found=0
for pkg in $(go list ./...); do
  for fn in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    found=1
    echo "fuzz: $pkg $fn ($fuzztime)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets found"; exit 1; }
