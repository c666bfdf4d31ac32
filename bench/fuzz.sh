#!/usr/bin/env bash
# bench/fuzz.sh — the long fuzzing runs (make test runs each target for seconds).
#   bash bench/fuzz.sh [FUZZTIME]      default 5m per target
set -euo pipefail
cd "$(dirname "$0")/.."
make fuzz FUZZTIME="${1:-5m}"
