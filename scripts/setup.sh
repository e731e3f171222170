#!/usr/bin/env bash
# One command from a fresh clone to a working index: installs what is missing, builds embed (release),
# ingests corpora/ into output/embeddings.sqlite, and runs example queries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ -x scripts/fetch-model.sh ]; then scripts/fetch-model.sh; fi
swift build -c release
embed=.build/release/embed
$embed ingest corpora
$embed stats
$embed query -k 3 \
    "keeping a sourdough starter alive" \
    "TCP slow start and the congestion window" \
    "magma chamber beneath a volcano before an eruption"
echo "Done. Try: $embed query \"your question\"" >&2
echo "To install embed, its model, completions and man page in /usr/local: scripts/install.sh" >&2
