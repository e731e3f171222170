#!/usr/bin/env python3
"""Issue 20 benchmark: embed's PostgreSQL + pgvector store against its SQLite index, in one run.

Usage: benchmarks/postgres/run.sh [--vectors N] [--skip-ingest] [--skip-vectors]
(run.sh builds the release binaries, starts a throwaway server and runs this with EMBED_BENCH_PG_URL,
EMBED_BENCH_PG_DIR and PGPASSWORD set.)

1. Ingest: the PostgreSQL 15 manual (postgresql-doc-15's HTML) with `--embedder hash`, into a new SQLite index
   and into a new PostgreSQL schema by 1, 2 and 4 `embed ingest --shard I/N --wait` processes started at once;
   wall time until all end, the CPU time of the embed processes (their rusage) and of the server (postmaster,
   its live children and its reaped children, from /proc), median of REPEATS, and the documents and chunks
   every run ends with (`embed stats --json`). One more PostgreSQL run with `--ann hnsw` checks embed's own
   HNSW build on a real index.
2. Search: N random unit vectors of dimension 384 (make_index.py, as issue 18: seed 42, one document per 1,000
   chunks) in a SQLite index (made ready by `embed-bench-search prepare INDEX auto`) and the very same vectors,
   ids, paths and ordinals loaded by COPY into a schema embed made (`embed ingest` of a one-file folder with the
   hash embedder, then emptied); `embed stats --check` on both. The HNSW index is built with the SQL embed runs
   (PostgresIndexStore.applyApproximateIndex) and recorded as embed records it. Queries are 100 texts embedded
   by the index's own hash embedder; each `embed query --mode vector -k 10 --json` process is timed end to end:
   single queries (median of SINGLE runs, each its own text) and a batch of 100 texts in one process (median of
   BATCH runs); one warm-up run of each beforehand (caches warm), and the variants take turns within each round.
   Recall@10 of HNSW is against pgvector's exact answer for the same 100 texts; the exact answers of the two
   stores are compared too; `ef_sweep` gives pgvector's recall and time against hnsw.ef_search in SQL.
Results: benchmarks/work/postgres/results.json, and the Markdown tables on stdout.
"""
import argparse, json, os, random, resource, shutil, statistics, subprocess, sys, threading, time
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "benchmarks", "work", "postgres")
EMBED = os.path.join(ROOT, ".build", "release", "embed")
BENCH_SEARCH = os.path.join(ROOT, ".build", "release", "embed-bench-search")
MANUAL = "/usr/share/doc/postgresql-doc-15/html"
URL = os.environ.get("EMBED_BENCH_PG_URL", "")
PGDIR = os.environ.get("EMBED_BENCH_PG_DIR", "")
# The server's own psql: scripts/pg-server.sh names the folder of its programs in PGDIR/bin.
PSQL = (open(os.path.join(PGDIR, "bin")).read().strip() + "/psql") if PGDIR and os.path.exists(
    os.path.join(PGDIR, "bin")) else "psql"
DIM = 384
K = 10
TICK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def db(schema):
    return f"{URL}?schema={schema}"


def psql(sql, schema=None):
    """Runs SQL through psql (one session, stops at the first error); returns its unaligned output."""
    options = f"-c search_path={schema},public" if schema else ""
    env = dict(os.environ, PGOPTIONS=options)
    out = subprocess.run([PSQL, URL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}\n{sql}")
    return out.stdout.strip()


def embed(*args, check=True):
    return subprocess.run([EMBED, *args], check=check, capture_output=True, text=True)


def stats(where, *extra):
    out = embed("stats", "--db", where, "--json", *extra)
    return json.loads(out.stdout.strip().splitlines()[-1])


def server_cpu_seconds():
    """CPU time of the whole server so far: the postmaster, its reaped children (exited backends) and its live
    children (backends, checkpointer, walwriter, parallel workers)."""
    pid = int(open(os.path.join(PGDIR, "data", "postmaster.pid")).readline())

    def fields(p):
        text = open(f"/proc/{p}/stat").read()
        return text[text.rindex(")") + 2:].split()  # fields from the 3rd on

    own = fields(pid)
    total = sum(int(x) for x in own[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pid:
            continue
        try:
            f = fields(entry)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if int(f[1]) == pid:
            total += int(f[11]) + int(f[12])
    return total / TICK


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------------- ingest

def ingest_sqlite(rep):
    path = os.path.join(WORK, "ingest", f"manual-{rep}.sqlite")
    for name in os.listdir(os.path.dirname(path)):
        if name.startswith(os.path.basename(path)):
            os.remove(os.path.join(os.path.dirname(path), name))
    cpu0, t0 = children_cpu_seconds(), time.perf_counter()
    out = embed("ingest", MANUAL, "--db", path, "--embedder", "hash")
    seconds = time.perf_counter() - t0
    cpu = children_cpu_seconds() - cpu0
    s = stats(path)
    shutil.rmtree(path + ".vectors", ignore_errors=True)
    for name in os.listdir(os.path.dirname(path)):
        if name.startswith(os.path.basename(path)):
            os.remove(os.path.join(os.path.dirname(path), name))
    return {"store": "sqlite", "processes": 1, "seconds": seconds, "embed_cpu": cpu, "server_cpu": 0.0,
            "documents": s["documents"], "chunks": s["chunks"], "report": out.stderr.strip().splitlines()[-1:]}


def ingest_postgres(n, rep, extra=(), separate=False):
    """N shard processes started at once into one schema (or, with `separate`, each into its own schema: what
    the processes would do if nothing made them wait for one another)."""
    schema = f"manual_n{n}_r{rep}" + ("_hnsw" if extra else "") + ("_sep" if separate else "")
    schemas = [f"{schema}_{i}" for i in range(1, n + 1)] if separate else [schema]
    for name in schemas:
        psql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    where = db(schema)
    # Watches the server while the run lasts: the most sessions seen waiting for an advisory lock at once.
    waiting, stop = [0], threading.Event()

    def watch():
        while not stop.wait(0.25):
            try:
                count = int(psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
            except RuntimeError:
                continue
            waiting[0] = max(waiting[0], count)
    watcher = threading.Thread(target=watch)
    server0, cpu0 = server_cpu_seconds(), children_cpu_seconds()
    t0 = time.perf_counter()
    procs = [subprocess.Popen([EMBED, "ingest", MANUAL, "--db", db(schemas[i - 1] if separate else schema),
                               "--embedder", "hash", "--shard", f"{i}/{n}", "--wait", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(1, n + 1)]
    watcher.start()
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - t0
    cpu = children_cpu_seconds() - cpu0
    server = server_cpu_seconds() - server0
    stop.set(); watcher.join()
    for p, (_, err) in zip(procs, outs):
        if p.returncode != 0:
            raise RuntimeError(f"embed ingest --shard failed ({p.returncode}): {err}")
    counts = [stats(db(name)) for name in schemas]
    s = counts[0]
    check = embed("stats", "--db", where, "--check", check=False) if not separate else None
    row = {"store": "postgres-separate" if separate else "postgres", "processes": n, "seconds": seconds,
           "embed_cpu": cpu, "server_cpu": server, "max_waiting_for_lock": waiting[0],
           "documents": sum(c["documents"] for c in counts), "chunks": sum(c["chunks"] for c in counts),
           "check": check.returncode if check else 0,
           "report": [err.strip().splitlines()[-1] for _, err in outs], "ann": s.get("ann")}
    if extra:
        row["schema"] = schema
    else:
        for name in schemas:
            psql(f"DROP SCHEMA {name} CASCADE")
    return row


def ingest_part(repeats):
    os.makedirs(os.path.join(WORK, "ingest"), exist_ok=True)
    files = sum(len(f) for _, _, f in os.walk(MANUAL))
    log(f"ingest: {MANUAL} ({files} files), {repeats} rounds of sqlite, postgres 1/2/4 shards")
    subprocess.run(["cat"] + [os.path.join(MANUAL, f) for f in sorted(os.listdir(MANUAL))],
                   stdout=subprocess.DEVNULL, check=True)  # page cache warm
    load = [loadavg()]
    runs = []
    ingest_sqlite("warmup")
    for rep in range(repeats):
        runs.append(ingest_sqlite(rep)); log(f"  sqlite {runs[-1]['seconds']:.2f}s")
        for n in (1, 2, 4):
            runs.append(ingest_postgres(n, rep)); log(f"  postgres x{n} {runs[-1]['seconds']:.2f}s")
        for n in (2, 4):
            runs.append(ingest_postgres(n, rep, separate=True))
            log(f"  postgres x{n}, a schema each {runs[-1]['seconds']:.2f}s")
    load.append(loadavg())
    # embed's own HNSW build after an ingest, on the real index: its time, and EXPLAIN of embed's query on it.
    t0 = time.perf_counter()
    hnsw = ingest_postgres(1, 0, extra=("--ann", "hnsw"))
    hnsw["seconds_total"] = time.perf_counter() - t0
    log(f"  postgres x1 --ann hnsw {hnsw['seconds']:.2f}s ({hnsw['ann']})")
    hnsw["explain"] = explain(hnsw["schema"], "SELECT embedding FROM chunks ORDER BY id LIMIT 1", 82)
    hnsw["index_scans"] = hnsw_scans_by_query(hnsw["schema"], ["how do I create an index without locking writes"])
    # Recall@10 of embed's HNSW search against its exact scan on this real index, for the 100 query texts.
    texts = query_texts()
    approximate = top_by_query(run_query(db(hnsw["schema"]), texts)[1])
    exact = top_by_query(run_query(db(hnsw["schema"]), texts, ("--scan", "memory"))[1])
    hnsw["recall_vs_exact"] = recall(approximate, exact, texts)
    log(f"  manual, hnsw recall@10 against exact: {hnsw['recall_vs_exact']:.3f}")
    psql(f"DROP SCHEMA {hnsw['schema']} CASCADE")
    return {"files": files, "runs": runs, "hnsw_run": hnsw, "loadavg": load}


def summarize_ingest(part):
    rows = []
    base = None
    for store, n in (("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 4), ("postgres-separate", 2),
                     ("postgres-separate", 4)):
        runs = [r for r in part["runs"] if r["store"] == store and r["processes"] == n]
        seconds = statistics.median(r["seconds"] for r in runs)
        if base is None:
            base = seconds
        rows.append({
            "store": store, "processes": n, "seconds": seconds,
            "all_seconds": [round(r["seconds"], 2) for r in runs],
            "chunks_per_s": runs[0]["chunks"] / seconds, "ratio": base / seconds,
            "embed_cpu": statistics.median(r["embed_cpu"] for r in runs),
            "server_cpu": statistics.median(r["server_cpu"] for r in runs),
            "documents": sorted({r["documents"] for r in runs}), "chunks": sorted({r["chunks"] for r in runs}),
            "check": sorted({r.get("check", 0) for r in runs}),
            "max_waiting_for_lock": max(r.get("max_waiting_for_lock", 0) for r in runs),
            "reports": runs[0]["report"]})
    return rows


# ---------------------------------------------------------------------------------------------------- vectors

def query_texts(count=100, seed=7):
    words = ("vacuum index table row lock write ahead log replication backup restore query planner join hash "
             "merge sort btree gin gist brin trigger function schema role grant revoke transaction isolation "
             "snapshot commit rollback savepoint sequence partition tablespace checkpoint archive standby slot "
             "publication subscription extension statistics analyze cluster reindex cursor prepared statement "
             "copy import export encoding collation timezone interval json array range domain").split()
    rng = random.Random(seed)
    return [" ".join(rng.sample(words, rng.randint(3, 7))) for _ in range(count)]


def write_copy_file(vectors, path):
    """The vectors in COPY's binary format, as rows (id bigint, embedding vector): pgvector's binary input is
    int16 dimension, int16 unused, then the floats, all big-endian."""
    n = len(vectors)
    row = np.dtype([("fields", ">i2"), ("len_id", ">i4"), ("id", ">i8"), ("len_vec", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (DIM,))])
    with open(path, "wb") as f:
        f.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
        block = 100_000
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            rows = np.zeros(hi - lo, dtype=row)
            rows["fields"] = 2
            rows["len_id"] = 8
            rows["id"] = np.arange(lo + 1, hi + 1)
            rows["len_vec"] = 4 + 4 * DIM
            rows["dim"] = DIM
            rows["v"] = vectors[lo:hi]
            rows.tofile(f)
        f.write((-1).to_bytes(2, "big", signed=True))
    os.chmod(path, 0o644)


def load_postgres(schema, folder, n):
    """A schema embed made (ingest of a one-file folder, hash embedder), emptied, then the make_index.py rows."""
    psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    tiny = os.path.join(WORK, "tiny")
    os.makedirs(tiny, exist_ok=True)
    with open(os.path.join(tiny, "one.txt"), "w") as f:
        f.write("one small file, so that embed makes the schema and records the hash embedder's recipe\n")
    embed("ingest", tiny, "--db", db(schema), "--embedder", "hash")
    copy_file = os.path.join(folder, "vectors.copy")
    write_copy_file(np.load(os.path.join(folder, "vectors.npy"), mmap_mode="r"), copy_file)
    per_doc = 1000
    t0 = time.perf_counter()
    script = os.path.join(folder, "load.sql")
    with open(script, "w") as f:
        f.write(f"""\\set ON_ERROR_STOP 1
SET search_path TO {schema}, public;
TRUNCATE documents, chunks, skipped_files;
UPDATE index_meta SET value = '[]' WHERE key = 'roots';
CREATE UNLOGGED TABLE vec_load (id bigint, embedding vector);
\\copy vec_load FROM '{copy_file}' WITH (FORMAT binary)
INSERT INTO documents (id, path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at)
    SELECT d + 1, '/bench/doc' || d || '.txt', 0, 0, sha256(convert_to(d::text, 'UTF8')), 'text', NULL,
           least({per_doc}, {n} - d * {per_doc}), 0
    FROM generate_series(0, ({n} + {per_doc} - 1) / {per_doc} - 1) d;
INSERT INTO chunks (id, document_id, ordinal, text, start_offset, end_offset, line, heading_path,
                    token_count, text_hash, embedding)
    SELECT id, (id - 1) / {per_doc} + 1, (id - 1) % {per_doc}, 'random vector ' || (id - 1), 0,
           length('random vector ' || (id - 1)), 1, '[]', 3,
           sha256(convert_to('random vector ' || (id - 1), 'UTF8')), embedding
    FROM vec_load ORDER BY id;
DROP TABLE vec_load;
SELECT setval(pg_get_serial_sequence('documents', 'id'), (SELECT max(id) FROM documents));
SELECT setval(pg_get_serial_sequence('chunks', 'id'), (SELECT max(id) FROM chunks));
VACUUM ANALYZE documents;
VACUUM ANALYZE chunks;
CHECKPOINT;
""")
    subprocess.run([PSQL, URL, "-X", "-q", "-f", script], check=True, capture_output=True, text=True)
    os.remove(copy_file)
    return time.perf_counter() - t0


HNSW_MEMORY = "1GB"  # embed's own maintenance_work_mem for the build; --hnsw-memory overrides it


def build_hnsw(schema, m=16, ef_construction=64):
    """pgvector's HNSW index with the statements embed's applyApproximateIndex runs, in one transaction, and the
    index recorded as embed records it. With --hnsw-memory the build gets more memory than embed gives it (at 1M
    the graph outgrows 1 GB and the build crawls on disk)."""
    recorded = json.dumps({"ef_construction": ef_construction, "kind": "hnsw", "m": m}, separators=(",", ":"))
    t0 = time.perf_counter()
    psql(f"""BEGIN;
DROP INDEX IF EXISTS chunks_embedding_hnsw;
SET LOCAL maintenance_work_mem = '{HNSW_MEMORY}';
CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw ((embedding::vector({DIM})) vector_ip_ops)
    WITH (m = {m}, ef_construction = {ef_construction});
INSERT INTO index_meta (key, value) VALUES ('ann', '{recorded}')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
COMMIT;""", schema=schema)
    return time.perf_counter() - t0


def explain(schema, vector_sql, ef_search):
    vector = psql(vector_sql, schema=schema)
    """EXPLAIN ANALYZE of the statement embed runs with an HNSW index (PostgresReader.candidates), as a
    prepared statement with its two parameters, for a vector taken from the index."""
    out = psql(f"""BEGIN;
SET LOCAL hnsw.ef_search = {ef_search};
PREPARE q(vector, bigint) AS SELECT c.id, c.embedding FROM chunks c WHERE c.embedding IS NOT NULL
    ORDER BY (c.embedding::vector({DIM})) <#> $1::vector({DIM}) LIMIT $2;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE q('{vector}', {ef_search});
COMMIT;""", schema=schema)
    return [line.replace(vector, "$1") for line in out.splitlines()]


def hnsw_scans_by_query(schema, texts):
    """How many scans of the HNSW index one `embed query` process made (pg_stat_user_indexes)."""
    def scans():
        psql("SELECT pg_stat_clear_snapshot()")
        return int(psql(f"SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = '{schema}' "
                        "AND indexrelname = 'chunks_embedding_hnsw'") or 0)
    before = scans()
    embed("query", "--db", db(schema), "--mode", "vector", "-k", str(K), "--json", *texts)
    time.sleep(1.0)  # the statistics collector flushes at the backend's exit
    return scans() - before


def run_query(where, texts, extra=()):
    t0 = time.perf_counter()
    out = embed("query", "--db", where, "--mode", "vector", "-k", str(K), "--json", "--strict", *extra, *texts)
    seconds = time.perf_counter() - t0
    results = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return seconds, results


def top_by_query(results):
    top = {}
    for r in results:
        top.setdefault(r["query"], []).append((r["path"], r["ordinal"]))
    return top


def bench_variants(specs, texts, single_runs, batch_runs):
    """Every variant (name, index, extra arguments) timed in turn within each round, so that the load of the
    shared machine falls on all of them alike: one warm-up of each, then SINGLE rounds of single queries (round
    i asks text i), then BATCH rounds of the 100-text batch."""
    out = {name: {"name": name, "single": [], "batch": []} for name, _, _ in specs}
    for name, where, extra in specs:
        run_query(where, texts[:1], extra)
        run_query(where, texts, extra)
    for i in range(single_runs):
        for name, where, extra in specs:
            out[name]["single"].append(run_query(where, [texts[i % len(texts)]], extra)[0])
    for _ in range(batch_runs):
        for name, where, extra in specs:
            seconds, results = run_query(where, texts, extra)
            out[name]["batch"].append(seconds)
            out[name]["top"] = top_by_query(results)
    for name, _, _ in specs:
        v = out[name]
        v["single_median"], v["batch_median"] = statistics.median(v["single"]), statistics.median(v["batch"])
        log(f"  {name}: single {v['single_median'] * 1000:.1f} ms, batch {v['batch_median']:.2f} s")
    return [out[name] for name, _, _ in specs]


def recall(found, exact, texts):
    return statistics.mean(len(set(found.get(t, [])[:K]) & set(exact[t][:K])) / K for t in texts)


def ef_sweep(schema, texts, exact):
    """pgvector's HNSW recall@10 and server-side time per query against hnsw.ef_search, for the same 100 query
    vectors: the texts are ingested (one file each, one chunk each) into a schema of their own with the hash
    embedder, so its chunks hold exactly the vectors `embed query` searches with (checked: the SQL exact answer
    must equal embed's)."""
    folder = os.path.join(WORK, "query-texts")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for i, text in enumerate(texts):
        with open(os.path.join(folder, f"q{i:03d}.txt"), "w") as f:
            f.write(text)
    psql("DROP SCHEMA IF EXISTS query_vectors CASCADE")
    embed("ingest", folder, "--db", db("query_vectors"), "--embedder", "hash")
    rows = psql("SELECT d.path, c.text FROM query_vectors.chunks c JOIN query_vectors.documents d "
                "ON d.id = c.document_id ORDER BY d.path").splitlines()
    assert len(rows) == len(texts), f"{len(rows)} query chunks for {len(texts)} texts"
    by_text = {}
    for line in rows:
        path, text = line.split("|", 1)
        by_text[text] = path
    assert set(by_text) == set(texts), "a query file's chunk text differs from its query"

    def top(ef, exact_scan):
        order = ("c.embedding <#> q.embedding, c.id" if exact_scan
                 else f"(c.embedding::vector({DIM})) <#> (q.embedding::vector({DIM}))")
        setting = f"SET LOCAL hnsw.ef_search = {ef};" if ef else ""
        t0 = time.perf_counter()
        out = psql(f"""BEGIN; {setting} SET LOCAL max_parallel_workers_per_gather = 0;
SELECT q.text, array_to_string(array(SELECT (c.document_id - 1) * 1000 + c.ordinal FROM {schema}.chunks c
    WHERE c.embedding IS NOT NULL ORDER BY {order} LIMIT {K}), ',')
FROM query_vectors.chunks q; COMMIT;""")
        seconds = time.perf_counter() - t0
        found = {}
        for line in out.splitlines():
            text, ids = line.split("|", 1)
            found[text] = [("/bench/doc%d.txt" % (int(x) // 1000), int(x) % 1000) for x in ids.split(",") if x]
        return found, seconds / len(texts)

    sql_exact, exact_seconds = top(None, True)
    rows = [{"ef_search": "exact (seq scan)", "recall": recall(sql_exact, exact, texts),
             "ms_per_query": exact_seconds * 1000}]
    for ef in (40, 82, 200, 400, 1000):
        found, seconds = top(ef, False)
        rows.append({"ef_search": ef, "recall": recall(found, exact, texts), "ms_per_query": seconds * 1000})
        log(f"  ef_search {ef}: recall@10 {rows[-1]['recall']:.3f}, {rows[-1]['ms_per_query']:.2f} ms per query")
    plan = psql(f"""EXPLAIN (COSTS OFF) SELECT q.id, array(SELECT c.id FROM {schema}.chunks c
    WHERE c.embedding IS NOT NULL ORDER BY (c.embedding::vector({DIM})) <#> (q.embedding::vector({DIM})) LIMIT {K})
FROM query_vectors.chunks q""").splitlines()
    psql("DROP SCHEMA query_vectors CASCADE")
    return {"rows": rows, "plan": plan}


def vectors_part(n, single_runs, batch_runs, hnsw=True):
    folder = os.path.join(WORK, f"vectors-{n}")
    os.makedirs(folder, exist_ok=True)
    sqlite_index = os.path.join(folder, "index.sqlite")
    log(f"vectors: {n} random unit vectors, dimension {DIM}")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "search", "make_index.py"), str(n), folder],
                   check=True)
    shutil.rmtree(sqlite_index + ".vectors", ignore_errors=True)
    prepared = json.loads(subprocess.run([BENCH_SEARCH, "prepare", sqlite_index, "auto"], check=True,
                                         capture_output=True, text=True).stdout.strip().splitlines()[-1])
    log(f"  sqlite index made and prepared in {time.perf_counter() - t0:.1f}s")
    schema = f"vectors_{n}"
    load_seconds = load_postgres(schema, folder, n)
    log(f"  postgres loaded in {load_seconds:.1f}s")
    where = db(schema)
    checks = {"sqlite": embed("stats", "--db", sqlite_index, "--check", check=False),
              "postgres": embed("stats", "--db", where, "--check", check=False)}
    checks = {k: {"status": v.returncode, "output": (v.stdout + v.stderr).strip().splitlines()[-3:]}
              for k, v in checks.items()}
    sizes = {"sqlite": stats(sqlite_index), "postgres": stats(where)}
    texts = query_texts()
    load = [loadavg()]
    # pgvector's exact answer before any HNSW index exists, to check the exact path ignores the index later.
    before = top_by_query(run_query(where, texts, ("--scan", "memory"))[1])
    if not hnsw:
        # The exact engines only: at 1M the HNSW build outgrows embed's 1 GB of maintenance_work_mem and runs on
        # disk for most of an hour on this machine (--no-hnsw, see RESULTS.md).
        variants = bench_variants([("sqlite", sqlite_index, ()), ("sqlite --scan float32", sqlite_index, ("--scan", "float32")),
                                   ("pgvector exact", where, ("--scan", "memory"))], texts, single_runs, batch_runs)
        load.append(loadavg())
        exact = variants[2]["top"]
        return {
            "n": n, "prepare": prepared, "load_seconds": load_seconds, "checks": checks,
            "stats": {k: {f: v.get(f) for f in ("documents", "chunks", "vectors", "ann", "bytes_on_disk", "dimension",
                                                   "embedder", "model")} for k, v in sizes.items()},
            "recall_sqlite_vs_pg_exact": recall(variants[0]["top"], exact, texts),
            "recall_sqlite_float32_vs_pg_exact": recall(variants[1]["top"], exact, texts),
            "variants": [{k: v for k, v in x.items() if k != "top"} for x in variants],
            "loadavg": load, "queries": texts,
        }
    build_seconds = build_hnsw(schema)
    hnsw_bytes = int(psql(f"SELECT pg_relation_size('{schema}.chunks_embedding_hnsw')"))
    log(f"  hnsw built in {build_seconds:.1f}s ({hnsw_bytes / 1e6:.0f} MB)")
    variants = bench_variants([("sqlite", sqlite_index, ()), ("sqlite --scan float32", sqlite_index, ("--scan", "float32")),
                               ("pgvector exact", where, ("--scan", "memory")), ("pgvector hnsw", where, ())],
                              texts, single_runs, batch_runs)
    load.append(loadavg())
    exact = variants[2]["top"]
    out = {
        "n": n, "prepare": prepared, "load_seconds": load_seconds, "hnsw_build_seconds": build_seconds,
        "hnsw_bytes": hnsw_bytes, "checks": checks,
        "stats": {k: {f: v.get(f) for f in ("documents", "chunks", "vectors", "ann", "bytes_on_disk", "dimension",
                                               "embedder", "model")} for k, v in sizes.items()},
        "recall_hnsw_vs_exact": recall(variants[3]["top"], exact, texts),
        "recall_sqlite_vs_pg_exact": recall(variants[0]["top"], exact, texts),
        "recall_sqlite_float32_vs_pg_exact": recall(variants[1]["top"], exact, texts),
        "ef_sweep": ef_sweep(schema, texts, exact),
        "exact_same_before_hnsw": recall(before, exact, texts),
        "explain": explain(schema, "SELECT embedding FROM chunks ORDER BY id LIMIT 1", 82),
        "explain_exact": psql(f"""EXPLAIN (COSTS OFF) SELECT c.id, c.embedding FROM chunks c
            WHERE c.embedding IS NOT NULL ORDER BY c.embedding <#> (SELECT embedding FROM chunks WHERE id = 1), c.id
            LIMIT 82""", schema=schema).splitlines(),
        "hnsw_scans_single_query": hnsw_scans_by_query(schema, texts[:1]),
        "hnsw_scans_batch": hnsw_scans_by_query(schema, texts),
        "variants": [{k: v for k, v in x.items() if k != "top"} for x in variants],
        "loadavg": load, "queries": texts,
    }
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single", type=int, default=9)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-vectors", action="store_true")
    parser.add_argument("--no-hnsw", action="store_true", help="search part: the exact engines only")
    parser.add_argument("--hnsw-memory", default="1GB", help="maintenance_work_mem for the HNSW build (embed: 1GB)")
    args = parser.parse_args()
    global HNSW_MEMORY
    HNSW_MEMORY = args.hnsw_memory
    if not URL or not PGDIR:
        sys.exit("run through benchmarks/postgres/run.sh (it starts the server)")
    os.makedirs(WORK, exist_ok=True)
    results_path = os.path.join(WORK, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    results["started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    results["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True).stdout.strip()
    results["server"] = psql("SELECT version()") + " / pgvector " + psql(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    if not args.skip_ingest:
        part = ingest_part(args.repeats)
        part["table"] = summarize_ingest(part)
        results["ingest"] = part
        json.dump(results, open(results_path, "w"), indent=1)
    if not args.skip_vectors:
        results[f"vectors_{args.vectors}"] = vectors_part(args.vectors, args.single, args.batch, hnsw=not args.no_hnsw)
        json.dump(results, open(results_path, "w"), indent=1)
    report(results)


def report(results):
    if "ingest" in results:
        part = results["ingest"]
        print(f"\nIngest, {part['files']} files, load average {part['loadavg']}\n")
        print("| store | processes | seconds | chunks/s | ratio to SQLite | embed CPU s | server CPU s | documents | chunks | waiting | runs |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in part["table"]:
            print(f"| {r['store']} | {r['processes']} | {r['seconds']:.2f} | {r['chunks_per_s']:.0f} | "
                  f"{r['ratio']:.2f} | {r['embed_cpu']:.2f} | {r['server_cpu']:.2f} | {r['documents']} | {r['chunks']} | "
                  f"{r['max_waiting_for_lock']} | {r['all_seconds']} |")
            print("    " + " / ".join(r["reports"]))
        h = part["hnsw_run"]
        print(f"\n--ann hnsw run: {h['seconds']:.2f}s, ann {h['ann']}, index scans by one query {h['index_scans']}, "
              f"recall@10 against exact {h.get('recall_vs_exact')}")
        print("\n".join(h["explain"]))
    for key, part in results.items():
        if not key.startswith("vectors_"):
            continue
        hnsw = (f"hnsw build {part['hnsw_build_seconds']:.1f}s ({part['hnsw_bytes'] / 1e6:.0f} MB), "
                f"recall@10 hnsw/exact {part['recall_hnsw_vs_exact']:.3f}, " if "hnsw_bytes" in part else "no hnsw, ")
        print(f"\n{part['n']} vectors: load {part['load_seconds']:.1f}s, {hnsw}"
              f"sqlite/pg exact {part['recall_sqlite_vs_pg_exact']:.3f}, load average {part['loadavg']}")
        print("| engine | single query (ms) | batch of 100 (s) | per query in batch (ms) |")
        print("|---|---:|---:|---:|")
        for v in part["variants"]:
            print(f"| {v['name']} | {v['single_median'] * 1000:.1f} | {v['batch_median']:.2f} | "
                  f"{v['batch_median'] * 10:.1f} |")
        print("\n".join(part.get("explain", [])))
        print(part["checks"], part.get("hnsw_scans_single_query"), part.get("hnsw_scans_batch"))
        print(f"sqlite float32 vs pg exact {part.get('recall_sqlite_float32_vs_pg_exact')}")
        print("| hnsw.ef_search | recall@10 | ms per query (server, one backend) |")
        print("|---|---:|---:|")
        for r in part.get("ef_sweep", {}).get("rows", []):
            print(f"| {r['ef_search']} | {r['recall']:.3f} | {r['ms_per_query']:.2f} |")
        print("\n".join(part.get("ef_sweep", {}).get("plan", [])))


if __name__ == "__main__":
    main()
