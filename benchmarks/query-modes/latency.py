#!/usr/bin/env python3
"""Times `embed query --mode M QUERY` processes, interleaving the modes query by query so that the machine's
noise falls on all of them alike, and reports each mode's median and the median of the per-query ratio of
hybrid (and keyword) to vector. With --big, first grows a copy of the index to about 1,000,000 chunks (the
manual's chunks copied under new paths, sharing their vectors) and times that too."""
import argparse, os, shutil, sqlite3, statistics, subprocess, sys, time

QUERIES = [
    "how do I reclaim disk space after deleting rows", "VACUUM FULL locks the table", "create a read-only user",
    "pg_dump a single table", "what does the WAL archive do", "configure max_connections",
    "index on an expression", "LATERAL join example", "difference between json and jsonb",
    "restore from a base backup", "row level security policy", "explain analyze buffers output",
    "listen notify between sessions", "upgrade a cluster with pg_upgrade", "logical replication subscription",
    "autovacuum tuning for large tables", "partition a table by range", "GIN index for full text search",
    "window functions rank over partition", "serializable isolation anomalies",
]


def run(embed, db, mode, query, extra):
    started = time.perf_counter()
    out = subprocess.run([embed, "query", "--db", db, "--mode", mode, "-k", "10", query] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"embed query --mode {mode} failed ({out.returncode}): {out.stderr}")
    return elapsed


def measure(embed, db, rounds, label, extra=()):
    modes = ["vector", "hybrid", "keyword"]
    times = {m: [] for m in modes}
    # A warm-up query of each mode: the vector file and the page cache are built once, not timed.
    for m in modes:
        run(embed, db, m, "warm up", list(extra))
    for r in range(rounds):
        for i, q in enumerate(QUERIES):
            order = modes[(i + r) % 3:] + modes[:(i + r) % 3]
            for m in order:
                times[m].append(run(embed, db, m, q, list(extra)))
    chunks = sqlite3.connect(db).execute("SELECT count(*) FROM chunks").fetchone()[0]
    print(f"\n{label}: {chunks:,} chunks, {len(QUERIES)} queries x {rounds} rounds, one process per query")
    print("| mode | median s | p90 s | median ratio to vector |")
    print("|---|---|---|---|")
    for m in modes:
        ratios = [a / b for a, b in zip(times[m], times["vector"])]
        p90 = statistics.quantiles(times[m], n=10)[-1]
        print(f"| {m} | {statistics.median(times[m]):.3f} | {p90:.3f} | {statistics.median(ratios):.2f} |")


def grow(db, big, target):
    """A copy of `db` whose chunks are repeated under new document paths until it holds `target` chunks."""
    if os.path.exists(big):
        n = sqlite3.connect(big).execute("SELECT count(*) FROM chunks").fetchone()[0]
        if n >= target:
            return
    for suffix in ("", "-wal", "-shm", ".vectors"):
        if os.path.exists(big + suffix):
            os.remove(big + suffix)
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    shutil.copyfile(db, big)
    con = sqlite3.connect(big, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    docs, chunks = con.execute("SELECT count(*) FROM documents").fetchone()[0], \
        con.execute("SELECT count(*) FROM chunks").fetchone()[0]
    copies = max(0, -(-target // chunks) - 1)
    started = time.time()
    for c in range(1, copies + 1):
        con.execute("BEGIN")
        # New documents (path prefixed with the copy number) and their chunks, sharing the original vectors;
        # the keyword index follows through its triggers, as for any write.
        con.execute(f"""INSERT INTO documents (path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at)
                        SELECT '/copy{c}' || path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at
                        FROM documents WHERE id <= {docs}""")
        con.execute(f"""INSERT INTO chunks (document_id, ordinal, text, start_offset, end_offset, line, heading_path,
                                            token_count, vector_id)
                        SELECT n.id, c.ordinal, c.text, c.start_offset, c.end_offset, c.line, c.heading_path,
                               c.token_count, c.vector_id
                        FROM chunks c JOIN documents o ON o.id = c.document_id
                        JOIN documents n ON n.path = '/copy{c}' || o.path
                        WHERE c.document_id <= {docs}""")
        con.execute("UPDATE index_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        con.execute("COMMIT")
        print(f"copy {c}/{copies}: {time.time() - started:.0f}s", file=sys.stderr)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--embed", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--big", action="store_true")
    args = p.parse_args()
    measure(args.embed, args.db, args.rounds, "PostgreSQL manual")
    if args.big:
        big = os.path.join(args.work, "big.sqlite")
        grow(args.db, big, 1_000_000)
        measure(args.embed, big, 1, "grown to about 1M chunks (copies collapsed)")
        measure(args.embed, big, 1, "grown to about 1M chunks, --all", ["--all"])


if __name__ == "__main__":
    main()
