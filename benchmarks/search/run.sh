#!/usr/bin/env bash
# Issue 6 benchmark. Builds release binaries, installs the reference engines, runs everything in one go.
#   benchmarks/search/run.sh [SIZES...]     default: 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
pip install -q numpy faiss-cpu sqlite-vec pysqlite3-binary 2>/dev/null
swift build -c release --product embed
swift build -c release --product embed-bench-search
python3 benchmarks/search/run.py "$@"
