"""Peers for the linkage benchmark: top-10 cosine neighbours of 100 000 × 256 vectors with
scikit-learn NearestNeighbors(metric="cosine", algorithm="brute") and a blocked numpy matmul +
argpartition. Each in a fresh subprocess (peak memory is its own). Usage: linkage_peer.py DIR [n]"""
import json, subprocess, sys
d = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
PRE = f"""
import numpy as np, time, resource, json
X = np.fromfile({d!r} + "/vectors.f64").reshape({n}, 256)
"""
PEERS = {
 "scikit-learn NearestNeighbors brute": """
from sklearn.neighbors import NearestNeighbors
t0 = time.perf_counter()
nn = NearestNeighbors(n_neighbors=11, metric="cosine", algorithm="brute").fit(X)
dist, idx = nn.kneighbors(X)
t = time.perf_counter() - t0
ids = [[j for j in row if j != i][:10] for i, row in enumerate(idx[:100])]
""",
 "numpy blocked matmul + argpartition": """
t0 = time.perf_counter()
B = 2048; out = np.empty((X.shape[0], 10), dtype=np.int64)
for a in range(0, X.shape[0], B):
    S = X[a:a+B] @ X.T
    S[np.arange(S.shape[0]), np.arange(a, a + S.shape[0])] = -np.inf
    part = np.argpartition(-S, 10, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1)
    out[a:a+B] = np.take_along_axis(part, order, axis=1)
t = time.perf_counter() - t0
ids = out[:100].tolist()
""",
}
POST = """
ref = [list(map(int, l.split())) for l in open(DIR + "/neighbours-anprkit.txt").read().splitlines()]
agree = sum(len(set(a) & set(b)) for a, b in zip(ids, ref)) / (10 * len(ref))
print(json.dumps({"t": t, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "agree": agree}))
"""
for name, code in PEERS.items():
    p = subprocess.run([sys.executable, "-c", f"DIR={d!r}\n" + PRE + code + POST], capture_output=True, text=True)
    if p.returncode != 0:
        print(json.dumps({"suite": "linkage", "bench": "top10_cosine", "n": n, "median_s": float("nan"), "impl": name + " (failed)"})); continue
    r = json.loads(p.stdout.strip().splitlines()[-1])
    print(json.dumps({"suite": "linkage", "bench": "top10_cosine", "n": n, "median_s": r["t"], "per_s": n / r["t"], "peak_mb": r["peak_mb"],
                      "neighbour_agreement": r["agree"], "impl": name}))
