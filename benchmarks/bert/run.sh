#!/usr/bin/env bash
# Benchmarks the native all-MiniLM-L6-v2 embedder against sentence-transformers (PyTorch CPU) on the
# same workloads, back to back, and prints a Markdown table.
#
# Needs: the model (scripts/fetch-model.sh), `pip install torch==2.13.0 sentence-transformers`,
# and postgresql-doc-15 (the text source). Usage: benchmarks/bert/run.sh
# Environment: BENCH_THREADS (default: all cores) for PyTorch's thread count; ours uses the same cores.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
work="$repo/benchmarks/work/bert"
mkdir -p "$work"
threads="${BENCH_THREADS:-$(nproc)}"

scripts/fetch-model.sh >/dev/null
swift build -c release --product bert-bench 2>&1 | tail -1
bench="$(swift build -c release --show-bin-path)/bert-bench"

if [ ! -f "$work/chunks.json" ] || [ ! -f "$work/sentences.json" ]; then
    python3 benchmarks/bert/bench.py workloads "$work"
fi

results="$work/results.jsonl"
: >"$results"
for workload in chunks sentences; do
    BENCH_THREADS="$threads" python3 benchmarks/bert/bench.py reference "$work/$workload.json" 2>/dev/null >>"$results"
    # One forward pass per core with single-threaded BLAS (the default), then one pass with
    # multi-threaded BLAS, to show which is faster here.
    "$bench" "$work/$workload.json" --passes "$threads" --blas-threads 1 >>"$results"
    "$bench" "$work/$workload.json" --passes 1 --blas-threads "$threads" >>"$results"
    # As the ingest pipeline calls it: batches of 64 texts.
    "$bench" "$work/$workload.json" --passes "$threads" --blas-threads 1 --batch 64 >>"$results"
done

echo
echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), threads=$threads"
python3 benchmarks/bert/bench.py report "$results"
