#!/usr/bin/env bash
# Installs the Debian packages embed builds against, when they are missing. Safe to run again.
#   libxml2-dev    HTML and XML parsing
#   libcmark-gfm-dev, libcmark-gfm-extensions-dev  Markdown parsing (CommonMark, GFM tables)
#   libsqlite3-dev the index
#   libpq-dev      the PostgreSQL store's client
#   libopenblas-dev matrix multiplies (native model, batched search)
#   libdnnl-dev    oneDNN: the model's linear layers with AVX-512 and bf16 kernels, where the CPU has them
#   zlib1g-dev     decompressing NAME.EXT.gz documents
#   pkg-config     lets SwiftPM find libxml2's headers
set -euo pipefail
packages=(libxml2-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libsqlite3-dev libpq-dev libopenblas-dev libdnnl-dev zlib1g-dev pkg-config "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]}..." >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "error: swift is not on PATH; install Swift 6.2 or newer" >&2; exit 1; }
