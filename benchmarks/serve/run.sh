#!/usr/bin/env bash
# Issue 16 benchmark: `embed serve` under load from `hey` on the PostgreSQL manual's index (Debian's
# postgresql-doc-15, embedded with all-MiniLM-L6-v2), beside `embed encode` in one process (the throughput
# ceiling), a FastAPI + sentence-transformers server (the reference), and `embed query` as a process per query.
# Prints a Markdown report and writes it to benchmarks/work/serve/results.md.
#
# Needs: hey and postgresql-doc-15 (installed here), the model (scripts/fetch-model.sh, or EMBED_MODEL_DIR), and
# `pip install torch==2.13.0 sentence-transformers fastapi uvicorn` (in benchmarks/work/venv if it exists, else
# the python3 on PATH).
# Usage: benchmarks/serve/run.sh
# Environment: SERVE_SECONDS (default 20) per load level; SERVE_SOAK_SECONDS (default 300) for the memory run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
scripts/install-deps.sh postgresql-doc-15 hey
python="${PYTHON:-$( [ -x benchmarks/work/venv/bin/python ] && echo benchmarks/work/venv/bin/python || echo python3 )}"
if [ -z "${EMBED_MODEL_DIR:-}" ]; then
    scripts/fetch-model.sh >/dev/null
    export EMBED_MODEL_DIR="$repo/models/all-MiniLM-L6-v2"
fi
swift build -c release --product embed 2>&1 | tail -1
embed="$(swift build -c release --show-bin-path)/embed"
work="$repo/benchmarks/work/serve"
mkdir -p "$work"
index="$work/pg.sqlite"
# The index is built once (minutes with the model) and brought up to date after.
"$embed" ingest /usr/share/doc/postgresql-doc-15/html --db "$index" --json > "$work/index.json"
python3 benchmarks/serve/run.py "$embed" "$index" "$EMBED_MODEL_DIR" "$python" "$work/results.md"
