#!/usr/bin/env python3
"""Analysis for benchmarks/text-quality/run.sh: reads the indexes the run made and prints the Markdown tables.

    analyse.py report --work DIR --labels labels.tsv [--trees "a b"] [--no-ingest]
    analyse.py sample --work DIR --out draft.tsv [--n 150] [--seed 7]   (draws a sample to label by hand)
    analyse.py show --work DIR --labels labels.tsv                      (prints the labelled chunks, to review)

THE CHROME DETECTOR (classify()). Every chunk gets one of three classes:

  nav    the chunk is navigation: at least half of its characters are on chrome lines, or it has the shape
         of a link list (8+ lines, 85% of them short, title-like and not code: a table of contents, a sidebar,
         a back-of-book index);
  mixed  the chunk is content but carries chrome: a permalink glyph (a pilcrow, a link emoji, or a heading
         that ends in '#' in the text or the heading path), 'copy' glued to code, or at least one chrome line
         glued to the content (a "Prev Up Next" bar, a footer, a breadcrumb);
  clean  none of that.

A chrome line is a whole line that is one of the navigation, table-of-contents or footer phrases of these
sites (NAV_LINES: Sphinx's 'Previous topic', 'Next topic', 'This Page', 'Show Source', 'Navigation',
'index | modules | next | previous', the footer; DocBook's 'Prev Up Home Next'; Node's sidebar, whose
entries are read from the tree's own index.html; Apache's menu bar in any language, its breadcrumb and
'Available Languages'), a bar of short items separated by 3+ '|', a breadcrumb of 3+ items separated by
'>' or '»', or a short line inside a table of contents (after a 'Table of Contents' line, or one of 3+
numbered section titles such as '31.2. Subscription').

"chrome share" below is the share of chunks classed nav; "polluted share" the share classed nav or mixed.
The precision and recall of both are measured on labels.tsv, a sample labelled by hand (see README.md).

MOJIBAKE. A page is non-Latin when its language (Apache: the language folder; Vim: tutor.LANG...) is one
written in another script (NON_LATIN) and the text decoded with the right charset is mostly not Latin
letters. Its declared charset comes from the HTML meta / XML declaration, or from the file name (Vim:
tutor.ja.euc, .sjis, .cp1251 ...); it is right when Python decodes the bytes with it without error and
the text is in the expected script. A character of a chunk of such a page counts as mojibake when it is
U+FFFD, a C0 or C1 control (other than tab and newline), or a Latin-1 / Windows-1252 / Latin Extended-A
character that does not occur in the page's correctly decoded text (so genuine '©' or 'é' are not counted).
"""
import argparse, collections, hashlib, html, json, math, os, random, re, sqlite3, statistics, sys
import unicodedata

# ---------------------------------------------------------------------------------------------------------
# Chrome lines
# ---------------------------------------------------------------------------------------------------------
NAV_PHRASES = [
    # Sphinx (Python)
    r"Navigation", r"index", r"modules \|", r"next \|", r"previous \|", r"\|", r"«", r"»",
    r"Python »", r"[\d.]+ Documentation »", r"The Python Standard Library »", r"Previous topic", r"Next topic",
    r"This Page", r"Report a Bug", r"Show Source", r"Quick search", r"Table of Contents", r"Contents",
    r"Theme", r"Auto", r"Light", r"Dark", r"Go",
    r"© Copyright .*", r"This page is licensed under .*", r"Examples, recipes, and other code in the documentation .*",
    r"Created using Sphinx.*", r"Last updated on .*", r"The Python Software Foundation is a non-profit .*",
    r"See History and License for more information\.", r"Please donate\.", r"Found a bug\?",
    r"index \| modules \| next \| previous", r"Skip to content",
    # DocBook (PostgreSQL)
    r"Prev\s+Up\s.*Next", r"Prev\s+Up\s+Next", r"Prev", r"Up", r"Home", r"Next", r"Submit correction",
    r"Table of Contents", r"Table of Contents\s.*",
    # Node.js
    r"Node\.js v[\d.]+( documentation)?", r"Node\.js", r"►▼ .*", r"Table of contents", r"Index",
    r"Other versions", r"Options", r"View on single page", r"View as JSON", r"Edit on GitHub",
    r"\d+\.x( LTS)?", r"Code repository and issue tracker", r"About this documentation", r"__JS_FLAVORED_DYNAMIC_CSS__",
    # Apache (footer and header; menu bars and breadcrumbs are caught by shape)
    r"Copyright \d{4} The Apache Software Foundation\.", r"Licensed under the Apache License, Version 2\.0\.",
    r"Apache HTTP Server Version 2\.4", r"Serveur HTTP Apache Version 2\.4", r"Known issues", r"Bugfix checklist",
    r"Report a bug", r"httpd changelog", r"Comments", r"Notice:", r"Top", r"Haut", r"Traitement des bugs",
    r"Journal des modifications de httpd", r"Problèmes connus", r"Signaler un bug",
    r"[^\n]{0,40}: ?(\s*\w\w(-\w\w)?\s*\|)+\s*\w\w(-\w\w)?\s*",   # Available Languages:  en | fr | ko
    # Generic
    r"Skip to (main )?content", r"Back to top", r"Edit this page", r"Table des matières", r"Inhaltsverzeichnis",
    r"目次", r"목차", r"目录",
]
NAV_RE = re.compile(r"^(?:%s)$" % "|".join(NAV_PHRASES))
BAR_ITEM = r"\s*[^\s\d|`][^|]{0,39}"
BAR_RE = re.compile(r"^%s(\|%s){4,}$" % (BAR_ITEM, BAR_ITEM))              # a | b | c | d | e
CRUMB_RE = re.compile(r"^[^>»]{1,50}(\s[>»]\s[^>»]{1,60}){2,}\s?[>»]?$")     # Apache > HTTP Server > Docs
NUMBERED_TITLE_RE = re.compile(r"^(?:[A-Z]\.)?\d+(?:\.\d+)+\.?\s+\S.{0,90}$")  # 31.2. Subscription
DOCBOOK_FOOTER_RE = re.compile(r"^.{1,100}\s{2,}Home\s{2,}.{0,100}$")        # 31.10. Settings  Home  32. JIT
INDEX_ENTRY_RE = re.compile(r"^(?:\S.*\s)?\((?:in module [\w.]+|class in [\w.]+|[\w.]+ (?:method|attribute|class method|"
                            r"static method|property|exception)|built-in function|built-in class|opcode|C function|"
                            r"C type|C macro|C member|C var|module|pdb command|[\w. ]{1,40} (?:method|attribute))\)"
                            r"(?:, \[\d+\])*$|^.{1,80}, \[\d+\](?:, \[\d+\])*$|^(?:\[\d+\],?\s*)+$")
LINK_REF_RE = re.compile(r"^\[[^\]]+\]:\s+\S+$")                              # [name]: target.md#anchor
MD_LINK_ITEM_RE = re.compile(r"^[*-]\s+\[[^\]]+\]\([^)]+\)$")                  # * [network ls](network_ls.md)
# The titles of the small link boxes of Apache's pages (and Docker's "Related commands"), in their languages.
BOX_TITLES = {"Directives", "Topics", "See also", "Related commands", "Sujets", "Voir aussi", "ディレクティブ",
              "トピック", "参照", "지시어들", "주제", "참고", "指令", "主题", "参见", "Yönergeler", "Konular",
              "Ayrıca bakınız", "Siehe auch", "Themen", "Directivas", "Temas", "Consulte también"}
NODE_TOP_RE = re.compile(r"^Node\.js v[\d.]+ documentation$")
TOC_HEAD_RE = re.compile(r"^(?:►▼ )?(?:Table of [Cc]ontents|Contents|On this page|In this article|目次|목차|目录|"
                         r"Table des matières|Inhaltsverzeichnis|İçindekiler)$")
CODE_HINT_RE = re.compile(r"[;{}=]|^\s|^\$ |^>>>|^#|//|^<[/a-zA-Z!]|<\w+>|^```")
GLYPH_RE = re.compile(r"¶\s*$|🔗|\S\s*§(\s*§)*\s*$")   # a pilcrow or § ending a line, a link emoji
COPY_GLUED_RE = re.compile(r"[;)}\]>\"']\s*copy$", re.I)

def load_node_sidebar(tree_dir):
    """The entries of Node's sidebar, from the tree's own index.html (links with class nav-*)."""
    path = os.path.join(tree_dir, "index.html")
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return set()
    return {html.unescape(m).strip() for m in re.findall(r'<a [^>]*class="nav-[^"]*"[^>]*>([^<]+)</a>', text)}

SIDEBAR = set()

def title_like(line):
    return len(line) <= 90 and not CODE_HINT_RE.search(line) and not re.search(r"[.:;!?。]$", line)

def chrome_lines(lines, headings):
    """Which of `lines` (stripped, non-empty) are chrome."""
    flags = [False] * len(lines)
    numbered = [i for i, l in enumerate(lines) if NUMBERED_TITLE_RE.match(l) and title_like(l) and l not in headings]
    in_toc = False
    for i, l in enumerate(lines):
        if TOC_HEAD_RE.match(l):
            flags[i] = True; in_toc = True; continue
        if in_toc:
            if title_like(l) or NUMBERED_TITLE_RE.match(l):
                flags[i] = True; continue
            in_toc = False
        if NAV_RE.match(l) or l in SIDEBAR or BAR_RE.match(l) or DOCBOOK_FOOTER_RE.match(l) or \
                INDEX_ENTRY_RE.match(l) or MD_LINK_ITEM_RE.match(l) or \
                (CRUMB_RE.match(l) and not CODE_HINT_RE.search(l)):
            flags[i] = True
    if len(numbered) >= 3:
        for i in numbered:
            flags[i] = True
    return flags

def classify(text, heading_path):
    """('nav' | 'mixed' | 'clean', reasons) for one chunk."""
    # Lines inside a fenced code block count as code, whatever they look like.
    lines, code, fenced = [], [], False
    for raw in text.split("\n"):
        l = raw.strip()
        if l.startswith("```"):
            fenced = not fenced
            lines.append(l); code.append(True); continue
        if l:
            lines.append(l); code.append(fenced or raw.startswith(("    ", "\t")))
    headings = set(h.strip() for h in heading_path)
    reasons = []
    if not lines:
        return "clean", reasons
    last_heading = heading_path[-1].strip() if heading_path else ""
    if len(heading_path) == 1 and NODE_TOP_RE.match(last_heading):
        return "nav", ["under Node's page title: sidebar and table of contents"]
    if TOC_HEAD_RE.match(last_heading) or last_heading in ("Navigation", "This Page"):
        return "nav", [f"under the heading {last_heading!r}"]
    if all(LINK_REF_RE.match(l) for l in lines):
        return "nav", ["only link reference definitions"]
    if lines[0] in BOX_TITLES and len(lines) >= 2 and len(lines) <= 12 and \
            all(title_like(l) and len(l) <= 60 for l in lines[1:]):
        return "nav", [f"link box {lines[0]!r}"]
    flags = chrome_lines(lines, headings)
    total = sum(len(l) for l in lines)
    chrome = sum(len(l) for l, f in zip(lines, flags) if f)
    short = [l for l, c in zip(lines, code) if not c and title_like(l) and len(l) <= 60]
    if chrome >= 0.5 * total:
        reasons.append(f"chrome lines {chrome}/{total} chars")
        return "nav", reasons
    if len(lines) >= 8 and len(short) >= 0.85 * len(lines) and sum(map(len, short)) >= 0.7 * total:
        reasons.append(f"link-list shape {len(short)}/{len(lines)} lines")
        return "nav", reasons
    if any(GLYPH_RE.search(l) for l in lines) or any(GLYPH_RE.search(h) for h in heading_path):
        reasons.append("permalink glyph")
    if any(h.rstrip().endswith("#") and len(h.strip()) > 1 for h in heading_path) or \
            any(re.match(r"^\S.{0,150}\S#$", l) for l in lines[:3] + lines[-3:]):
        reasons.append("heading ends in #")
    if any(COPY_GLUED_RE.search(l) for l in lines):
        reasons.append("copy glued to code")
    if chrome:
        reasons.append(f"chrome lines {chrome}/{total} chars")
    return ("mixed" if reasons else "clean"), reasons

# ---------------------------------------------------------------------------------------------------------
# Charsets and mojibake
# ---------------------------------------------------------------------------------------------------------
NON_LATIN = {"ja": "ja", "ko": "ko", "zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "zh-tw": "zh", "zh_tw": "zh",
             "ru": "cyr", "uk": "cyr", "bg": "cyr", "sr": "cyr", "el": "el"}
TUTOR_CHARSET = {"utf-8": "utf-8", "sjis": "cp932", "big5": "cp950", "cp1250": "cp1250", "cp1251": "cp1251",
                 "cp737": "cp737", "iso9": "iso-8859-9", "koi8-r": "koi8-r", "koi8-u": "koi8-u"}
EUC = {"ja": "euc_jp", "ko": "euc_kr", "zh": "gbk"}
# For pages that declare nothing: what to try, in order (the first that decodes and is in the right script).
UNDECLARED_TRY = {"cyr": ["utf-8", "koi8-r", "cp1251"], "el": ["utf-8", "iso-8859-7", "cp737"],
                  "ja": ["utf-8", "euc_jp", "cp932"], "ko": ["utf-8", "euc_kr"], "zh": ["utf-8", "gbk", "big5"]}

def page_language(tree, rel):
    if tree == "apache":
        first = rel.split("/", 1)[0]
        return first if "/" in rel else None
    if tree == "vim-tutor":
        parts = os.path.basename(rel).split(".")
        return parts[1] if len(parts) > 1 and parts[1] not in TUTOR_CHARSET else None
    return None

def declared_charset(tree, rel, raw):
    if tree == "vim-tutor":
        parts = os.path.basename(rel).split(".")
        if len(parts) >= 3:
            enc = parts[2]
            if enc == "euc":
                return EUC.get(parts[1].split("_")[0])
            return TUTOR_CHARSET.get(enc, enc)
        if len(parts) == 2 and parts[1] == "utf-8":
            return "utf-8"
        return None
    head = raw[:4096].decode("ascii", "replace")
    m = re.search(r"""<\?xml[^>]*encoding=["']([\w.:-]+)""", head) or \
        re.search(r"""<meta[^>]*charset=["']?([\w.:-]+)""", head, re.I)
    return m.group(1).lower() if m else None

def script_share(text, script):
    """Share of the letters of `text` that are in `script` (cyr, el, or CJK/kana/hangul for ja, ko, zh)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    def ok(c):
        o = ord(c)
        if script == "cyr": return 0x0400 <= o <= 0x052F
        if script == "el": return 0x0370 <= o <= 0x03FF or 0x1F00 <= o <= 0x1FFF
        return o >= 0x1100 and not (0x1E00 <= o <= 0x1EFF)
    return sum(1 for c in letters if ok(c)) / len(letters)

def decode_check(raw, codec, script, errors="strict"):
    try:
        text = raw.decode(codec, errors)
    except (LookupError, UnicodeDecodeError):
        return None
    # HTML: only the visible text matters for the script check.
    visible = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return text if script_share(visible, script) >= 0.2 else None

MOJI_RANGE = set(chr(c) for c in range(0x80, 0x180)) | set("ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")

def mojibake_chars(text, reference_chars):
    n = 0
    for c in text:
        if c == "\ufffd":
            n += 1
        elif (ord(c) < 0x20 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F:
            n += 1
        elif c in MOJI_RANGE and c not in reference_chars:
            n += 1
    return n

# ---------------------------------------------------------------------------------------------------------
# Reading the indexes
# ---------------------------------------------------------------------------------------------------------
def chunks_of(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT d.path, c.ordinal, c.text, c.heading_path FROM chunks c "
                       "JOIN documents d ON d.id = c.document_id ORDER BY d.path, c.ordinal").fetchall()
    con.close()
    return [(p, o, t, json.loads(h)) for p, o, t, h in rows]

def rel_path(path, tree_dir):
    return os.path.relpath(path, os.path.realpath(tree_dir)) if path.startswith(os.path.realpath(tree_dir)) \
        else os.path.relpath(path, tree_dir)

def text_hash(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

def tree_files(tree_dir):
    files = []
    for d, _, names in os.walk(tree_dir):
        for n in names:
            files.append(os.path.join(d, n))
    return files

def nonlatin_pages(tree, tree_dir):
    """{relative path: (script, declared charset, declared_is_right, reference text or None)}"""
    out = {}
    for f in tree_files(tree_dir):
        rel = os.path.relpath(f, tree_dir)
        lang = page_language(tree, rel)
        script = NON_LATIN.get(lang or "")
        if not script:
            continue
        raw = open(f, "rb").read()
        declared = declared_charset(tree, rel, raw)
        ref = decode_check(raw, declared, script) if declared else None
        right = ref is not None
        if ref is None:
            for codec in UNDECLARED_TRY[script]:
                ref = decode_check(raw, codec, script)
                if ref is not None:
                    break
        if ref is None and declared:
            # The declared charset does not decode every byte (e.g. a stray byte in tutor.zh.big5): the page
            # counts as wrongly declared, its reference text is the declared decoding with replacements.
            ref = decode_check(raw, declared, script, errors="replace")
        if ref is None:
            continue   # not in this script after all (e.g. Serbian in Latin letters)
        out[rel] = (script, declared, right, html.unescape(ref), lang)
    return out

# ---------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------
def pct(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"

def ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)):
        return "n/a"
    return f"{a / b:.2f}"

def tree_metrics(work, tree, side):
    db = os.path.join(work, "index", f"{tree}-{side}.sqlite")
    tree_dir = os.path.join(work, "trees", tree)
    rows = chunks_of(db)
    counts = collections.Counter(classify(t, h)[0] for _, _, t, h in rows)
    n = len(rows)
    files = tree_files(tree_dir)
    size = sum(os.path.getsize(f) for f in files)
    gz = [f for f in files if f.endswith(".gz")]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    docs = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    con.close()
    return {"chunks": n, "docs": docs, "files": len(files), "bytes": size, "gz": len(gz),
            "gz_bytes": sum(os.path.getsize(f) for f in gz),
            "nav": counts["nav"] / n if n else float("nan"),
            "polluted": (counts["nav"] + counts["mixed"]) / n if n else float("nan"),
            "rows": rows}

def mojibake_metrics(work, tree, rows, pages):
    tree_dir = os.path.join(work, "trees", tree)
    real = os.path.realpath(tree_dir)
    by_right = {True: [0, 0, set()], False: [0, 0, set()]}
    by_lang = collections.defaultdict(lambda: [0, 0, set()])
    for path, _, text, _ in rows:
        rel = os.path.relpath(path, real)
        page = pages.get(rel)
        if not page:
            continue
        _, declared, right, ref, lang = page
        bad = mojibake_chars(text, set(ref))
        for acc in (by_right[right], by_lang[(lang, declared or "undeclared", right)]):
            acc[0] += bad
            acc[1] += len(text)
            acc[2].add(rel)
    return by_right, by_lang

def read_runs(work):
    runs = collections.defaultdict(list)
    path = os.path.join(work, "runs.tsv")
    if not os.path.exists(path):
        return runs
    for line in open(path).read().splitlines()[1:]:
        tree, side, run, wall, own, status = line.split("\t")
        runs[(tree, side)].append(float(wall))
    return runs

def load_labels(path):
    labels = []
    if not os.path.exists(path):
        return labels
    for line in open(path, encoding="utf-8").read().splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        if f[0] == "tree":
            continue
        labels.append({"tree": f[0], "path": f[1], "ordinal": int(f[2]), "hash": f[3], "label": f[4],
                       "prefix": f[5] if len(f) > 5 else "", "sample": f[6] if len(f) > 6 else "tune"})
    return labels

def label_quality(work, labels, side="baseline"):
    """Precision and recall of the detector on the labelled chunks found (by path and text hash)."""
    index = {}
    trees = sorted({l["tree"] for l in labels})
    for tree in trees:
        db = os.path.join(work, "index", f"{tree}-{side}.sqlite")
        if not os.path.exists(db):
            continue
        real = os.path.realpath(os.path.join(work, "trees", tree))
        for path, ordinal, text, hp in chunks_of(db):
            index[(tree, os.path.relpath(path, real), text_hash(text))] = (text, hp)
    found = []
    for l in labels:
        hit = index.get((l["tree"], l["path"], l["hash"]))
        if hit:
            found.append((l["label"], classify(*hit)[0]))
    def pr(pos):
        tp = sum(1 for lab, det in found if det in pos and lab in pos)
        fp = sum(1 for lab, det in found if det in pos and lab not in pos)
        fn = sum(1 for lab, det in found if det not in pos and lab in pos)
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        return p, r, tp, fp, fn
    return len(labels), len(found), pr({"nav"}), pr({"nav", "mixed"}), \
        collections.Counter((lab, det) for lab, det in found)

def report(args):
    work = args.work
    sides = json.load(open(os.path.join(work, "binaries.json")))
    out = []
    p = out.append
    p(f"Baseline `{sides['baseline']['name']}`, candidate `{sides['candidate']['name']}`; hash embedder; "
      f"MB = bytes of all files in the tree (gzipped ones at their compressed size); MB/s = MB / wall seconds "
      f"of `embed ingest` (median of the runs); chrome = chunks classed navigation / ToC by the detector; "
      f"polluted = chrome plus content chunks carrying a permalink glyph or a glued navigation line.")
    p("")
    runs = read_runs(work)
    if not args.no_ingest:
        p("| tree | files (.gz) | MB | side | docs | chunks | chunks/MB | chrome | polluted | mojibake, charset right (pages) | mojibake, charset wrong or absent (pages) | runs | MB/s |")
        p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        ratios = []
        lang_rows = {}
        for tree in args.trees.split():
            tree_dir = os.path.join(work, "trees", tree)
            global SIDEBAR
            SIDEBAR = load_node_sidebar(tree_dir) if tree == "nodejs" else set()
            pages = nonlatin_pages(tree, tree_dir)
            m = {}
            for side in ("baseline", "candidate"):
                t = tree_metrics(work, tree, side)
                mj, by_lang = mojibake_metrics(work, tree, t["rows"], pages)
                for key, (bad, chars, rels) in sorted(by_lang.items()):
                    lang_rows.setdefault((tree,) + key + (len(rels),), {})[side] = bad / chars if chars else float("nan")
                walls = runs.get((tree, side), [])
                wall = statistics.median(walls) if walls else float("nan")
                t["mbs"] = t["bytes"] / 1e6 / wall if walls else float("nan")
                t["cpm"] = t["chunks"] / (t["bytes"] / 1e6)
                t["moji_right"] = mj[True][0] / mj[True][1] if mj[True][1] else None
                t["moji_wrong"] = mj[False][0] / mj[False][1] if mj[False][1] else None
                right_pages = sum(1 for v in pages.values() if v[2])
                wrong_pages = len(pages) - right_pages
                m[side] = t
                p(f"| {tree} | {t['files']} ({t['gz']}) | {t['bytes'] / 1e6:.1f} | {side} | {t['docs']} | {t['chunks']} | "
                  f"{t['cpm']:.0f} | {pct(t['nav'])} | {pct(t['polluted'])} | "
                  f"{pct(t['moji_right']) if right_pages else '–'} ({right_pages}) | "
                  f"{pct(t['moji_wrong']) if wrong_pages else '–'} ({wrong_pages}) | "
                  f"{len(walls)} | {t['mbs']:.2f} |")
            b, c = m["baseline"], m["candidate"]
            ratios.append(f"| {tree} | {ratio(c['chunks'], b['chunks'])} | {ratio(c['nav'], b['nav'])} | "
                          f"{ratio(c['polluted'], b['polluted'])} | {ratio(c['mbs'], b['mbs'])} |")
        p("")
        if lang_rows:
            p("Mojibake by page language and declared charset (right = Python decodes the page with it):")
            p("")
            p("| tree | language | declared charset | right | pages | mojibake, baseline | mojibake, candidate |")
            p("|---|---|---|---|---|---|---|")
            for (tree, lang, declared, right, n), shares in lang_rows.items():
                p(f"| {tree} | {lang} | {declared} | {'yes' if right else 'no'} | {n} | {pct(shares.get('baseline'))} | "
                  f"{pct(shares.get('candidate'))} |")
            p("")
        p("Candidate / baseline:")
        p("")
        p("| tree | chunks | chrome share | polluted share | MB/s |")
        p("|---|---|---|---|---|")
        out.extend(ratios)
        p("")
        labels = load_labels(args.labels)
        if labels:
            SIDEBAR = load_node_sidebar(os.path.join(work, "trees", "nodejs"))
            p("Chrome detector against the hand-labelled chunks of `labels.tsv` (found in the baseline indexes by "
              "path and text hash). `tune`: the sample the detector was written against; `heldout`: drawn and "
              "labelled after the detector was fixed.")
            p("")
            p("| sample | labelled | found | class | precision | recall | TP | FP | FN |")
            p("|---|---|---|---|---|---|---|---|---|")
            confusions = []
            for name in ("tune", "heldout"):
                subset = [l for l in labels if l["sample"] == name]
                if not subset:
                    continue
                total, found, nav, anyc, confusion = label_quality(work, subset)
                p(f"| {name} | {total} | {found} | chrome (nav) | {pct(nav[0])} | {pct(nav[1])} | {nav[2]} | {nav[3]} | {nav[4]} |")
                p(f"| {name} | {total} | {found} | polluted (nav or mixed) | {pct(anyc[0])} | {pct(anyc[1])} | {anyc[2]} | {anyc[3]} | {anyc[4]} |")
                confusions.append(f"{name}: " + ", ".join(f"{a}→{b} {n}" for (a, b), n in sorted(confusion.items())))
            p("")
            p("Confusion (label → detector): " + "; ".join(confusions))
            p("")
    ir = os.path.join(work, "ir", "results.json")
    if os.path.exists(ir):
        res = json.load(open(ir))
        p("Retrieval with the default model (all-MiniLM-L6-v2), every query of each collection, top 100:")
        p("")
        p("| collection | side | docs | queries judged | nDCG@10 | MAP | ingest s |")
        p("|---|---|---|---|---|---|---|")
        for r in res:
            p(f"| {r['collection']} | {r['side']} | {r['docs']} | {r['queries']} | {r['ndcg_cut_10']:.4f} | "
              f"{r['map']:.4f} | {r['ingest_seconds']:.1f} |")
        p("")
    print("\n".join(out))

# ---------------------------------------------------------------------------------------------------------
# sample / show: drawing and reviewing the sample to label
# ---------------------------------------------------------------------------------------------------------
def sample(args):
    global SIDEBAR
    rng = random.Random(args.seed)
    trees = args.trees.split()
    exclude = {(l["tree"], l["path"], l["hash"]) for l in load_labels(args.exclude)} if args.exclude else set()
    per_tree = collections.defaultdict(lambda: collections.defaultdict(list))
    for tree in trees:
        SIDEBAR = load_node_sidebar(os.path.join(args.work, "trees", tree)) if tree == "nodejs" else set()
        real = os.path.realpath(os.path.join(args.work, "trees", tree))
        for path, ordinal, text, hp in chunks_of(os.path.join(args.work, "index", f"{tree}-baseline.sqlite")):
            rel = os.path.relpath(path, real)
            if (tree, rel, text_hash(text)) in exclude:
                continue
            cls = classify(text, hp)[0]
            per_tree[tree][cls].append((rel, ordinal, text))
    # Half flagged (nav and mixed alike), half clean, spread evenly over the trees that have any.
    picks = []
    quota = {"nav": args.n // 4, "mixed": args.n // 4, "clean": args.n - 2 * (args.n // 4)}
    for cls, q in quota.items():
        for i in range(q):
            trees_with = [t for t in trees if per_tree[t][cls]]
            t = trees_with[i % len(trees_with)]
            pool = per_tree[t][cls]
            picks.append((t, cls) + pool.pop(rng.randrange(len(pool))))
    rng.shuffle(picks)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("tree\tpath\tordinal\ttext_sha256_16\tlabel\tprefix\n")
        for t, cls, rel, ordinal, text in picks:
            prefix = re.sub(r"\s+", " ", text)[:60].replace("\t", " ")
            f.write(f"{t}\t{rel}\t{ordinal}\t{text_hash(text)}\t?{cls}\t{prefix}\n")

def show(args):
    global SIDEBAR
    SIDEBAR = load_node_sidebar(os.path.join(args.work, "trees", "nodejs"))
    labels = load_labels(args.labels)
    cache = {}
    for i, l in enumerate(labels):
        if l["tree"] not in cache:
            real = os.path.realpath(os.path.join(args.work, "trees", l["tree"]))
            cache[l["tree"]] = {(os.path.relpath(p, real), text_hash(t)): (t, h) for p, o, t, h in
                                chunks_of(os.path.join(args.work, "index", f"{l['tree']}-baseline.sqlite"))}
        text, hp = cache[l["tree"]].get((l["path"], l["hash"]), ("(not found)", []))
        cls, reasons = classify(text, hp)
        body = text if len(text) <= args.width else text[: args.width * 2 // 3] + " […] " + text[-args.width // 3:]
        print(f"#{i} {l['tree']} {l['path']}:{l['ordinal']} label={l['label']} detector={cls} {reasons}")
        print(f"   heading: {hp}")
        print("   " + body.replace("\n", " ⏎ "))
        print()

def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True); r.add_argument("--labels", required=True)
    r.add_argument("--trees", default="postgres python nodejs apache vim-tutor docker")
    r.add_argument("--no-ingest", action="store_true")
    s = sub.add_parser("sample")
    s.add_argument("--work", required=True); s.add_argument("--out", required=True)
    s.add_argument("--n", type=int, default=150); s.add_argument("--seed", type=int, default=7)
    s.add_argument("--trees", default="postgres python nodejs apache vim-tutor docker")
    s.add_argument("--exclude", help="a labels file whose chunks are not drawn again")
    v = sub.add_parser("show")
    v.add_argument("--work", required=True); v.add_argument("--labels", required=True)
    v.add_argument("--width", type=int, default=600)
    args = ap.parse_args()
    {"report": report, "sample": sample, "show": show}[args.cmd](args)

if __name__ == "__main__":
    main()
