#!/usr/bin/env bash
# Text quality of ingested documentation, before and after a change: ingests real documentation trees from
# Debian packages with the hash embedder using two `embed` binaries (BASELINE and CANDIDATE) and reports, per
# tree and binary: chunks, chunks per MB, the share of chunks that are chrome (navigation, tables of contents,
# permalink glyphs; detector in analyse.py, its precision on labels.tsv), the share of characters that are
# mojibake or U+FFFD in non-Latin pages, and ingest MB/s, with candidate/baseline ratios. Optionally
# (--retrieval) checks retrieval on Cranfield and CISI (../shared/data/ir) with the default model.
#
#   benchmarks/text-quality/run.sh [--baseline-bin PATH | --baseline-commit REV] [--candidate-bin PATH]
#                                  [--pg-runs N] [--retrieval] [--only-retrieval] [--trees a,b,...]
#
# Defaults: baseline = commit ffcdcc9 built in release in a git worktree under benchmarks/work/text-quality/
# (the binary is cached by commit); candidate = this checkout's release build. Output:
# benchmarks/work/text-quality/results.md (a Markdown table, also printed). See README.md beside this file.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
here=benchmarks/text-quality
work=benchmarks/work/text-quality
baseline_commit=ffcdcc9
baseline_bin=""
candidate_bin=""
pg_runs=3
retrieval=0
ingest=1
trees_wanted=""
while [ $# -gt 0 ]; do
    case "$1" in
        --baseline-bin) baseline_bin=$(realpath "$2"); shift 2 ;;
        --baseline-commit) baseline_commit=$2; shift 2 ;;
        --candidate-bin) candidate_bin=$(realpath "$2"); shift 2 ;;
        --pg-runs) pg_runs=$2; shift 2 ;;
        --retrieval) retrieval=1; shift ;;
        --only-retrieval) retrieval=1; ingest=0; shift ;;
        --trees) trees_wanted=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$work"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------------------------
# 1. The documentation trees: apt-get download + dpkg-deb -x (cached), then the documentation part of each
#    package hard-linked into trees/NAME. Files Debian compressed (.gz) stay as they are.
# ---------------------------------------------------------------------------------------------------------
packages="python3.11-doc nodejs-doc postgresql-doc-15 apache2-doc vim-runtime docker-doc"
trees="$work/trees"
fetch_trees() {
    mkdir -p "$trees/_debs" "$trees/_x"
    local missing=""
    for p in $packages; do
        ls "$trees/_debs/${p}"_*.deb >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "run.sh: the Debian packages$missing are not cached in $trees/_debs; apt-get download needs" \
                 "a working apt set-up (run as root, or put the .deb files there by hand)" >&2
        fi
        log "apt-get download$missing"
        (cd "$trees/_debs" && apt-get download $missing) || {
            echo "run.sh: apt-get download failed; as root, try 'apt-get update' first" >&2; exit 3; }
    fi
    for p in $packages; do
        if [ ! -d "$trees/_x/$p" ]; then
            log "dpkg-deb -x $p"
            mkdir -p "$trees/_x/$p.tmp" && dpkg-deb -x "$trees/_debs/${p}"_*.deb "$trees/_x/$p.tmp"
            mv "$trees/_x/$p.tmp" "$trees/_x/$p"
        fi
    done
    # pick NAME SOURCE-DIR FIND-ARGS...: hard-link the files SOURCE-DIR's find selects into trees/NAME.
    pick() {
        local name=$1 src=$2; shift 2
        [ -d "$trees/$name" ] && return 0
        rm -rf "$trees/$name.tmp" && mkdir -p "$trees/$name.tmp"
        (cd "$src" && find . -type f "$@" -print0) | while IFS= read -r -d '' f; do
            mkdir -p "$trees/$name.tmp/$(dirname "$f")"
            ln "$src/$f" "$trees/$name.tmp/$f"
        done
        mv "$trees/$name.tmp" "$trees/$name"
    }
    local x=$trees/_x
    # Python: the HTML pages (one is gzipped), without _sources (reST copies of the same text), _static,
    # _images, the search index or downloads.
    pick python "$x/python3.11-doc/usr/share/doc/python3.11/html" \( -name '*.html' -o -name '*.html.gz' \) \
        -not -path './_sources/*' -not -path './_static/*' -not -path './_images/*'
    # Node.js: the API reference as HTML and as Markdown (the .md files are gzipped by Debian).
    pick nodejs "$x/nodejs-doc/usr/share/doc/nodejs/api" \( -name '*.html' -o -name '*.md' -o -name '*.md.gz' \)
    # PostgreSQL: the whole html folder, as benchmarks/ingest does (1,173 files: HTML, a stylesheet, SVGs).
    pick postgres "$x/postgresql-doc-15/usr/share/doc/postgresql-doc-15/html"
    # Apache: the manual in every language (Debian puts each language in its own folder), no images/style.
    pick apache "$x/apache2-doc/usr/share/doc/apache2-doc/manual" -not -path './images/*' -not -path './style/*'
    # Vim: the tutor in every language and charset (the file name says which), not the tutor.vim script.
    pick vim-tutor "$x/vim-runtime/usr/share/vim/vim90/tutor" -name 'tutor*' -not -name '*.vim'
    # Docker: the Markdown documentation (some files gzipped by Debian), not images or licences.
    pick docker "$x/docker-doc/usr/share/doc/docker-doc" \( -name '*.md' -o -name '*.md.gz' \)
}
all_trees="postgres python nodejs apache vim-tutor docker"
[ -n "$trees_wanted" ] && all_trees=${trees_wanted//,/ }

# ---------------------------------------------------------------------------------------------------------
# 2. The two binaries.
# ---------------------------------------------------------------------------------------------------------
build_commit() { # $1: a revision; prints the path of its cached release binary
    local rev sha src bin
    rev=$1
    sha=$(git rev-parse --short=7 "$rev^{commit}")
    bin="$root/$work/bin/embed-$sha"
    if [ ! -x "$bin" ]; then
        src="$root/$work/src-$sha"
        [ -d "$src" ] || git worktree add --detach "$src" "$sha" >&2
        # Reuse the package checkouts already fetched for this checkout, when there are any.
        if [ -d .build/checkouts ] && [ ! -d "$src/.build/checkouts" ]; then
            mkdir -p "$src/.build" && cp -r .build/checkouts .build/repositories "$src/.build/" 2>/dev/null || true
            [ -f Package.resolved ] && cp Package.resolved "$src/" || true
        fi
        log "building $sha in release (several minutes)"
        (cd "$src" && swift build -c release --product embed >&2)
        mkdir -p "$root/$work/bin" && cp "$src/.build/release/embed" "$bin"
    fi
    echo "$bin"
}
if [ -z "$baseline_bin" ]; then baseline_bin=$(build_commit "$baseline_commit"); fi
if [ -z "$candidate_bin" ]; then
    log "building this checkout in release"
    swift build -c release --product embed >&2
    candidate_bin="$root/.build/release/embed"
fi
describe() { # a label for a binary: its commit when we built it, else its path
    case "$1" in
        "$root/$work/bin/embed-"*) echo "${1##*/embed-}" ;;
        "$root/.build/release/embed") echo "$(git rev-parse --short=7 HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo +dirty)" ;;
        *) echo "$1" ;;
    esac
}
baseline_name=$(describe "$baseline_bin")
candidate_name=$(describe "$candidate_bin")
log "baseline:  $baseline_bin ($baseline_name)"
log "candidate: $candidate_bin ($candidate_name)"
cat > "$work/binaries.json" <<EOF
{"baseline": {"bin": "$baseline_bin", "name": "$baseline_name"},
 "candidate": {"bin": "$candidate_bin", "name": "$candidate_name"}}
EOF

# ---------------------------------------------------------------------------------------------------------
# 3. Ingest every tree with each binary, timed; the postgres tree PG_RUNS times, alternating binaries.
#    Timings go to runs.tsv: tree, side, run, wall seconds, embed's own seconds, exit status.
# ---------------------------------------------------------------------------------------------------------
ingest_once() { # $1 tree, $2 side (baseline|candidate), $3 run number
    local tree=$1 side=$2 run=$3 bin db start end status
    [ "$side" = baseline ] && bin=$baseline_bin || bin=$candidate_bin
    db="$work/index/$tree-$side.sqlite"
    mkdir -p "$work/index"
    rm -f "$db" "$db"-* "$db".*
    start=$(date +%s.%N)
    status=0
    "$bin" ingest "$trees/$tree" --db "$db" --embedder hash --json \
        > "$work/index/$tree-$side.summary.json" 2> "$work/index/$tree-$side.stderr" || status=$?
    end=$(date +%s.%N)
    local own
    own=$(python3 -c "import json,sys
try: print(json.load(open(sys.argv[1]))['seconds'])
except Exception: print('nan')" "$work/index/$tree-$side.summary.json")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tree" "$side" "$run" "$(echo "$end - $start" | bc -l)" "$own" "$status" \
        >> "$work/runs.tsv"
    log "$tree $side run $run: $(echo "$end - $start" | bc -l | cut -c1-6) s, exit $status"
    # Status 1 means some files failed (reported in the .stderr file); anything else is a broken run.
    if [ "$status" -gt 1 ]; then
        echo "run.sh: $bin failed on $tree (exit $status); see $work/index/$tree-$side.stderr" >&2
        exit 1
    fi
}

if [ "$ingest" = 1 ]; then
    fetch_trees
    printf 'tree\tside\trun\twall_seconds\tembed_seconds\tstatus\n' > "$work/runs.tsv"
    for tree in $all_trees; do
        # Warm the page cache so that both sides read from memory.
        find "$trees/$tree" -type f -exec cat {} + > /dev/null
        runs=1
        [ "$tree" = postgres ] && runs=$pg_runs
        for run in $(seq 1 "$runs"); do
            # Alternate which side goes first, so that a trend in the machine's load hits both alike.
            if [ $((run % 2)) = 1 ]; then order="baseline candidate"; else order="candidate baseline"; fi
            for side in $order; do ingest_once "$tree" "$side" "$run"; done
        done
    done
fi

# ---------------------------------------------------------------------------------------------------------
# 4. Retrieval on Cranfield and CISI with the default model (slow: opt in with --retrieval).
# ---------------------------------------------------------------------------------------------------------
venv=benchmarks/work/venv
if [ "$retrieval" = 1 ]; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -c "import pytrec_eval" 2>/dev/null || "$venv/bin/pip" install -q pytrec-eval-terrier
    scripts/fetch-model.sh >&2
    "$venv/bin/python" "$here/retrieval.py" --work "$work/ir" --data ../shared/data/ir \
        --baseline "$baseline_bin" --candidate "$candidate_bin" --model-dir models/all-MiniLM-L6-v2
fi

# ---------------------------------------------------------------------------------------------------------
# 5. Analysis and the table.
# ---------------------------------------------------------------------------------------------------------
python3 "$here/analyse.py" report --work "$work" --labels "$here/labels.tsv" --trees "$all_trees" \
    $( [ "$ingest" = 1 ] || echo --no-ingest ) | tee "$work/results.md"
log "written $work/results.md"
