#!/usr/bin/env bash
# Generates a corpus of hostile files under DIR (nothing binary is committed):
#   DIR/root/good/   ~20 good files per format, each with a marker word `tortgood<fmt><NN>` (plus a few with
#                    odd names or deep paths: `tortgoodlongpath`, `tortgoodlongname`, `tortgoodnewline`)
#   DIR/root/bad/    entity bombs, XXE, deep nesting, NUL bytes, truncated and mislabelled encodings,
#                    FIFO, devices, symlink loops and escapes, a name that is not UTF-8, an unreadable file
#   DIR/secret/      outside the root: holds the marker `tortsecretmarker`, which must never be indexed
# Ingest DIR/root. With --full, also DIR/root/huge/huge.txt: 200 MB with no newline.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [--full]" >&2; exit 2; }
dir=$1
full=${2:-}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=$dir/root
good=$root/good
bad=$root/bad
rm -rf "$root" "$dir/secret"
mkdir -p "$good/txt" "$good/md" "$good/html" "$good/xml" "$bad" "$dir/secret"

secret=tortsecretmarker
printf 'classified %s do not index\n' "$secret" >"$dir/secret/secret.txt"

# --- good files -------------------------------------------------------------------------------------------
for i in $(seq -w 1 20); do
    printf 'Plain text file number %s about lighthouses.\n\nThe marker tortgoodtxt%s is here.\n' "$i" "$i" \
        >"$good/txt/good-$i.txt"
    printf '# Heading %s\n\nMarkdown paragraph with tortgoodmd%s and *emphasis*.\n\n## More\n\nSecond part.\n' "$i" "$i" \
        >"$good/md/good-$i.md"
    printf '<!DOCTYPE html><html><head><title>Page %s</title></head><body><h1>Page %s</h1><p>HTML marker tortgoodhtml%s in a paragraph.</p></body></html>\n' \
        "$i" "$i" "$i" >"$good/html/good-$i.html"
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<article><title>Article %s</title><para>XML marker tortgoodxml%s in a para.</para></article>\n' \
        "$i" "$i" >"$good/xml/good-$i.xml"
done

# A path of ~3,000 bytes (under PATH_MAX, 4,096) and a name at NAME_MAX (255 bytes).
long=$good
segment=$(printf 'd%.0s' $(seq 1 200))
for _ in $(seq 1 15); do long=$long/$segment; done
mkdir -p "$long"
printf 'Deep path file with tortgoodlongpath.\n' >"$long/deep.txt"
name255=$(printf 'n%.0s' $(seq 1 251)).txt
printf 'Long name file with tortgoodlongname.\n' >"$good/$name255"
printf 'A file whose name has a newline: tortgoodnewline.\n' >"$good/new"$'\n'"line.txt"

# --- entity bombs and XXE ---------------------------------------------------------------------------------
{
    echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE lolz ['
    echo ' <!ENTITY lol "lol">'
    echo ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    for n in 2 3 4 5 6 7 8 9; do
        p=$((n - 1))
        echo " <!ENTITY lol$n \"&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;&lol$p;\">"
    done
    echo ']>'
    echo '<lolz>&lol9;</lolz>'
} >"$bad/billion-laughs.xml"

# Quadratic blowup: one ~1,000-byte entity referenced 100,000 times (400 KB on disk, 100 MB expanded).
{
    echo '<?xml version="1.0"?>'
    printf '<!DOCTYPE kaboom [<!ENTITY a "%s">]>\n' "$(printf 'aaaaaaaaa %.0s' $(seq 1 100))"
    printf '<kaboom>'
    printf '&a;%.0s' $(seq 1 100000)
    printf '</kaboom>\n'
} >"$bad/quadratic-blowup.xml"

printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://%s/secret/secret.txt">]>\n<r>xxe file &x; end</r>\n' \
    "$dir" >"$bad/xxe-file.xml"
printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY %% p SYSTEM "file://%s/secret/secret.txt"> %%p;]>\n<r>xxe parameter entity</r>\n' \
    "$dir" >"$bad/xxe-parameter.xml"
printf '<?xml version="1.0"?>\n<!DOCTYPE r SYSTEM "file://%s/secret/secret.txt">\n<r>xxe external DTD</r>\n' \
    "$dir" >"$bad/xxe-dtd.xml"
# Port 9 (discard) on a reserved address: if anything tried to fetch it, it would hang or fail, not succeed.
printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "http://192.0.2.1:9/secret.txt">]>\n<r>xxe http &x; end</r>\n' \
    >"$bad/xxe-http.xml"
printf '<?xml version="1.0"?>\n<r xmlns:xi="http://www.w3.org/2001/XInclude">xinclude <xi:include href="file://%s/secret/secret.txt" parse="text"/></r>\n' \
    "$dir" >"$bad/xinclude.xml"

# --- deep nesting -----------------------------------------------------------------------------------------
{
    printf '<html><body>'
    printf '<div>%.0s' $(seq 1 100000)
    printf 'deep html text'
    printf '</div>%.0s' $(seq 1 100000)
    printf '</body></html>\n'
} >"$bad/deep.html"
{
    printf '<?xml version="1.0"?>\n'
    printf '<a>%.0s' $(seq 1 100000)
    printf 'deep xml text'
    printf '</a>%.0s' $(seq 1 100000)
    printf '\n'
} >"$bad/deep.xml"

# --- bytes and encodings ----------------------------------------------------------------------------------
printf 'text with NUL\0bytes\0inside\n' >"$bad/nul.txt"
printf 'Truncated UTF-8 ends mid-character: caf\xc3' >"$bad/truncated-utf8.txt"
# UTF-16LE with a BOM, cut in the middle of a code unit.
printf '\xff\xfeh\0e\0l\0l\0o\0 \0u\0t\0f\0001\0006\0\x3d' >"$bad/truncated-utf16.txt"
printf '<html><head><meta charset="utf-8"><title>Lying</title></head><body><p>Caf\xe9 cr\xe8me br\xfbl\xe9e</p></body></html>\n' \
    >"$bad/lying-charset.html"
printf '<?xml version="1.0" encoding="Shift_JIS"?>\n<r>caf\xc3\xa9 in UTF-8 declared Shift_JIS \xff\xfe</r>\n' \
    >"$bad/lying-charset.xml"

# --- files that are not readable regular files ------------------------------------------------------------
printf 'unreadable file\n' >"$bad/unreadable.txt"
chmod 000 "$bad/unreadable.txt"   # root reads it anyway
mkfifo "$bad/fifo.txt"
mknod "$bad/null-device" c 1 3 2>/dev/null || true   # needs CAP_MKNOD
ln -s /dev/zero "$bad/zero.txt"
ln -s /dev/urandom "$bad/urandom.txt"
ln -s self-loop "$bad/self-loop"
ln -s loop-b "$bad/loop-a"
ln -s loop-a "$bad/loop-b"
mkdir -p "$bad/dirloop"
ln -s .. "$bad/dirloop/up"
ln -s ../../secret "$bad/escape"
ln -s ../../secret/secret.txt "$bad/escape.txt"
printf 'the name is not UTF-8\n' >"$bad/bad-name-"$'\xff\xfe'".txt"

if [ "$full" = --full ]; then
    mkdir -p "$root/huge"
    # 200 MB of words and no newline at all.
    head -c 150000000 /dev/urandom | base64 -w 0 | tr '+/' '  ' | head -c 200000000 >"$root/huge/huge.txt"
fi
