#!/usr/bin/env python3
"""Benchmark helper for benchmarks/bert/run.sh.

  bench.py workloads OUTDIR     make chunks.json and sentences.json from the PostgreSQL HTML docs
  bench.py reference FILE       time sentence-transformers (PyTorch CPU) on one workload, print JSON
  bench.py report FILES...      print a Markdown table from result JSON lines (ours/theirs ratios)
  bench.py chunk-texts DB OUT [N]  write the distinct chunk texts of an index as a workload (pipeline vs
                                model), or N of them spread evenly over the index (the precision gate)
  bench.py pipeline FILE        print the pipeline-against-model table from run.sh's pipeline lines
  bench.py gate FILE            print the precision-gate table from bert-bench --compare lines

Workloads: about 250 chunks of documentation text cut to at most 256 model tokens (including
[CLS]/[SEP]) and about 2,000 sentences of 10 to 20 words, all from /usr/share/doc/postgresql-doc-15/html,
taken in a fixed order so every run uses the same texts. Queries for single-query latency are 50 short
sentences not in the throughput set.
"""

import glob
import html.parser
import json
import os
import re
import resource
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.environ.get("EMBED_MODEL_DIR", os.path.join(REPO, "models", "all-MiniLM-L6-v2"))
DOCS = "/usr/share/doc/postgresql-doc-15/html"


class TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        elif tag in ("p", "div", "pre", "li", "h1", "h2", "h3", "tr", "dt", "dd"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def document_texts():
    for path in sorted(glob.glob(os.path.join(DOCS, "*.html"))):
        extractor = TextExtractor()
        with open(path, encoding="utf-8", errors="replace") as f:
            extractor.feed(f.read())
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(extractor.parts))
        yield os.path.basename(path), re.sub(r"\n\s*\n+", "\n\n", text).strip()


def make_workloads(outdir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    chunks, sentences, queries = [], [], []
    seen = set()
    # Chunks: up to 3 per page, each the longest run of consecutive words that fits in 254 word-piece
    # tokens (256 with [CLS]/[SEP]); runs shorter than 100 words (page ends) are skipped.
    for name, text in document_texts():
        words = text.split()
        start, taken = 0, 0
        while start < len(words) and taken < 3 and len(chunks) < 250:
            low, high = start + 1, min(len(words), start + 400)
            while low < high:
                mid = (low + high + 1) // 2
                if len(tokenizer(" ".join(words[start:mid]), add_special_tokens=False)["input_ids"]) <= 254:
                    low = mid
                else:
                    high = mid - 1
            if low - start >= 100:
                chunks.append(" ".join(words[start:low]))
                taken += 1
            start = low
        for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
            n = len(sentence.split())
            if 10 <= n <= 20 and sentence not in seen:
                seen.add(sentence)
                (queries if len(sentences) >= 2000 else sentences).append(sentence)
        if len(chunks) >= 250 and len(sentences) >= 2000 and len(queries) >= 50:
            break
    queries = queries[:50]
    os.makedirs(outdir, exist_ok=True)
    for name, texts in (("chunks", chunks), ("sentences", sentences)):
        with open(os.path.join(outdir, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"name": name, "texts": texts, "queries": queries}, f)
        lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
        print(f"{name}: {len(texts)} texts, {sum(lengths)} tokens, mean {sum(lengths) / len(lengths):.1f}, "
              f"max {max(lengths)}", file=sys.stderr)


def forward_flops(n, layers=6, h=384, i=1536):
    """As bert-bench counts them: the projections and attention's two n × n products, per layer."""
    return layers * (2 * n * (4 * h * h + 2 * h * i) + 4 * n * n * h)


def reference(path, threads, batch_size):
    import torch
    torch.set_num_threads(threads)
    from sentence_transformers import SentenceTransformer

    with open(path, encoding="utf-8") as f:
        workload = json.load(f)
    texts, queries = workload["texts"], workload["queries"]
    t0 = time.perf_counter()
    model = SentenceTransformer(MODEL, device="cpu")
    load_s = time.perf_counter() - t0
    lengths = [int(n) for n in model.tokenize(texts)["attention_mask"].sum(dim=1)]
    tokens = sum(lengths)
    model.encode(texts[:8], batch_size=batch_size)  # warm-up, not timed
    t0 = time.perf_counter()
    vectors = model.encode(texts, batch_size=batch_size)
    seconds = time.perf_counter() - t0
    assert len(vectors) == len(texts)
    latencies = []
    for query in queries:
        q0 = time.perf_counter()
        model.encode([query])
        latencies.append(time.perf_counter() - q0)
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    print(json.dumps({
        "implementation": "sentence-transformers",
        "workload": workload["name"],
        "config": f"torch {torch.__version__} threads={threads} batch={batch_size}",
        "threads": threads,
        "gflops": sum(forward_flops(n) for n in lengths) / seconds / 1e9,
        "texts": len(texts), "tokens": tokens, "seconds": seconds,
        "texts_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds,
        "query_ms_median": pick(0.5) * 1000, "query_ms_p90": pick(0.9) * 1000,
        "load_s": load_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, sort_keys=True))


def chunk_texts(database, out, sample=None):
    import sqlite3
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    # What the pipeline embedded: chunks with words (the rest are stored without a vector), each text once (the
    # others come from the embedding cache). The index was built with --chunk-context none, so the text is the input.
    # In the order of the files' paths and the chunks in them, not of ids, which follow the order concurrent
    # parsing finished in: the same texts every run.
    texts = [row[0] for row in connection.execute(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.token_count > 0 "
        "GROUP BY c.text ORDER BY min(printf('%s/%08d', d.path, c.ordinal))")]
    if sample:
        texts = [texts[i * len(texts) // sample] for i in range(min(sample, len(texts)))]
    with open(out, "w") as f:
        json.dump({"name": "pg-manual-chunks", "texts": texts, "queries": []}, f)


def pipeline(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.startswith("{")]
    print("| precision | ingest s | files | chunks embedded | pipeline chunks/s | model-only texts | model-only s "
          "| model-only chunks/s | pipeline / model-only | ingest peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pipeline_rate = r["embedded"] / r["ingest_seconds"]
        model_rate = r["model"]["texts_per_s"]
        print(f"| {r['precision']} | {r['ingest_seconds']:.1f} | {r['files']} | {r['embedded']} | {pipeline_rate:.1f} "
              f"| {r['model']['texts']} | {r['model']['seconds']:.1f} | {model_rate:.1f} "
              f"| {pipeline_rate / model_rate:.0%} | {r['ingest_peak_rss_mib']:.0f} |")


def gate(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.startswith("{")]
    print("| precision | texts | worst cosine vs fp32 | 1st percentile | median | below 0.9999 | below 0.995 | gate (worst ≥ 0.995) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        verdict = "passes" if r["worst"] >= 0.995 else "fails: not shipped"
        print(f"| {r['precision']} | {r['texts']} | {r['worst']:.6f} | {r['p1']:.6f} | {r['median']:.6f} "
              f"| {r['below_0_9999']} | {r['below_0_995']} | {verdict} |")


def report(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.startswith("{")]
    # Ours against sentence-transformers on the same workload at the same thread count.
    theirs = {(r["workload"], r["threads"]): r for r in rows if r["implementation"] == "sentence-transformers"}
    print("| workload | implementation | config | precision | threads | texts/s | tokens/s | vs s-t "
          "| GFLOP/s | GEMM GFLOP/s: OpenBLAS / oneDNN / oneDNN bf16 | of ceiling | query median (p90) ms "
          "| query vs s-t | peak RSS MiB |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        ref = theirs.get((r["workload"], r["threads"]))
        ratio = f"{r['texts_per_s'] / ref['texts_per_s']:.2f}x" if ref and r is not ref else ""
        query = f"{r['query_ms_median'] / ref['query_ms_median']:.2f}x" if ref and r is not ref else ""
        # The ceiling of a run is the fastest GEMM of its precision measured in its process (bench: the sgemm
        # shape of the feed-forward layer, same threads); "-" where the CPU has no such kernels.
        gemms = [r.get(k) for k in ("sgemm_gflops", "onednn_gflops", "onednn_bf16_gflops")]
        gemm = " / ".join(f"{g:.1f}" if g else "-" for g in gemms) if gemms[0] else ""
        ceiling = r.get("ceiling_gflops") or r.get("sgemm_gflops")
        share = f"{r['gflops'] / ceiling:.0%}" if ceiling else ""
        print(f"| {r['workload']} | {r['implementation']} | {r['config']} | {r.get('precision', 'fp32')} "
              f"| {r['threads']} | {r['texts_per_s']:.1f} | {r['tokens_per_s']:.0f} | {ratio} | {r['gflops']:.1f} "
              f"| {gemm} | {share} "
              f"| {r['query_ms_median']:.2f} ({r['query_ms_p90']:.2f}) | {query} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "workloads":
        make_workloads(sys.argv[2])
    elif command == "reference":
        reference(sys.argv[2], int(os.environ.get("BENCH_THREADS", os.cpu_count())), 32)
    elif command == "report":
        report(sys.argv[2:])
    elif command == "chunk-texts":
        chunk_texts(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
    elif command == "gate":
        gate(sys.argv[2])
    elif command == "pipeline":
        pipeline(sys.argv[2])
    else:
        sys.exit(__doc__)
