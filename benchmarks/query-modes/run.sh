#!/usr/bin/env bash
# Issue 13 latency: a hybrid query against a vector query (and keyword), one `embed query` process per query,
# process start included, over the PostgreSQL manual (postgresql-doc-15) ingested with the default model; then
# the same over that index grown to about 1,000,000 chunks (--big).
#   benchmarks/query-modes/run.sh [--big] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=benchmarks/work/query-modes
mkdir -p "$work"
swift build -c release --product embed >&2
embed=$PWD/.build/release/embed
tree=$work/postgres
if [ ! -d "$tree" ]; then
    # The same tree the text-quality benchmark measures, fetched the same way.
    (cd "$work" && apt-get download postgresql-doc-15 >&2 && dpkg-deb -x postgresql-doc-15_*.deb x)
    mv "$work/x/usr/share/doc/postgresql-doc-15/html" "$tree"
fi
db=$work/postgres.sqlite
if [ ! -f "$db" ]; then
    "$embed" ingest "$tree" --db "$db" >&2
fi
python3 benchmarks/query-modes/latency.py --embed "$embed" --db "$db" --work "$work" "$@"
