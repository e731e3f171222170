#!/usr/bin/env bash
# Benchmarks the native all-MiniLM-L6-v2 embedder against sentence-transformers (PyTorch CPU) on the
# same workloads, back to back, at 1 thread and at every core, and prints a Markdown table with each
# run's GFLOP/s against OpenBLAS sgemm measured in the same process (the ceiling), and the CPU.
#
# Needs: the model (scripts/fetch-model.sh, or EMBED_MODEL_DIR), `pip install torch==2.13.0
# sentence-transformers` (in benchmarks/work/venv if it exists, else the python3 on PATH), and
# postgresql-doc-15 (the text source). Usage: benchmarks/bert/run.sh
# Environment: BENCH_THREADS (default: 1 and all cores): the thread counts to compare at.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
work="$repo/benchmarks/work/bert"
mkdir -p "$work"
cores="$(nproc)"
thread_counts="${BENCH_THREADS:-$( [ "$cores" -gt 1 ] && echo "1 $cores" || echo 1 )}"
python="${PYTHON:-$( [ -x benchmarks/work/venv/bin/python ] && echo benchmarks/work/venv/bin/python || echo python3 )}"

if [ -n "${EMBED_MODEL_DIR:-}" ]; then
    model=(--model "$EMBED_MODEL_DIR")
else
    scripts/fetch-model.sh >/dev/null
    model=()
fi
swift build -c release --product bert-bench 2>&1 | tail -1
bench="$(swift build -c release --show-bin-path)/bert-bench"

if [ ! -f "$work/chunks.json" ] || [ ! -f "$work/sentences.json" ]; then
    "$python" benchmarks/bert/bench.py workloads "$work"
fi

results="$work/results.jsonl"
: >"$results"
for workload in chunks sentences; do
    for threads in $thread_counts; do
        BENCH_THREADS="$threads" "$python" benchmarks/bert/bench.py reference "$work/$workload.json" 2>/dev/null >>"$results"
        # One forward pass per thread with single-threaded BLAS (the default) ...
        "$bench" "$work/$workload.json" "${model[@]}" --passes "$threads" --blas-threads 1 >>"$results"
        if [ "$threads" -eq 1 ]; then
            # The portable element-wise kernels, for what the per-CPU variants gain.
            "$bench" "$work/$workload.json" "${model[@]}" --passes 1 --blas-threads 1 --kernels portable >>"$results"
        fi
        if [ "$threads" -gt 1 ]; then
            # ... then one pass with multi-threaded BLAS, to show which is faster here ...
            "$bench" "$work/$workload.json" "${model[@]}" --passes 1 --blas-threads "$threads" >>"$results"
            # ... and as the ingest pipeline calls it: batches of 64 texts.
            "$bench" "$work/$workload.json" "${model[@]}" --passes "$threads" --blas-threads 1 --batch 64 >>"$results"
        fi
    done
done

echo
echo "$cores cores, $(lscpu | sed -n 's/^Model name: *//p'); flags of note:" \
    "$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8)$' | tr '\n' ' ')"
"$python" benchmarks/bert/bench.py report "$results"
