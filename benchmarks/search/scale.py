#!/usr/bin/env python3
"""Issue 18 benchmark: exact top-10 search at 1M and 10M random unit vectors (dimension 384), streamed from
embed's vector file as float32 rows and as int8 codes, in the page cache and under a memory limit that keeps
the vectors out of it; against numpy, faiss (flat, IVF, HNSW at 1M) and sqlite-vec (1M) in the same run; and
the time and bytes written by the vector file's update after 1% of the documents changed.

Usage: benchmarks/search/scale.sh [SIZES...]   (default 1000000 10000000; builds, installs, then runs this)

Every figure comes from this one run. Ours runs as `embed-bench-search scan` (single queries: median of 30,
or of 3 under the memory limit; batch of 100: median of 3, or 1), in a child process; bytes read are the
child's rchar (page cache included). Recall@10 is measured against numpy's exact answer. The memory limit is a
cgroup-v1 memory cgroup (page cache counts against it), with the page cache dropped before each run.
"""
import json, os, sqlite3, subprocess, sys, time
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "benchmarks", "work", "scale")
BENCH = os.path.join(ROOT, ".build", "release", "embed-bench-search")
CGROUP = "/sys/fs/cgroup/memory/embed-bench"
LIMIT = 2 << 30
K = 10


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def bench(args, limited=False):
    command = [BENCH] + args
    if limited:
        os.makedirs(CGROUP, exist_ok=True)
        with open(os.path.join(CGROUP, "memory.limit_in_bytes"), "w") as f:
            f.write(str(LIMIT))
        drop_caches()
        command = ["sh", "-c", f'echo $$ > {CGROUP}/cgroup.procs && exec "$@"', "sh"] + command
    env = dict(os.environ, EMBED_BENCH_REPEATS="3" if limited else "30")
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_time(fn, repeats):
    times = []
    for i in range(repeats):
        t = time.perf_counter(); fn(i); times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def exact_top(vectors, queries, block=1_000_000):
    """numpy's exact top 10 of every query, a block of rows at a time (a 10M memmap never sits in memory)."""
    best_scores = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), K), dtype=np.int64)
    for lo in range(0, len(vectors), block):
        scores = np.asarray(vectors[lo:lo + block]) @ queries.T  # rows × queries
        top = np.argpartition(-scores, K, axis=0)[:K]
        cand_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=0).T], axis=1)
        cand_rows = np.concatenate([best_rows, (top + lo).T], axis=1)
        order = np.argsort(-cand_scores, axis=1, kind="stable")[:, :K]
        best_scores = np.take_along_axis(cand_scores, order, axis=1)
        best_rows = np.take_along_axis(cand_rows, order, axis=1)
    return best_rows


def recall(found_ids, exact_rows):
    """Mean recall@10; chunk id = row + 1 in make_index.py's indexes."""
    hits = [len(set(f[:K]) & set((r + 1).tolist())) / K for f, r in zip(found_ids, exact_rows)]
    return sum(hits) / len(hits)


def numpy_engine(vectors, queries):
    single = median_time(lambda i: exact_top(vectors, queries[i % len(queries)][None, :]), 5)
    batch = median_time(lambda _: exact_top(vectors, queries), 1)
    return single, batch


def faiss_engines(vectors, queries, n, exact):
    import faiss
    faiss.omp_set_num_threads(os.cpu_count())
    results = {}
    flat = faiss.IndexFlatIP(vectors.shape[1])
    # One add of the whole (contiguous float32) memmap: faiss sizes its storage once. Adding in parts grows it
    # by doubling, which at 10M needs old and new storage at once, past this machine's memory.
    flat.add(vectors)
    flat.search(queries[:1], K)
    results["faiss flat"] = (median_time(lambda i: flat.search(queries[i % 100][None, :], K), 10),
                             median_time(lambda _: flat.search(queries, K), 3), 1.0)
    del flat
    if n > 1_000_000:
        # IVF-Flat and HNSW hold another copy of the vectors plus their growth: at 10M more than 24 GiB.
        return results
    nlist = 1024
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.ascontiguousarray(vectors[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)])
    started = time.time()
    ivf.train(sample)
    for lo in range(0, n, 1_000_000):
        ivf.add(np.ascontiguousarray(vectors[lo:lo + 1_000_000]))
    log(f"faiss IVF{nlist} built in {time.time() - started:.0f}s")
    ivf.nprobe = 16
    _, rows = ivf.search(queries, K)
    results[f"faiss IVF{nlist} nprobe 16"] = (
        median_time(lambda i: ivf.search(queries[i % 100][None, :], K), 30),
        median_time(lambda _: ivf.search(queries, K), 3), recall([(r + 1).tolist() for r in rows], exact))
    del ivf
    if n <= 1_000_000:
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 64
        started = time.time()
        hnsw.add(np.ascontiguousarray(vectors))
        log(f"faiss HNSW32 built in {time.time() - started:.0f}s")
        hnsw.hnsw.efSearch = 64
        _, rows = hnsw.search(queries, K)
        results["faiss HNSW32 ef 64"] = (
            median_time(lambda i: hnsw.search(queries[i % 100][None, :], K), 30),
            median_time(lambda _: hnsw.search(queries, K), 3), recall([(r + 1).tolist() for r in rows], exact))
    return results


def sqlite_vec_engine(out, vectors, queries):
    import sqlite_vec
    try:
        import pysqlite3 as sqlite3v
    except ImportError:
        import sqlite3 as sqlite3v
    path = os.path.join(out, "vec.sqlite")
    fresh = not os.path.exists(path)
    con = sqlite3v.connect(path)
    con.enable_load_extension(True)
    sqlite_vec.load(con)
    if fresh:
        con.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{vectors.shape[1]}])")
        for lo in range(0, len(vectors), 100_000):
            con.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)",
                            [(lo + i + 1, vectors[lo + i].tobytes()) for i in range(min(100_000, len(vectors) - lo))])
        con.commit()
    query = "SELECT rowid FROM v WHERE embedding MATCH ? ORDER BY distance LIMIT 10"
    return median_time(lambda i: con.execute(query, (queries[i % 100].tobytes(),)).fetchall(), 10)


def change_one_percent(db, n):
    """Replaces 1% of the documents (1,000 chunks each) with new ones of new vectors, as a reindex would store them."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = ON")
    documents = [row[0] for row in con.execute("SELECT id FROM documents ORDER BY id")]
    changed = documents[:: 100]
    rng = np.random.default_rng(7)
    next_vector = con.execute("SELECT max(id) FROM vectors").fetchone()[0] + 1
    next_chunk = con.execute("SELECT max(id) FROM chunks").fetchone()[0] + 1
    with con:
        for d in changed:
            old = [r[0] for r in con.execute("SELECT vector_id FROM chunks WHERE document_id = ?", (d,))]
            con.execute("DELETE FROM chunks WHERE document_id = ?", (d,))
            con.executemany("DELETE FROM vectors WHERE id = ?", [(v,) for v in old])
            fresh = rng.standard_normal((1000, 384), dtype=np.float32)
            fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
            rows = [(next_vector + i, os.urandom(32), fresh[i].tobytes()) for i in range(1000)]
            con.executemany("INSERT INTO vectors VALUES (?, ?, ?)", rows)
            con.executemany("INSERT INTO chunks(id, document_id, ordinal, text, start_offset, end_offset, line, "
                            "heading_path, token_count, vector_id) VALUES (?, ?, ?, 'changed', 0, 7, 1, '[]', 1, ?)",
                            [(next_chunk + i, d, i, next_vector + i) for i in range(1000)])
            next_vector += 1000
            next_chunk += 1000
        con.execute("UPDATE index_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    con.close()
    return len(changed) * 1000


def run(n):
    out = os.path.join(WORK, str(n))
    db = os.path.join(out, "index.sqlite")
    if not os.path.exists(db + ".vectors"):
        log(f"making the index of {n} vectors")
        subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "search", "make_index.py"), str(n), out],
                       check=True)
        log("migrating it and writing its vector file with int8 codes")
        log(json.dumps(bench(["prepare", db, "int8"])))
    vectors = np.load(os.path.join(out, "vectors.npy"), mmap_mode="r")
    queries = np.load(os.path.join(out, "queries.npy"))
    log("numpy's exact answer")
    exact = exact_top(vectors, queries)
    row = {"n": n}
    for mode in ["float32", "int8"] + (["memory"] if n <= 1_000_000 else []):
        log(f"ours, {mode}, in the page cache")
        bench(["scan", db, os.path.join(out, "queries.npy"), mode, os.path.join(out, f"top-{mode}.json")])  # warm
        result = bench(["scan", db, os.path.join(out, "queries.npy"), mode, os.path.join(out, f"top-{mode}.json")])
        result["recall"] = recall(json.load(open(os.path.join(out, f"top-{mode}.json"))), exact)
        row[f"ours {mode}"] = result
        log(json.dumps(result))
    for mode in ["float32", "int8"]:
        log(f"ours, {mode}, under a {LIMIT >> 30} GiB memory limit")
        result = bench(["scan", db, os.path.join(out, "queries.npy"), mode, os.path.join(out, f"top-{mode}-lim.json")],
                       limited=True)
        result["recall"] = recall(json.load(open(os.path.join(out, f"top-{mode}-lim.json"))), exact)
        row[f"ours {mode} limited"] = result
        log(json.dumps(result))
    log("numpy")
    row["numpy"] = numpy_engine(vectors, queries)
    log(f"numpy {row['numpy']}")
    log("faiss")
    row["faiss"] = faiss_engines(vectors, queries, n, exact)
    log(f"faiss {row['faiss']}")
    if n <= 1_000_000:
        log("sqlite-vec")
        row["sqlite-vec single"] = sqlite_vec_engine(out, vectors, queries)
    log("the vector file's update after 1% of the documents changed")
    changed = change_one_percent(db, n)
    row["update"] = bench(["refresh", db])
    row["update"]["changed_chunks"] = changed
    log(json.dumps(row["update"]))
    return row


def table(sizes):
    """The Markdown tables of RESULTS.md, from the results of earlier runs."""
    ms = lambda seconds: f"{seconds * 1000:.1f}"
    lines = ["| vectors | engine | where the vectors are | single query (ms) | batch of 100 (ms) | bytes read per query | recall@10 |",
             "|---|---|---|---|---|---|---|"]
    updates = ["| vectors | chunks changed | update time (s) | bytes written | vector file | written / file |", "|---|---|---|---|---|---|"]
    for n in sizes:
        path = os.path.join(WORK, f"results-{n}.json")
        if not os.path.exists(path):
            continue
        row = json.load(open(path))
        for key, where in [("ours float32", "page cache"), ("ours int8", "page cache"), ("ours memory", "in memory"),
                           ("ours float32 limited", f"disk ({LIMIT >> 30} GiB limit)"),
                           ("ours int8 limited", f"disk ({LIMIT >> 30} GiB limit)")]:
            if key in row:
                r = row[key]
                name = {"float32": "embed float32 (streamed)", "int8": "embed int8 + exact rescore",
                        "memory": "embed float32 (held in memory)"}[r["mode"]]
                lines.append(f"| {n:,} | {name} | {where} | {ms(r['single_median_seconds'])} | "
                             f"{ms(r['batch100_median_seconds'])} | {r['bytes_read_per_query'] / 1e6:,.0f} MB | {r['recall']:.3f} |")
        single, batch = row["numpy"]
        lines.append(f"| {n:,} | numpy (memmap, exact) | page cache | {ms(single)} | {ms(batch)} | | 1.000 |")
        for name, (single, batch, recall) in row["faiss"].items():
            lines.append(f"| {n:,} | {name} | in memory | {ms(single)} | {ms(batch)} | | {recall:.3f} |")
        if "sqlite-vec single" in row:
            lines.append(f"| {n:,} | sqlite-vec (vec0) | page cache | {ms(row['sqlite-vec single'])} | | | 1.000 |")
        u = row["update"]
        updates.append(f"| {n:,} | {u['changed_chunks']:,} | {u['seconds']:.2f} | {u['bytes_written'] / 1e6:,.1f} MB | "
                       f"{u['vector_file_bytes'] / 1e9:.2f} GB | {100 * u['bytes_written'] / u['vector_file_bytes']:.2f} % |")
    return "\n".join(lines) + "\n\n" + "\n".join(updates)


def main():
    if sys.argv[1:2] == ["--table"]:
        print(table([int(a) for a in sys.argv[2:]] or [1_000_000, 10_000_000]))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000]
    rows = []
    for n in sizes:
        rows.append(run(n))
        json.dump(rows[-1], open(os.path.join(WORK, f"results-{n}.json"), "w"), indent=1)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
