#!/usr/bin/env bash
# Retrieval quality of `embed query` in each mode on Cranfield and CISI (../shared/data/ir), beside
# sentence-transformers all-MiniLM-L6-v2 and rank-bm25 (issue 13). See README.md beside this file.
#
#   benchmarks/retrieval/run.sh [--sweep] [--embed-bin PATH] [harness options...]
#
# --sweep also runs hybrid at rrf k 10/30/60/100 and linear vector weight 0.3..0.8. Other options go to
# harness.py (--collections cranfield, --run 'NAME=FLAGS', --ingest-variant 'NAME=FLAGS', --no-references;
# see harness.py --help).
# The model: $EMBED_MODEL_DIR, else models/all-MiniLM-L6-v2 (fetched by scripts/fetch-model.sh).
# Output: benchmarks/work/retrieval/table.md and results.json; indexes and caches stay there too.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benchmarks/retrieval
work=benchmarks/work/retrieval
venv=benchmarks/work/venv
embed_bin=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --embed-bin) embed_bin=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Python: pytrec_eval scores; sentence-transformers (with torch) and rank-bm25 + PyStemmer are the references.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import pytrec_eval, rank_bm25, Stemmer, sentence_transformers" 2>/dev/null || {
    log "installing Python packages into $venv (torch is large)"
    "$venv/bin/pip" install -q pytrec-eval-terrier rank-bm25 PyStemmer torch sentence-transformers; }

model_dir=${EMBED_MODEL_DIR:-}
if [ -z "$model_dir" ]; then
    scripts/fetch-model.sh >&2
    model_dir=models/all-MiniLM-L6-v2
fi
model_dir=$(realpath "$model_dir")
export EMBED_MODEL_DIR=$model_dir HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if [ -z "$embed_bin" ]; then
    log "building this checkout in release"
    swift build -c release --product embed >&2
    embed_bin=$(pwd)/.build/release/embed
fi
commit=$(git rev-parse --short=7 HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo +dirty)
log "embed: $embed_bin (checkout $commit); model: $model_dir"

mkdir -p "$work"
"$venv/bin/python" "$here/harness.py" --embed "$embed_bin" --model-dir "$model_dir" --data ../shared/data/ir \
    --work "$work" --commit "$commit" ${args[@]+"${args[@]}"}
