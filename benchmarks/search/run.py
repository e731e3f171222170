#!/usr/bin/env python3
"""Issue 6 benchmark: exact top-10 search over 100k and 1M random unit vectors (dimension 384), side by side:
embed's engine, numpy (matrix product + argpartition), faiss-cpu IndexFlatIP, sqlite-vec (vec0), the machine's
memory-bandwidth floor (one pass over the vectors, measured in the same run), and `embed query` end to end.

Usage: benchmarks/search/run.sh  (builds, installs the Python packages, then runs this)
Prints a Markdown table; every engine runs in this one process or its children, one after another.
"""
import json, os, statistics, subprocess, sys, time
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "benchmarks", "work", "search")
K = 10

def median_time(fn, repeats):
    times = []
    for i in range(repeats):
        t = time.perf_counter(); fn(i); times.append(time.perf_counter() - t)
    return statistics.median(times)

def ensure_index(n):
    out = os.path.join(WORK, f"{n}")
    if not os.path.exists(os.path.join(out, "index.sqlite")):
        subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "search", "make_index.py"), str(n), out], check=True)
    return out

def ours(out):
    exe = os.path.join(ROOT, ".build", "release", "embed-bench-search")
    result = subprocess.run([exe, os.path.join(out, "index.sqlite"), os.path.join(out, "queries.npy")],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)

def numpy_engine(vectors, queries):
    def single(i):
        scores = vectors @ queries[i % len(queries)]
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]
    def batch(_):
        scores = vectors @ queries.T
        top = np.argpartition(-scores, K, axis=0)[:K]
        return top
    single(0)
    return median_time(single, 30), median_time(batch, 5)

def faiss_engine(vectors, queries):
    import faiss
    faiss.omp_set_num_threads(os.cpu_count())
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    index.search(queries[:1], K)
    single = median_time(lambda i: index.search(queries[i % len(queries)][None, :], K), 30)
    batch = median_time(lambda _: index.search(queries, K), 5)
    return single, batch

def sqlite_vec_engine(out, vectors, queries):
    import sqlite_vec
    try:
        import pysqlite3 as sqlite3  # a sqlite3 that can load extensions
    except ImportError:
        import sqlite3
    path = os.path.join(out, "vec0.sqlite")
    if not os.path.exists(path):
        con = sqlite3.connect(path + ".tmp")
        con.enable_load_extension(True); sqlite_vec.load(con)
        con.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{vectors.shape[1]}])")
        with con:
            for start in range(0, len(vectors), 10000):
                con.executemany("INSERT INTO vec(rowid, embedding) VALUES (?, ?)",
                                [(start + i + 1, v.tobytes()) for i, v in enumerate(vectors[start:start + 10000])])
        con.close(); os.rename(path + ".tmp", path)
    def query(con, q):
        return con.execute("SELECT rowid, distance FROM vec WHERE embedding MATCH ? ORDER BY distance LIMIT ?",
                           (q.tobytes(), K)).fetchall()
    def open_and_query(i):
        con = sqlite3.connect(path)
        con.enable_load_extension(True); sqlite_vec.load(con)
        query(con, queries[i % len(queries)]); con.close()
    open_and_query(0)  # warm the page cache
    con = sqlite3.connect(path); con.enable_load_extension(True); sqlite_vec.load(con)
    single = median_time(lambda i: query(con, queries[i % len(queries)]), 10)
    first = median_time(open_and_query, 5)
    return single, first

def embed_end_to_end(out):
    exe = os.path.join(ROOT, ".build", "release", "embed")
    db = os.path.join(out, "index.sqlite")
    subprocess.run([exe, "query", "--db", db, "-k", str(K), "warm up"], check=True, capture_output=True)
    def run(i):
        subprocess.run([exe, "query", "--db", db, "-k", str(K), f"query number {i}"], check=True, capture_output=True)
    return median_time(run, 10)

def main():
    sizes = [int(s) for s in sys.argv[1:]] or [100_000, 1_000_000]
    rows = []
    for n in sizes:
        out = ensure_index(n)
        vectors = np.load(os.path.join(out, "vectors.npy"))
        queries = np.load(os.path.join(out, "queries.npy"))
        ours_result = ours(out)
        np_single, np_batch = numpy_engine(vectors, queries)
        fa_single, fa_batch = faiss_engine(vectors, queries)
        sv_single, sv_first = sqlite_vec_engine(out, vectors, queries)
        e2e = embed_end_to_end(out)
        rows.append(dict(n=n, floor=ours_result["bandwidth_floor_seconds"],
                         ours_single=ours_result["single_median_seconds"], ours_batch=ours_result["batch100_median_seconds"],
                         numpy_single=np_single, numpy_batch=np_batch, faiss_single=fa_single, faiss_batch=fa_batch,
                         sqlite_vec_single=sv_single, sqlite_vec_first=sv_first, embed_query=e2e))
        del vectors
    ms = lambda s: f"{s * 1000:.1f}"
    print("| vectors | bandwidth floor | embed single | numpy single | faiss single | sqlite-vec single | embed batch 100 | numpy batch 100 | faiss batch 100 | `embed query` end to end | sqlite-vec open + first query |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {ms(r['floor'])} | {ms(r['ours_single'])} | {ms(r['numpy_single'])} | {ms(r['faiss_single'])} | "
              f"{ms(r['sqlite_vec_single'])} | {ms(r['ours_batch'])} | {ms(r['numpy_batch'])} | {ms(r['faiss_batch'])} | "
              f"{ms(r['embed_query'])} | {ms(r['sqlite_vec_first'])} |")
    print()
    print("All times in milliseconds (medians). Ratios:")
    for r in rows:
        print(f"- {r['n']:,}: single/floor {r['ours_single'] / r['floor']:.2f}, single numpy/ours "
              f"{r['numpy_single'] / r['ours_single']:.2f}, batch numpy/ours {r['numpy_batch'] / r['ours_batch']:.2f}, "
              f"sqlite-vec open+first / embed query {r['sqlite_vec_first'] / r['embed_query']:.2f}")
    print(json.dumps(rows), file=sys.stderr)

if __name__ == "__main__":
    main()
