#!/usr/bin/env bash
# Writes Tests/EmbedKitTests/Fixtures/gzip/: real gzip files, whole and damaged, made with gzip(1).
# The files are committed; run this again only to change them.
set -euo pipefail
out="$(dirname "$0")/../Tests/EmbedKitTests/Fixtures/gzip"
mkdir -p "$out"
cd "$out"
rm -f ./*.gz
printf '<!DOCTYPE html>\n<html><head><title>Compressed page</title></head><body><h1>Gzip</h1><p>Inside a gzip file.</p></body></html>\n' \
    | gzip -9 -n > page.html.gz
printf '# Notes\n\nMarkdown that was *compressed*.\n' | gzip -9 -n > notes.md.gz
# No inner extension: the decompressed bytes are sniffed (HTML here).
printf '<html><body><p>Sniffed after decompression.</p></body></html>\n' | gzip -9 -n > sniffed.gz
{ printf 'First member.\n' | gzip -n; printf 'Second member.\n' | gzip -n; } > two-members.txt.gz
# 400 KB of text cut in the middle of the deflate data.
seq 1 60000 | sed 's/^/line /' | gzip -9 -n > /tmp/embed-long.gz
head -c 20000 /tmp/embed-long.gz > truncated.txt.gz
rm /tmp/embed-long.gz
{ printf 'Text before the garbage.\n' | gzip -n; printf 'not gzip at all'; } > trailing-garbage.txt.gz
# The CRC-32 (the 8th byte from the end) changed.
printf 'The checksum of this text is wrong.\n' | gzip -n > crc-mismatch.txt.gz
python3 -c "import sys; d=bytearray(open('crc-mismatch.txt.gz','rb').read()); d[-8]^=0xFF; open('crc-mismatch.txt.gz','wb').write(d)"
printf 'Plain text under a .gz name.\n' > not-gzip.txt.gz
# 64 MiB of zeros in 64 KB: over any limit the tests set.
head -c $((64 << 20)) /dev/zero | gzip -9 -n > zeros-bomb.txt.gz
