#!/usr/bin/env python3
"""Why embed keeps no 1-bit codes (docs/decisions.md, D67): recall@10 of a sign-code scan followed by an exact
rescore of its best candidates, on scale.py's vectors, against the exact answer.

Usage: benchmarks/search/binary_recall.py [N]   (default 1000000; run benchmarks/search/scale.sh N first)

Each row becomes sign(x) · mean|x| per dimension (the best 1-bit code for these vectors); each query is scored
against the codes in float (asymmetric, the most accurate way to use sign codes); the best 10 × oversample are
re-scored exactly and the top 10 kept. Also prints the bound a sign code allows: ‖q‖ · the largest residual norm.
"""
import os, sys
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K = 10


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    out = os.path.join(ROOT, "benchmarks", "work", "scale", str(n))
    vectors = np.load(os.path.join(out, "vectors.npy"), mmap_mode="r")[:n]
    queries = np.load(os.path.join(out, "queries.npy"))
    block = 250_000
    magnitude = np.zeros(vectors.shape[1], dtype=np.float64)
    for lo in range(0, n, block):
        magnitude += np.abs(vectors[lo:lo + block]).sum(axis=0)
    magnitude = (magnitude / n).astype(np.float32)
    exact = np.zeros((len(queries), n), dtype=np.float32)
    approx = np.zeros((len(queries), n), dtype=np.float32)
    largest_residual = 0.0
    for lo in range(0, n, block):
        x = np.asarray(vectors[lo:lo + block])
        codes = np.where(x >= 0, magnitude, -magnitude).astype(np.float32)
        exact[:, lo:lo + len(x)] = queries @ x.T
        approx[:, lo:lo + len(x)] = queries @ codes.T
        largest_residual = max(largest_residual, float(np.linalg.norm(x - codes, axis=1).max()))
    truth = np.argsort(-exact, axis=1)[:, :K]
    spread = float(np.std(exact))
    print(f"{n} vectors: scores' standard deviation {spread:.4f}; the sign codes' bound on |q·x − q·code| is "
          f"‖q‖·max‖x − code‖ = {largest_residual:.3f}")
    for oversample in [1, 10, 100, 1000]:
        m = K * oversample
        candidates = np.argpartition(-approx, m, axis=1)[:, :m]
        rescored = np.take_along_axis(exact, candidates, axis=1)
        top = np.take_along_axis(candidates, np.argsort(-rescored, axis=1)[:, :K], axis=1)
        recall = np.mean([len(set(t) & set(r)) / K for t, r in zip(top, truth)])
        perfect = np.mean([set(t) == set(r) for t, r in zip(top, truth)])
        print(f"oversample {oversample:5d} ({m} candidates): recall@10 {recall:.4f}, queries with the exact top 10 {perfect:.2f}")


if __name__ == "__main__":
    main()
