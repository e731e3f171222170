#!/usr/bin/env python3
"""Retrieval check for benchmarks/text-quality/run.sh --retrieval: Cranfield and CISI (../shared/data/ir),
each document written to its own text file (as benchmarks/kill does for Cranfield), ingested with the default
model by the baseline and the candidate binary, every query run through `embed query --json -k 100`, and
scored with trec_eval's nDCG@10 and MAP (pytrec_eval). A document's rank is that of its best chunk.

Cranfield grades run 1 (most relevant) to 4; the gain is 5 - grade, and -1 (undefined) is not relevant.
CISI's judgments are binary; only the 76 queries with judgments are scored. Writes WORK/results.json.
"""
import argparse, hashlib, json, os, pathlib, re, subprocess, sys, time
import pytrec_eval


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
    else:
        d = pathlib.Path(data, "cisi")
        docs = {f"cisi{int(i):04d}": "\n".join(f.get(k, "") for k in "TAW").strip()
                for i, f in records(d.joinpath("CISI.ALL").read_text(errors="replace"))}
        queries = {str(int(i)): "\n".join(f.get(k, "") for k in "TW").strip()
                   for i, f in records(d.joinpath("CISI.QRY").read_text(errors="replace"))}
        qrels = {}
        for line in d.joinpath("CISI.REL").read_text().split("\n"):
            p = line.split()
            if len(p) >= 2:
                qrels.setdefault(str(int(p[0])), {})[f"cisi{int(p[1]):04d}"] = 1
    return docs, queries, qrels


def sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def run_side(binary, name, collection, docs_dir, queries, qrels, work, model_dir):
    db = os.path.join(work, f"{collection}-{name}.sqlite")
    for suffix in ("", "-wal", "-shm", ".vectors", ".lock"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    start = time.monotonic()
    subprocess.run([binary, "ingest", docs_dir, "--db", db, "--quiet", "--model-dir", model_dir], check=True)
    seconds = time.monotonic() - start
    # One query per line; queries are made one line each, and the answer names the query by its text.
    qfile = os.path.join(work, f"{collection}-queries.txt")
    by_text = {}
    with open(qfile, "w") as f:
        for qid, q in queries.items():
            line = re.sub(r"\s+", " ", q).strip()
            by_text.setdefault(line, []).append(qid)
            f.write(line + "\n")
    out = subprocess.run([binary, "query", "--db", db, "--json", "-k", "100", "--queries-file", qfile,
                          "--model-dir", model_dir], check=True, capture_output=True, text=True).stdout
    run = {}
    for line in out.splitlines():
        hit = json.loads(line)
        doc = pathlib.Path(hit["path"]).stem
        for qid in by_text.get(hit["query"], []):
            scores = run.setdefault(qid, {})
            scores[doc] = max(scores.get(doc, -1e9), float(hit["score"]))
    judged = {q: r for q, r in qrels.items() if q in queries}
    evaluator = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut_10", "map"})
    per_query = evaluator.evaluate({q: run.get(q, {}) for q in judged})
    n = len(per_query)
    return {"collection": collection, "side": name, "docs": len(os.listdir(docs_dir)), "queries": n,
            "ndcg_cut_10": sum(v["ndcg_cut_10"] for v in per_query.values()) / n,
            "map": sum(v["map"] for v in per_query.values()) / n, "ingest_seconds": seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True); ap.add_argument("--data", required=True)
    ap.add_argument("--baseline", required=True); ap.add_argument("--candidate", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--collections", default="cranfield cisi")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    results = []
    same = sha(args.baseline) == sha(args.candidate)
    for collection in args.collections.split():
        docs, queries, qrels = load(collection, args.data)
        docs_dir = os.path.join(args.work, collection)
        os.makedirs(docs_dir, exist_ok=True)
        for name, text in docs.items():
            path = os.path.join(docs_dir, name + ".txt")
            if not os.path.exists(path) or pathlib.Path(path).read_text() != text + "\n":
                pathlib.Path(path).write_text(text + "\n")
        for side, binary in (("baseline", args.baseline), ("candidate", args.candidate)):
            if side == "candidate" and same:
                r = dict(results[-1]); r["side"] = "candidate (same binary)"
            else:
                print(f"retrieval: {collection} {side}: ingesting {len(docs)} documents with minilm", file=sys.stderr)
                r = run_side(binary, side, collection, docs_dir, queries, qrels, args.work, args.model_dir)
            print(f"retrieval: {r}", file=sys.stderr)
            results.append(r)
    json.dump(results, open(os.path.join(args.work, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
