#!/usr/bin/env python3
"""Retrieval benchmark for issue 13 (run by run.sh beside this file; see README.md).

For each collection (Cranfield, CISI): one text file per document, ingested once with embed's default
model, then every judged query through `embed query --json -k 100 --queries-file FILE` in each mode
(vector, keyword, hybrid, one document per hit), and beside it two references over the same texts:
sentence-transformers all-MiniLM-L6-v2 over whole documents (truncated at 256 tokens, exact cosine) and
rank-bm25. Scored with pytrec_eval: nDCG@10, MAP@100 (map_cut_100), Recall@100 (recall_100), averaged
over the judged queries (a query a system answers with nothing counts 0). With --sweep, hybrid is also
run at each fusion setting. Writes WORK/table.md and WORK/results.json.
"""
import argparse, datetime, hashlib, json, os, pathlib, re, shlex, subprocess, sys, time

import pytrec_eval

from ircollections import COLLECTIONS, load, one_line

MEASURES = {"ndcg_cut_10": "nDCG@10", "map_cut_100": "MAP@100", "recall_100": "Recall@100"}
NAMES = {"cranfield": "Cranfield", "cisi": "CISI", "cisi-x": "CISI+X"}
# Flags every mode run gets when embed has them: one hit per document, and no collapsing of identical
# chunk texts across files (a collapsed copy would hide a judged document).
GROUPING = ["--group", "document", "--all"]
SWEEP = ([("rrf k=%d" % k, ["--fusion", "rrf", "--rrf-k", str(k)]) for k in (10, 30, 60, 100)]
         + [("linear w=%.1f" % w, ["--fusion", "linear", "--vector-weight", "%.1f" % w])
            for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)])


def log(*args):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}]", *args, file=sys.stderr, flush=True)


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def score(qrels, run):
    """Mean of each measure over the judged queries; a query missing from the run counts 0."""
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(MEASURES))
    per_query = evaluator.evaluate({q: run.get(q) or {} for q in qrels})
    return {m: sum(per_query.get(q, {}).get(m, 0.0) for q in qrels) / len(qrels) for m in MEASURES}


class Embed:
    def __init__(self, binary, model_dir):
        self.binary, self.model_dir = binary, model_dir
        self.sha = digest(pathlib.Path(binary).read_bytes())
        # The fusion tuning flags are hidden from --help; --help-hidden lists them.
        help_text = subprocess.run([binary, "query", "--help-hidden"], capture_output=True, text=True).stdout
        # The mode and fusion flags arrive with issue 13; until then only plain vector queries run.
        self.flags = {f for f in ("--mode", "--group", "--all", "--fusion", "--rrf-k", "--vector-weight")
                      if re.search(re.escape(f) + r"\b", help_text)}

    def has(self, flags):
        return all(f in self.flags for f in flags if f.startswith("--"))

    def ingest(self, docs_dir, db, docs_digest, flags=()):
        """Ingest with FLAGS unless DB already holds these documents ingested so by this binary."""
        stamp = pathlib.Path(db + ".stamp")
        want = digest(self.sha, docs_digest, self.model_dir, *flags)
        if os.path.exists(db) and stamp.exists() and stamp.read_text() == want:
            return None
        for suffix in ("", "-wal", "-shm", ".vectors", ".lock", ".stamp"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        start = time.monotonic()
        subprocess.run([self.binary, "ingest", docs_dir, "--db", db, "--quiet", "--model-dir", self.model_dir]
                       + list(flags), check=True)
        stamp.write_text(want)
        return time.monotonic() - start

    def stats(self, db):
        """`embed stats --json` of DB: chunks, vectors, chunks without a vector (when this embed counts them)."""
        out = subprocess.run([self.binary, "stats", "--db", db, "--json"], check=True, capture_output=True,
                             text=True).stdout
        return json.loads(out)

    def query(self, db, qfile, by_text, flags):
        """Run every query of QFILE; returns ({qid: {doc: score}}, wall seconds of the embed process)."""
        cmd = [self.binary, "query", "--db", db, "--json", "-k", "100", "--queries-file", qfile,
               "--model-dir", self.model_dir] + flags
        start = time.monotonic()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        seconds = time.monotonic() - start
        best = {}  # qid -> doc -> best (lowest) rank: without --group, a document's rank is its best chunk's
        for line in out.splitlines():
            hit = json.loads(line)
            doc = pathlib.Path(hit["path"]).stem
            for qid in by_text.get(hit["query"], []):
                ranks = best.setdefault(qid, {})
                ranks[doc] = min(ranks.get(doc, 1 << 30), int(hit["rank"]))
        # Score by rank, so that trec_eval keeps embed's order (it breaks score ties by doc id).
        return {q: {d: -float(r) for d, r in ranks.items()} for q, ranks in best.items()}, seconds


def sentence_transformers_run(model_dir, docs, queries, cache):
    """all-MiniLM-L6-v2 over whole documents, truncated at 256 tokens, exact cosine, top 100."""
    import numpy as np
    from sentence_transformers import SentenceTransformer, models
    # Built from the parts, as the local folder has no 2_Normalize directory and no hub is reachable.
    transformer = models.Transformer(model_dir, max_seq_length=256)
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = models.Pooling(dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    model.max_seq_length = 256
    ids = sorted(docs)
    texts = [docs[i] for i in ids]
    key = digest(model_dir, model.max_seq_length, *texts)
    if os.path.exists(cache + ".key") and open(cache + ".key").read() == key:
        doc_vectors = np.load(cache)
    else:
        doc_vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        np.save(cache, doc_vectors)
        open(cache + ".key", "w").write(key)
    qids = sorted(queries)
    start = time.monotonic()
    query_vectors = model.encode([queries[q] for q in qids], batch_size=32, normalize_embeddings=True,
                                 convert_to_numpy=True)
    sims = query_vectors @ doc_vectors.T
    run = {}
    for qid, row in zip(qids, sims):
        top = np.argsort(-row, kind="stable")[:100]
        run[qid] = {ids[i]: float(row[i]) for i in top}
    return run, time.monotonic() - start


def bm25_run(docs, queries):
    """rank-bm25's BM25Okapi (k1 1.5, b 0.75), lowercase alphanumeric tokens, Porter stems (PyStemmer)."""
    import numpy as np
    import Stemmer
    from rank_bm25 import BM25Okapi
    stem = Stemmer.Stemmer("porter").stemWords
    tokens = lambda text: stem(re.findall(r"[a-z0-9]+", text.lower()))
    ids = sorted(docs)
    start = time.monotonic()
    bm25 = BM25Okapi([tokens(docs[i]) for i in ids])
    run = {}
    for qid, text in queries.items():
        s = bm25.get_scores(tokens(text))
        top = np.argsort(-s, kind="stable")[:100]
        run[qid] = {ids[i]: float(s[i]) for i in top}
    return run, time.monotonic() - start


def fmt_table(rows, collections):
    head = "| system | " + " | ".join(f"{NAMES[c]} {m}" for c in collections for m in MEASURES.values()) + " |"
    lines = [head, "|---|" + "---:|" * (len(collections) * len(MEASURES))]
    for name, by_collection in rows:
        cells = []
        for c in collections:
            r = by_collection.get(c)
            cells += [f"{r[m]:.4f}" if r else "n/a" for m in MEASURES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embed", required=True, help="the embed binary")
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data", required=True, help="../shared/data/ir")
    ap.add_argument("--work", required=True, help="benchmarks/work/retrieval")
    ap.add_argument("--collections", default=",".join(COLLECTIONS),
                    help="comma-separated: cranfield, cisi, and cisi-x (CISI with its .X citation tables kept)")
    ap.add_argument("--run", action="append", default=[], metavar="NAME=FLAGS",
                    help="an extra embed run with these query flags (repeatable), e.g. "
                         "'hybrid rrf 30=--mode hybrid --fusion rrf --rrf-k 30'")
    ap.add_argument("--ingest-variant", action="append", default=[], metavar="NAME=FLAGS",
                    help="also ingest each collection with these ingest flags into an index of its own, and run "
                         "every embed row on it too, named 'ROW [NAME]' (repeatable), e.g. "
                         "'no context=--chunk-context none'")
    ap.add_argument("--sweep", action="store_true", help="also run hybrid at every fusion setting")
    ap.add_argument("--no-references", action="store_true", help="skip sentence-transformers and rank-bm25")
    ap.add_argument("--commit", default="", help="the checkout measured, for the record")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    collections = args.collections.split(",")
    embed = Embed(args.embed, args.model_dir)
    log(f"embed {args.embed}: query flags {sorted(embed.flags) or 'none of issue 13 yet'}")

    # (name, query flags); grouping is added to every run when embed has it.
    grouping = GROUPING if embed.has(GROUPING) else []
    runs = [(f"embed {m}", ["--mode", m]) for m in ("vector", "keyword", "hybrid")]
    if not embed.has(["--mode"]):
        runs = [("embed vector", [])]
    runs += [(spec.partition("=")[0], shlex.split(spec.partition("=")[2])) for spec in args.run]
    # (name, ingest flags): the default ingest, then each variant, each in an index of its own.
    variants = [("", [])] + [(spec.partition("=")[0], shlex.split(spec.partition("=")[2])) for spec in args.ingest_variant]
    runs = [(name + (f" [{variant}]" if variant else ""), flags, variant)
            for variant, _ in variants for name, flags in runs]
    sweep = []
    if args.sweep:
        if embed.has(["--mode", "--fusion", "--rrf-k", "--vector-weight"]):
            sweep = [(f"hybrid {name}", ["--mode", "hybrid"] + flags, "") for name, flags in SWEEP]
        else:
            log("--sweep: this embed has no --fusion/--rrf-k/--vector-weight yet; no sweep")

    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "commit": args.commit, "embed": args.embed, "embed_sha256": embed.sha, "embed_flags": sorted(embed.flags),
               "grouping": grouping, "ingest_variants": {v: f for v, f in variants if v}, "collections": {}}
    for c in collections:
        docs, queries, qrels = load(c, args.data)
        # Only judged queries are run and scored (all 225 of Cranfield, 76 of CISI's 112).
        queries = {q: one_line(t) for q, t in queries.items() if q in qrels}
        qrels = {q: r for q, r in qrels.items() if q in queries}
        docs_dir = os.path.join(args.work, c)
        os.makedirs(docs_dir, exist_ok=True)
        for name, text in docs.items():
            path = pathlib.Path(docs_dir, name + ".txt")
            if not path.exists() or path.read_text() != text + "\n":
                path.write_text(text + "\n")
        docs = {name: text + "\n" for name, text in docs.items()}  # the references see the files' text
        dbs, indexes, seconds = {}, {}, None
        for variant, ingest_flags in variants:
            slug = re.sub(r"[^a-z0-9]+", "-", variant.lower()).strip("-")
            db = dbs[variant] = os.path.join(args.work, c + (f"-{slug}" if slug else "") + ".sqlite")
            log(f"{c}: {len(docs)} documents, {len(queries)} judged queries; ingesting into {db}"
                + (f" with {' '.join(ingest_flags)}" if ingest_flags else ""))
            took = embed.ingest(docs_dir, db, digest(*sorted(docs.items())), ingest_flags)
            log(f"{c}: " + ("index up to date, not re-ingested" if took is None else f"ingested in {took:.1f} s"))
            if not variant:
                seconds = took
            s = embed.stats(db)
            indexes[variant] = {"flags": ingest_flags, "ingest_seconds": took, "chunks": s.get("chunks"),
                                "vectors": s.get("vectors"), "chunks_without_vector": s.get("chunks_without_vector", 0)}
            log(f"{c} {variant or 'index'}: {indexes[variant]}")
        qfile = os.path.join(args.work, c + "-queries.txt")
        by_text = {}
        for qid, line in queries.items():
            by_text.setdefault(line, []).append(qid)
        pathlib.Path(qfile).write_text("".join(line + "\n" for line in by_text))

        entry = results["collections"][c] = {"documents": len(docs), "queries": len(queries),
                                             "ingest_seconds": seconds, "indexes": indexes, "systems": {}, "sweep": {}}
        for target, items in (("systems", runs), ("sweep", sweep)):
            for name, flags, variant in items:
                flags = flags + grouping
                run, wall = embed.query(dbs[variant], qfile, by_text, flags)
                r = score(qrels, run)
                r.update(query_seconds=wall, flags=flags)
                entry[target][name] = r
                log(f"{c} {name}: " + "  ".join(f"{MEASURES[m]} {r[m]:.4f}" for m in MEASURES)
                    + f"  ({wall:.2f} s for {len(by_text)} queries, process included)")
        if not args.no_references:
            for name, make in (("sentence-transformers", lambda: sentence_transformers_run(
                                    args.model_dir, docs, queries, os.path.join(args.work, c + "-st.npy"))),
                               ("rank-bm25", lambda: bm25_run(docs, queries))):
                run, wall = make()
                r = score(qrels, run)
                r.update(query_seconds=wall)
                entry["systems"][name] = r
                log(f"{c} {name}: " + "  ".join(f"{MEASURES[m]} {r[m]:.4f}" for m in MEASURES))

    names = [n for n, _, _ in runs] + ([] if args.no_references else ["sentence-transformers", "rank-bm25"])
    table = fmt_table([(n, {c: results["collections"][c]["systems"].get(n) for c in collections})
                       for n in names], collections)
    timing = ["", "| run | " + " | ".join(f"{NAMES[c]} s ({results['collections'][c]['queries']} queries)"
                                         for c in collections) + " |",
              "|---|" + "---:|" * len(collections)]
    for n in [n for n, _, _ in runs] + [n for n, _, _ in sweep]:
        cells = []
        for c in collections:
            e = results["collections"][c]
            r = e["systems"].get(n) or e["sweep"].get(n)
            cells.append(f"{r['query_seconds']:.2f}" if r else "n/a")
        timing.append(f"| {n} | " + " | ".join(cells) + " |")
    out = (f"Measured {results['date'][:10]} on commit {args.commit or '?'}; query flags added to every embed "
           f"run: {' '.join(grouping) or 'none'}.\n\n" + table + "\n" + "\n".join(timing) + "\n")
    if args.ingest_variant:
        out += ("\n| index | ingest flags | " + " | ".join(f"{NAMES[c]} chunks (without vector)" for c in collections)
                + " |\n|---|---|" + "---:|" * len(collections) + "\n")
        for vname, vflags in variants:
            cells = [f"{i['chunks']} ({i['chunks_without_vector']})"
                     for i in (results["collections"][c]["indexes"][vname] for c in collections)]
            out += f"| {vname or 'default'} | {' '.join(vflags)} | " + " | ".join(cells) + " |\n"
    if sweep:
        out += "\nHybrid fusion sweep\n\n" + fmt_table(
            [(n, {c: results["collections"][c]["sweep"][n] for c in collections}) for n, _, _ in sweep],
            collections) + "\n"
    print(out)
    pathlib.Path(args.work, "table.md").write_text(out)
    pathlib.Path(args.work, "results.json").write_text(json.dumps(results, indent=1) + "\n")
    log(f"written {args.work}/table.md and results.json")


if __name__ == "__main__":
    main()
