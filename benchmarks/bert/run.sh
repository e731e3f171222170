#!/usr/bin/env bash
# Benchmarks the native all-MiniLM-L6-v2 embedder against sentence-transformers (PyTorch CPU) on the
# same workloads, back to back, at 1 thread and at every core, and prints a Markdown table with each
# run's GFLOP/s against OpenBLAS sgemm measured in the same process (the ceiling), and the CPU.
#
# Needs: the model (scripts/fetch-model.sh, or EMBED_MODEL_DIR), `pip install torch==2.13.0
# sentence-transformers` (in benchmarks/work/venv if it exists, else the python3 on PATH), and
# postgresql-doc-15 (the text source). Usage: benchmarks/bert/run.sh
# Environment: BENCH_THREADS (default: 1 and all cores): the thread counts to compare at; BERT_PARTS
# (default models,pipeline,gate): the model tables against sentence-transformers, the PostgreSQL manual's
# ingest against the model alone on the same texts, and the reduced precisions' cosines against fp32 on 2,000
# of the manual's chunks (nDCG: benchmarks/retrieval/run.sh --ingest-variant 'bf16=--precision bf16').
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
    embed_model=(--model-dir "$EMBED_MODEL_DIR")
else
    scripts/fetch-model.sh >/dev/null
    model=()
    embed_model=()
fi
swift build -c release --product bert-bench 2>&1 | tail -1
bench="$(swift build -c release --show-bin-path)/bert-bench"

if [ ! -f "$work/chunks.json" ] || [ ! -f "$work/sentences.json" ]; then
    "$python" benchmarks/bert/bench.py workloads "$work"
fi

# bf16 rows only where the CPU has AVX512_BF16 (bert-bench refuses them elsewhere, with the reason).
precisions="fp32"
grep -qw avx512_bf16 /proc/cpuinfo && precisions="fp32 bf16"
parts="${BERT_PARTS:-models,pipeline,gate}"

results="$work/results.jsonl"
[[ ",$parts," == *",models,"* ]] && : >"$results"
for workload in chunks sentences; do
    [[ ",$parts," == *",models,"* ]] || break
    for threads in $thread_counts; do
        BENCH_THREADS="$threads" "$python" benchmarks/bert/bench.py reference "$work/$workload.json" 2>/dev/null >>"$results"
        # One forward pass per thread with single-threaded BLAS (the default), in each precision the CPU has ...
        for precision in $precisions; do
            "$bench" "$work/$workload.json" "${model[@]}" --passes "$threads" --blas-threads 1 --precision "$precision" >>"$results"
        done
        if [ "$threads" -eq 1 ]; then
            # The portable path: OpenBLAS and the portable element-wise kernels, which every CPU runs. With
            # oneDNN present (AVX-512), also OpenBLAS with this CPU's kernels, for what oneDNN gains.
            "$bench" "$work/$workload.json" "${model[@]}" --passes 1 --blas-threads 1 --kernels portable --matrix openblas >>"$results"
            grep -qw avx512f /proc/cpuinfo &&
                "$bench" "$work/$workload.json" "${model[@]}" --passes 1 --blas-threads 1 --matrix openblas >>"$results"
        fi
        if [ "$threads" -gt 1 ]; then
            # ... then one pass with multi-threaded BLAS, to show which is faster here ...
            "$bench" "$work/$workload.json" "${model[@]}" --passes 1 --blas-threads "$threads" >>"$results"
            # ... and as the ingest pipeline calls it: batches of 64 texts.
            for precision in $precisions; do
                "$bench" "$work/$workload.json" "${model[@]}" --passes "$threads" --blas-threads 1 --batch 64 --precision "$precision" >>"$results"
            done
        fi
    done
done

pipeline="$work/pipeline.jsonl"
gate="$work/gate.jsonl"
if [[ ",$parts," == *",pipeline,"* || ",$parts," == *",gate,"* ]]; then
    swift build -c release --product embed 2>&1 | tail -1
    embed_bin="$(swift build -c release --show-bin-path)/embed"
fi
# A fresh index of the manual at DB with the ingest flags that follow; its summary in ingest.txt, its wall seconds
# and peak RSS (KiB) in time.txt.
ingest_manual() {
    local db="$1"
    shift
    rm -f "$db" "$db"-*
    /usr/bin/time -f '%e %M' -o "$work/time.txt" \
        "$embed_bin" ingest /usr/share/doc/postgresql-doc-15/html --db "$db" "$@" 2>&1 | tee "$work/ingest.txt" | tail -1
}

# Pipeline against model-only, on the same texts: the PostgreSQL manual ingested with minilm end to end (parse,
# chunk, embed, store), then the distinct texts of its chunks through the model alone in one call, one pass per
# core: the model's best case, every text sorted by length and packed, no batch boundaries.
if [[ ",$parts," == *",pipeline,"* ]]; then
    : >"$pipeline"
    for precision in $precisions; do
        db="$work/pg-$precision.sqlite"
        ingest_manual "$db" --precision "$precision" --chunk-context none "${embed_model[@]}"
        read -r seconds peak_kib <"$work/time.txt"
        files=$(sed -n 's/^Indexed \([0-9,]*\) files.*/\1/p' "$work/ingest.txt" | tr -d ,)
        embedded=$(sed -n 's/.*chunks stored (\([0-9,]*\) embedded.*/\1/p' "$work/ingest.txt" | tr -d ,)
        "$python" benchmarks/bert/bench.py chunk-texts "$db" "$work/pg-texts.json"
        model_line=$("$bench" "$work/pg-texts.json" "${model[@]}" --passes "$cores" --blas-threads 1 \
            --precision "$precision" --queries 0)
        echo "{\"precision\": \"$precision\", \"ingest_seconds\": $seconds, \"ingest_peak_rss_mib\": $((peak_kib / 1024)), \"files\": $files, \"embedded\": $embedded, \"model\": $model_line}" >>"$pipeline"
    done
fi

# The quality gate of the reduced precisions: 2,000 chunks of the manual (as embed chunks it, spread evenly), in
# fp32 and in bf16 / int8's rounding (simulated: per-channel weights, per-row inputs), cosines between them.
if [[ ",$parts," == *",gate,"* ]]; then
    : >"$gate"
    ingest_manual "$work/pg-hash.sqlite" --embedder hash
    "$python" benchmarks/bert/bench.py chunk-texts "$work/pg-hash.sqlite" "$work/chunks-2000.json" 2000
    for other in bf16 int8-simulated; do
        grep -qw avx512f /proc/cpuinfo || break  # both need oneDNN's AVX-512 kernels
        [ "$other" = bf16 ] && ! grep -qw avx512_bf16 /proc/cpuinfo && continue
        "$bench" "$work/chunks-2000.json" "${model[@]}" --compare "$other" >>"$gate"
    done
fi

echo
echo "$cores cores, $(lscpu | sed -n 's/^Model name: *//p'); flags of note:" \
    "$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8)$' | tr '\n' ' ')"
echo "oneDNN: $("$bench" --isa)"
# Only the parts this run made (files of earlier runs stay in benchmarks/work/bert).
[[ ",$parts," == *",models,"* ]] && "$python" benchmarks/bert/bench.py report "$results"
[[ ",$parts," == *",pipeline,"* ]] && "$python" benchmarks/bert/bench.py pipeline "$pipeline"
[[ ",$parts," == *",gate,"* ]] && [ -s "$gate" ] && "$python" benchmarks/bert/bench.py gate "$gate"
exit 0
