#!/usr/bin/env bash
# Issue 18 benchmark (see scale.py). Builds release binaries, installs the reference engines, runs everything in
# one go; needs root (it drops the page cache and makes a memory cgroup) and about 60 GB of disk for 10M.
#   benchmarks/search/scale.sh [SIZES...]     default: 1000000 10000000
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
pip install -q numpy faiss-cpu sqlite-vec pysqlite3-binary 2>/dev/null
swift build -c release --product embed-bench-search
python3 benchmarks/search/scale.py "$@"
