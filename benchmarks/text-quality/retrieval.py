#!/usr/bin/env python3
"""Retrieval check for benchmarks/text-quality/run.sh --retrieval: Cranfield and CISI (../shared/data/ir),
each document written to its own text file (as benchmarks/kill does for Cranfield), ingested with the default
model by the baseline and the candidate binary, every query run through `embed query --json -k 100`, and
scored with trec_eval's nDCG@10 and MAP (pytrec_eval). A document's rank is that of its best chunk.

Cranfield grades run 1 (most relevant) to 4; the gain is 5 - grade, and -1 (undefined) is not relevant.
CISI's judgments are binary; only the 76 queries with judgments are scored. Writes WORK/results.json.
"""
import argparse, hashlib, json, os, pathlib, subprocess, sys, time
import pytrec_eval

# The collections' parser lives with the retrieval benchmark (one copy).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "retrieval"))
from ircollections import load, one_line  # noqa: E402


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
            line = one_line(q)
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
