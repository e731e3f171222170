#!/usr/bin/env bash
# Work kept after SIGKILL at random moments of a minilm ingest (issue: faults, item 11).
# Splits the Cranfield collection (../shared/data/ir) into 1,400 text files, then ROUNDS times: starts
# `embed ingest` with the native model on a fresh index, SIGKILLs it after a random 2-30 s, and records how many
# documents the index kept and whether `stats --check` passes. Prints a Markdown table.
#   benchmarks/kill/run.sh [ROUNDS]     (default 10; needs scripts/fetch-model.sh and `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-10}
embed=${EMBED:-.build/release/embed}
work=benchmarks/work/kill
rm -rf "$work" && mkdir -p "$work/docs"
python3 - "$work/docs" <<'PY'
import re, sys, pathlib
text = pathlib.Path("../shared/data/ir/cranfield/cran.all.1400").read_text(errors="replace")
for part in re.split(r"^\.I ", text, flags=re.M)[1:]:
    number, _, body = part.partition("\n")
    body = re.sub(r"^\.[TABW]\s*$", "", body, flags=re.M).strip()
    pathlib.Path(sys.argv[1], f"cran{int(number):04d}.txt").write_text(body + "\n")
PY
echo "| round | killed after (s) | documents kept | stats --check |"
echo "|---|---|---|---|"
total=0
for round in $(seq 1 "$rounds"); do
    rm -f "$work"/index.sqlite*
    delay=$(python3 -c "import random; print(round(random.uniform(2, 30), 2))")
    "$embed" ingest "$work/docs" --db "$work/index.sqlite" --quiet 2>/dev/null &
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -f "$work/index.sqlite" ]; then
        kept=$("$embed" stats --db "$work/index.sqlite" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['documents'])")
        check=$("$embed" stats --db "$work/index.sqlite" --check >/dev/null 2>&1 && echo ok || echo FAILED)
    else
        kept=0; check="no index yet"
    fi
    total=$((total + kept))
    echo "| $round | $delay | $kept | $check |"
done
start=$(date +%s.%N)
"$embed" ingest "$work/docs" --db "$work/full.sqlite" --quiet
end=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'\nA whole run: 1,400 documents in {s:.1f} s ({1400/s:.0f} documents/s); documents kept over all rounds: {sys.argv[3]}')" "$start" "$end" "$total"
