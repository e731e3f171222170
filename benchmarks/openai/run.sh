#!/usr/bin/env bash
# Builds the OpenAI-embedder throughput benchmark in release mode and runs it; the Markdown table goes to
# stdout (and to benchmarks/work/openai-results.md), progress to stderr. Extra arguments are passed on,
# e.g. `benchmarks/openai/run.sh --chunks 1000 --concurrency 4,16`.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product embed-bench-openai
mkdir -p benchmarks/work
.build/release/embed-bench-openai "$@" | tee benchmarks/work/openai-results.md
