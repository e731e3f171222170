#!/usr/bin/env bash
# Issue 5 benchmark: reindex of the PostgreSQL 15 manual (about 1,170 HTML pages, Debian's postgresql-doc-15)
# after no change and after 1% of the files changed, next to the full ingest of the same tree.
#   benchmarks/reindex/run.sh [EMBEDDER]      default: hash (minilm works too, the full ingest takes minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh postgresql-doc-15
swift build -c release --product embed >/dev/null
embed=.build/release/embed
embedder=${1:-hash}
work=benchmarks/work/reindex
rm -rf "$work" && mkdir -p "$work"
cp -r /usr/share/doc/postgresql-doc-15/html "$work/tree"
db="$work/index.sqlite"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

full=$($embed ingest "$work/tree" --db "$db" --embedder "$embedder" --json)
start=$(date +%s.%N); nochange=$($embed reindex --db "$db" --json); end=$(date +%s.%N)
nochange_wall=$(echo "$end - $start" | bc -l)

# 1% of the files change: a paragraph is appended to every 100th page (sorted by name).
changed=0
for f in $(ls "$work/tree"/*.html | sort | awk 'NR % 100 == 0'); do
    printf '<p>Local note %s: reviewed for the reindex benchmark.</p>\n' "$changed" >> "$f"
    changed=$((changed + 1))
done
start=$(date +%s.%N); onepercent=$($embed reindex --db "$db" --json); end=$(date +%s.%N)
onepercent_wall=$(echo "$end - $start" | bc -l)
check=$($embed stats --db "$db" --check 2>&1 | tail -1)

echo "| run | files read (bytes) | added | updated | unchanged | removed | chunks embedded | cache hits | wall seconds |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in "full ingest|$full|" "no-change reindex|$nochange|$nochange_wall" "reindex after $changed files changed|$onepercent|$onepercent_wall"; do
    IFS='|' read -r name json wall <<<"$row"
    [ -n "$wall" ] || wall=$(field "$json" seconds)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %.3f |\n' "$name" "$(field "$json" bytes_read)" \
        "$(field "$json" added)" "$(field "$json" updated)" "$(field "$json" unchanged)" "$(field "$json" removed)" \
        "$(field "$json" chunks_embedded)" "$(field "$json" cache_hits)" "$wall"
done
echo
echo "embedder: $embedder; integrity: $check"
