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
    # Go's fuzzing engine can end a clean run with "context deadline exceeded" when -fuzztime
    # runs out mid-execution, writing no failing input; that is retried once. A real failure
    # writes its input under testdata/fuzz and fails again.
    if ! out=$(go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      echo "$out"
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
        echo "fuzz: $fn: the engine's deadline flake; running it again"
        go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg"
      else
        exit 1
      fi
    else
      echo "$out" | tail -n 3
    fi
  done
done
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets found"; exit 1; }
