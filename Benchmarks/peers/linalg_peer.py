"""Peer for ANPRBench's linalg suite: numpy `a @ b` and scipy `cho_solve(cho_factor(S), b)`.
Prints one JSON object per measurement, same fields as ANPRBench. Usage: python3 linalg_peer.py [repeats]"""
import json, sys, time
import numpy as np
import scipy.linalg as sla

def bench(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return float(np.median(ts))

def threads():
    try:
        from threadpoolctl import threadpool_info
        return [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"][0]
    except Exception:
        return None

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
rng = np.random.default_rng(1)
for n in (500, 1000, 2000):
    a = np.asfortranarray(rng.random((n, n)) - 0.5); b = np.asfortranarray(rng.random((n, n)) - 0.5)
    t = bench(lambda: a @ b, repeats)
    print(json.dumps({"suite": "linalg", "bench": "gemm", "n": n, "median_s": t, "gflops": 2 * n**3 / t / 1e9,
                      "threads": threads(), "impl": "numpy " + np.__version__}))
n = 1000
x = rng.random((n, n)) - 0.5
s = x.T @ x + n * np.eye(n)
rhs = rng.random(n) - 0.5
t = bench(lambda: sla.cho_solve(sla.cho_factor(s, lower=True), rhs), repeats)
print(json.dumps({"suite": "linalg", "bench": "cholesky_solve", "n": n, "median_s": t,
                  "gflops": (n**3 / 3 + 2 * n**2) / t / 1e9, "threads": threads(), "impl": "scipy " + __import__("scipy").__version__}))
