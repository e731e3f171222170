#!/usr/bin/env bash
# Builds the embedding-fleet benchmark in release mode and runs it; the Markdown tables go to stdout (and to
# benchmarks/work/fleet-results.md), progress to stderr. Extra arguments are passed on,
# e.g. `benchmarks/fleet/run.sh --texts 16000 --latency-ms 20 --capacity 2`.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product embed-bench-fleet
mkdir -p benchmarks/work
.build/release/embed-bench-fleet "$@" | tee benchmarks/work/fleet-results.md
