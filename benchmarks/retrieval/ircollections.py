"""Cranfield and CISI (../shared/data/ir, formats in its README.md) as documents, queries and judgments.

Shared by benchmarks/retrieval and benchmarks/text-quality/retrieval.py, so that there is one parser.

load() returns (docs, queries, qrels): docs {doc id: text}, queries {query id: text}, qrels {query id:
{doc id: gain}}. Cranfield grades run 1 (most relevant) to 4; the gain is 5 - grade, and -1 (undefined)
is not relevant (gain 0). CISI's judgments are binary (gain 1). Doc ids are the file stems the benchmarks
write (cran0001, cisi0001), so a hit's path maps back to its doc by file name.
"""
import pathlib, re

COLLECTIONS = ("cranfield", "cisi")
# Not run by default: CISI with each document's .X block (its table of citations: numbers, no words) kept at
# its end, as the raw collection file has it. For measuring what embed does with chunks without words.
EXTRA_COLLECTIONS = ("cisi-x",)


def records(text):
    """Split a SMART-format file into (id, {field: text}) records."""
    out = []
    for part in re.split(r"^\.I\s+", text.replace("\r\n", "\n"), flags=re.M)[1:]:
        number, _, body = part.partition("\n")
        fields, current = {}, None
        for line in body.split("\n"):
            m = re.match(r"^\.([A-Z])\s*$", line)
            if m:
                current = m.group(1)
                fields.setdefault(current, [])
            elif current:
                fields[current].append(line)
        out.append((number.strip(), {k: "\n".join(v).strip() for k, v in fields.items()}))
    return out


def load(collection, data):
    if collection == "cranfield":
        d = pathlib.Path(data, "cranfield")
        docs = {f"cran{int(i):04d}": "\n".join(f.get(k, "") for k in "TABW").strip()
                for i, f in records(d.joinpath("cran.all.1400").read_text(errors="replace"))}
        # The judgments number queries by their position in cran.qry (1..225), not by their .I.
        queries = {str(n): f.get("W", "") for n, (_, f) in enumerate(records(d.joinpath("cran.qry").read_text()), 1)}
        qrels = {}
        for line in d.joinpath("cranqrel").read_text().split("\n"):
            p = line.split()
            if len(p) >= 3:
                grade = int(p[2])
                qrels.setdefault(p[0], {})[f"cran{int(p[1]):04d}"] = 0 if grade < 1 else 5 - grade
    elif collection in ("cisi", "cisi-x"):
        d = pathlib.Path(data, "cisi")
        # .X holds citation blocks, not text: left out, except in cisi-x.
        fields = "TAWX" if collection == "cisi-x" else "TAW"
        docs = {f"cisi{int(i):04d}": "\n".join(f.get(k, "") for k in fields).strip()
                for i, f in records(d.joinpath("CISI.ALL").read_text(errors="replace"))}
        queries = {str(int(i)): "\n".join(f.get(k, "") for k in "TW").strip()
                   for i, f in records(d.joinpath("CISI.QRY").read_text(errors="replace"))}
        qrels = {}
        for line in d.joinpath("CISI.REL").read_text().split("\n"):
            p = line.split()
            if len(p) >= 2:
                qrels.setdefault(str(int(p[0])), {})[f"cisi{int(p[1]):04d}"] = 1
    else:
        raise ValueError(f"unknown collection {collection!r} (known: {', '.join(COLLECTIONS + EXTRA_COLLECTIONS)})")
    return docs, queries, qrels


def one_line(text):
    """A query as one line of a --queries-file: embed reads one query per line, trimmed."""
    return re.sub(r"\s+", " ", text).strip()
