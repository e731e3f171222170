#!/usr/bin/env python3
"""Writes an `embed` index of N random unit vectors (dimension 384) straight into SQLite, plus the same
vectors and a set of random unit queries as .npy files for the reference engines.

Usage: make_index.py N OUT_DIR [--seed S]

The index follows the schema in the README (this script is also a check that any SQLite client can write
one): one document per 1,000 chunks, every chunk with its own vector, the `hash` embedder's identity.
"""
import argparse, hashlib, json, os, sqlite3, sys, time
import numpy as np

SCHEMA_ID = "v1-documents-chunks-vectors"

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    dim = 384
    # Made and written a block at a time, so ten million vectors (15 GB) never sit in memory at once.
    vectors = np.lib.format.open_memmap(os.path.join(args.out, "vectors.npy"), mode="w+", dtype=np.float32,
                                        shape=(args.n, dim))
    block = 200_000
    for lo in range(0, args.n, block):
        part = rng.standard_normal((min(block, args.n - lo), dim), dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        vectors[lo:lo + len(part)] = part
    vectors.flush()
    queries = rng.standard_normal((args.queries, dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    np.save(os.path.join(args.out, "queries.npy"), queries)

    db = os.path.join(args.out, "index.sqlite")
    for name in os.listdir(args.out):
        if name.startswith("index.sqlite"):
            os.remove(os.path.join(args.out, name))
    # The schema exactly as embed's first migration creates it (see Sources/EmbedKit/Store/Migrations.swift).
    migrations = open(os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "EmbedKit", "Store",
                                   "Migrations.swift")).read()
    sql = migrations.split('"""')[1]
    started = time.time()
    con = sqlite3.connect(db)
    # A bulk load: no journal while loading (a failed load is simply made again), WAL afterwards as embed uses.
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.executescript("CREATE TABLE schema_migrations (identifier TEXT PRIMARY KEY);" + sql)
    con.execute("INSERT INTO schema_migrations VALUES (?)", (SCHEMA_ID,))
    settings = {"chunking": {"maxTokens": 200, "overlapTokens": 32},
                "embedder": {"dimension": dim, "isNormalized": True, "model": "fnv1a-words-bigrams-v1", "name": "hash"}}
    con.execute("INSERT INTO index_meta VALUES ('settings', ?)", (json.dumps(settings, sort_keys=True),))
    con.execute("INSERT INTO index_meta VALUES ('roots', '[]')")
    con.execute("INSERT INTO index_meta VALUES ('generation', '1')")
    # The random id that binds the index's vector file to it (an index without one never uses a vector file).
    con.execute("INSERT INTO index_meta VALUES ('index_id', ?)", (os.urandom(16).hex(),))
    per_doc = 1000
    with con:
        for d in range((args.n + per_doc - 1) // per_doc):
            lo, hi = d * per_doc, min(args.n, (d + 1) * per_doc)
            con.execute("INSERT INTO documents VALUES (?, ?, 0, 0, ?, 'text', NULL, ?, 0)",
                        (d + 1, f"/bench/doc{d}.txt", hashlib.sha256(str(d).encode()).digest(), hi - lo))
            rows = []
            for i in range(lo, hi):
                text = f"random vector {i}"
                rows.append((i + 1, hashlib.sha256(text.encode()).digest(), vectors[i].tobytes()))
            con.executemany("INSERT INTO vectors VALUES (?, ?, ?)", rows)
            con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, 0, ?, 1, '[]', 3, ?)",
                            [(i + 1, d + 1, i - lo, f"random vector {i}", len(f"random vector {i}"), i + 1)
                             for i in range(lo, hi)])
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    print(f"wrote {args.n} vectors to {db} in {time.time() - started:.1f}s", file=sys.stderr)

if __name__ == "__main__":
    main()
