#!/usr/bin/env bash
# Issue 20 benchmark: the PostgreSQL + pgvector store against the SQLite index (see bench.py).
#   benchmarks/postgres/run.sh [--vectors N] [--repeats R] [--single S] [--batch B] [--skip-ingest] [--skip-vectors] [--no-hnsw]
#   defaults: N 200000 (1,000,000 needs about 10 GB of free disk), R 5 ingest rounds, S 9 single queries, B 3 batches.
# Builds the release binaries, starts a throwaway PostgreSQL 16 + pgvector server (scripts/pg-server.sh) that
# stops when this script ends, and runs every measurement in one go. Intermediate files: benchmarks/work/postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product embed
swift build -c release --product embed-bench-search
server=$(mktemp -d /tmp/embed-pg-bench.XXXXXX)
chmod 755 "$server"
url=$(scripts/pg-server.sh start "$server/pg" --watch $$)
trap 'scripts/pg-server.sh stop "$server/pg" >/dev/null 2>&1 || true; rm -rf "$server"' EXIT
PGPASSWORD=$(cat "$server/pg/password") EMBED_BENCH_PG_URL="$url" EMBED_BENCH_PG_DIR="$server/pg" \
    python3 benchmarks/postgres/bench.py "$@"
