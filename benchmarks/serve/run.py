"""Issue 16's figures: `embed serve` under load from `hey`, beside its ceilings and references, in one run.

    python3 benchmarks/serve/run.py EMBED_BINARY INDEX MODEL_DIR PYTHON_WITH_TORCH OUT_MD

1. /v1/embeddings, one sentence per request, at 1, 8, 32 and 128 clients: requests/s, p50, p99, the mean batch
   the model saw (from /metrics); beside it `embed encode` of the same sentences in one process (the ceiling) and
   a FastAPI + sentence-transformers server under the same load (the reference).
2. /v1/search, one query per request, at 1 and 32 clients, against `embed query` run as a process per query.
3. Memory under sustained load: the server's RSS sampled every second over SERVE_SOAK_SECONDS (default 300) of
   32 clients mixing embeddings and searches.

Every figure comes from this one run, so the ratios hold even on a noisy machine.
"""

import concurrent.futures
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

embed, index, model_dir, python, out_md = sys.argv[1:6]
seconds = int(os.environ.get("SERVE_SECONDS", "20"))
soak_seconds = int(os.environ.get("SERVE_SOAK_SECONDS", "300"))
sentence = "How do I create an index without locking writes on the table?"
queries = [
    "How do I create an index without locking writes on the table?",
    "vacuum full versus autovacuum",
    "set up streaming replication to a standby server",
    "what does the work_mem setting control",
]
lines = []


def say(line=""):
    print(line, flush=True)
    lines.append(line)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, process, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer /healthz within {timeout} s")


def hey(url, body, clients, duration):
    """Runs hey for `duration` seconds; returns (requests/s, p50 ms, p99 ms, non-200 answers), computed from
    every request's own record (hey's summary leaves out percentiles it has too few samples for)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(body, f)
        f.flush()
        output = subprocess.run(
            ["hey", "-z", f"{duration}s", "-c", str(clients), "-o", "csv", "-m", "POST", "-T", "application/json",
             "-D", f.name, url],
            capture_output=True, text=True, check=True).stdout
    rows = [line.split(",") for line in output.splitlines()[1:] if line.count(",") == 7]
    times = sorted(float(row[0]) * 1000 for row in rows)
    if not times:
        raise SystemExit(f"hey got no answer from {url}: {output[-500:]}")
    elapsed = max(float(row[7]) + float(row[0]) for row in rows)
    refused = sum(1 for row in rows if row[6] != "200")
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return len(rows) / elapsed, statistics.median(times), p99, refused


def batch_totals(port):
    """(texts, batches) the model has seen so far, from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    total = float(re.search(r"^embed_batch_texts_sum\S*\s+([\d.e+]+)", text, re.M).group(1))
    count = float(re.search(r"^embed_batch_texts_count\S*\s+([\d.e+]+)", text, re.M).group(1))
    return total, count


def start_embed(port):
    process = subprocess.Popen(
        [embed, "serve", "--db", index, "--port", str(port), "--log-level", "warning"],
        stderr=subprocess.DEVNULL)
    wait_healthy(port, process)
    return process


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
say(f"CPU: {cpu}, {os.cpu_count()} cores; {seconds} s per load level")
say()

parts = set(os.environ.get("SERVE_PARTS", "embeddings,search,memory").split(","))
embed_port = free_port()
url = f"http://127.0.0.1:{embed_port}/v1/embeddings"
search_url = f"http://127.0.0.1:{embed_port}/v1/search"

if "embeddings" in parts:
    # The ceiling: the same sentences through `embed encode`, one process, batched as the CLI batches.
    count = 4000
    stdin = "".join(json.dumps(sentence) + "\n" for _ in range(count))
    start = time.perf_counter()
    subprocess.run([embed, "encode"], input=stdin, capture_output=True, text=True, check=True)
    ceiling = count / (time.perf_counter() - start)

    # /v1/embeddings on embed serve, then on the FastAPI reference.
    rows = {}
    server = start_embed(embed_port)
    hey(url, {"input": sentence}, 8, 3)  # warm-up
    for clients in (1, 8, 32, 128):
        before = batch_totals(embed_port)
        rate, p50, p99, refused = hey(url, {"input": sentence}, clients, seconds)
        after = batch_totals(embed_port)
        mean_batch = (after[0] - before[0]) / max(after[1] - before[1], 1)
        rows[clients] = [rate, p50, p99, refused, mean_batch]
    stop(server)

    reference_port = free_port()
    reference = subprocess.Popen(
        [python, os.path.join(os.path.dirname(__file__), "reference_server.py"), model_dir, str(reference_port)],
        stderr=subprocess.DEVNULL)
    wait_healthy(reference_port, reference)
    reference_url = f"http://127.0.0.1:{reference_port}/v1/embeddings"
    hey(reference_url, {"input": sentence}, 8, 3)
    for clients in (1, 8, 32, 128):
        rate, p50, p99, refused = hey(reference_url, {"input": sentence}, clients, seconds)
        rows[clients] += [rate, p50, p99]
    stop(reference)

    say(f"Ceiling: `embed encode` of {count} copies of the sentence in one process: {ceiling:.0f} texts/s.")
    say()
    say("| clients | embed serve req/s | p50 ms | p99 ms | p99/p50 | mean batch | vs ceiling | non-200 | "
        "FastAPI+s-t req/s | p50 ms | p99 ms | embed serve / FastAPI |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for clients, (rate, p50, p99, refused, batch, r_rate, r_p50, r_p99) in rows.items():
        say(f"| {clients} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {p99 / p50:.1f} | {batch:.1f} | {rate / ceiling:.0%} | "
            f"{refused} | {r_rate:.0f} | {r_p50:.1f} | {r_p99:.1f} | {rate / r_rate:.2f}x |")
    say()

if "search" in parts:
    # /v1/search (hybrid, the default, and vector only) against `embed query` as a process per query.
    server = start_embed(embed_port)
    search_rows = {}
    for mode in ("hybrid", "vector"):
        hey(search_url, {"query": queries[0], "k": 10, "mode": mode}, 4, 2)  # warm-up
        for clients in (1, 32):
            search_rows[(mode, clients)] = hey(search_url, {"query": queries[0], "k": 10, "mode": mode}, clients, seconds)
    stop(server)
    # The same queries as a process each: 20 one after another, and 64 with 32 running at once.
    def one_process(mode):
        start = time.perf_counter()
        subprocess.run([embed, "query", "--db", index, "-k", "10", "--mode", mode, queries[0]],
                       capture_output=True, check=True)
        return (time.perf_counter() - start) * 1000

    per_process = {}
    for mode in ("hybrid", "vector"):
        per_process[(mode, 1)] = (sorted(one_process(mode) for _ in range(20)), None)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            times = sorted(pool.map(lambda _: one_process(mode), range(64)))
        per_process[(mode, 32)] = (times, 64 / (time.perf_counter() - started))
    say("| /v1/search mode | clients | req/s | p50 ms | p99 ms | non-200 | `embed query` per process: queries/s | "
        "p50 ms | p99 ms | p50: process / serve |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for (mode, clients), (rate, p50, p99, refused) in search_rows.items():
        times, process_rate = per_process[(mode, clients)]
        process_rate = process_rate or 1000 / statistics.mean(times)
        process_p50 = statistics.median(times)
        process_p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        say(f"| {mode} | {clients} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {refused} | {process_rate:.1f} | "
            f"{process_p50:.0f} | {process_p99:.0f} | {process_p50 / p50:.1f}x |")
    say()

if "memory" in parts:
    # --- Memory under sustained load: 24 clients embedding, 8 searching, RSS sampled each second.
    server = start_embed(embed_port)
    samples = []
    done = threading.Event()


    def sample():
        while not done.is_set():
            samples.append((time.time(), rss_mb(server.pid)))
            time.sleep(1)


    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.time()
    soak_results = {}


    def soak(name, *args):
        soak_results[name] = hey(*args)


    loads = [threading.Thread(target=soak, args=("embeddings", url, {"input": sentence}, 24, soak_seconds)),
             threading.Thread(target=soak, args=("search", search_url, {"query": queries[1], "k": 10}, 8, soak_seconds))]
    for load in loads:
        load.start()
    for load in loads:
        load.join()
    done.set()
    sampler.join()
    stop(server)


    def rss_at(offset):
        return max((mb for t, mb in samples if t - start <= offset), default=0.0)


    peak = max(mb for _, mb in samples)
    say(f"Sustained load, {soak_seconds} s of 24 clients embedding and 8 searching: RSS after 10 s {rss_at(10):.0f} MB, "
        f"after 60 s {rss_at(60):.0f} MB, peak {peak:.0f} MB, at the end {samples[-1][1]:.0f} MB.")
    for name in ("embeddings", "search"):
        if name not in soak_results:
            raise SystemExit(f"the sustained {name} load did not run")
        rate, p50, p99, refused = soak_results[name]
        say(f"- {name} during it: {rate:.0f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms, {refused} not 200.")

with open(out_md, "w") as f:
    f.write("\n".join(lines) + "\n")
