#!/usr/bin/env bash
# Issue 2 benchmark: ingest throughput with the hash embedder on a real corpus, the PostgreSQL 15 manual
# (about 1,170 HTML pages, Debian's postgresql-doc-15), next to the floor of reading the same files.
#   benchmarks/ingest/run.sh [EMBEDDER]      default: hash
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh postgresql-doc-15 time
swift build -c release --product embed >/dev/null
corpus=/usr/share/doc/postgresql-doc-15/html
embedder=${1:-hash}
work=benchmarks/work/ingest
mkdir -p "$work"
db="$work/pg-$embedder.sqlite"
rm -f "$db" "$db"-* "$db".*

files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
# The floor: reading every file once (page cache warm, as for the ingest).
cat "$corpus"/* > /dev/null
start=$(date +%s.%N); cat "$corpus"/* > /dev/null; end=$(date +%s.%N)
read_seconds=$(echo "$end - $start" | bc -l)

/usr/bin/time -v -o "$work/time.txt" .build/release/embed ingest "$corpus" --db "$db" --embedder "$embedder" --json \
    > "$work/summary.json"
seconds=$(python3 -c "import json; print(json.load(open('$work/summary.json'))['seconds'])")
chunks=$(python3 -c "import json; print(json.load(open('$work/summary.json'))['chunks'])")
failed=$(python3 -c "import json; s=json.load(open('$work/summary.json')); print(s['failed'])")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")

python3 - "$files" "$bytes" "$seconds" "$chunks" "$rss_kb" "$read_seconds" "$failed" "$embedder" "$wall" <<'PY'
import sys
files, size, seconds, chunks, rss, read, failed, embedder, wall = sys.argv[1:]
files, size, seconds, chunks, rss, read, failed = int(files), int(size), float(seconds), int(chunks), int(rss), float(read), int(failed)
print(f"| corpus | embedder | files | MB | chunks | seconds | files/s | MB/s | chunks/s | peak RSS | failed | read-only floor |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| postgresql-doc-15 HTML | {embedder} | {files} | {size/1e6:.1f} | {chunks} | {seconds:.2f} | {files/seconds:.0f} | "
      f"{size/1e6/seconds:.1f} | {chunks/seconds:.0f} | {rss/1024:.0f} MiB | {failed} | {read:.3f} s ({seconds/read:.0f}x) |")
PY
.build/release/embed query --db "$db" -k 3 "how do I create an index concurrently" "point in time recovery with WAL archiving"
