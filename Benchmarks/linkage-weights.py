#!/usr/bin/env python3
"""Fits the linkage block weights (issue 7) the way the defaults in Signatures.Weights were fitted.

For each seed: the default town is simulated for 28 days and ingested (cached under
$BENCH_DATA/linkage-accuracy, shared with linkage-accuracy.sh), and `anpr link --truth` writes every
candidate's weighted, centred feature row (ANPR_LINK_DUMP). For every pair of candidates whose car use
does not overlap, the per-block cosines are the features and "same actor" the label; a logistic
regression on the fit seeds gives one coefficient per block (the weights, up to scale), and its AUC on
the test seeds says how well the pair score separates same-actor pairs. Blocks with weight 0 in the
current defaults are zero in the dump and are not refitted.

Usage: Benchmarks/linkage-weights.py --fit 3 5 7 ... [--test 83 89 ...]
Needs numpy and scikit-learn (a developer tool: the product does not run Python).
"""
import argparse, csv, itertools, os, subprocess, sys
import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/anpr")
DATA = os.path.join(os.environ.get("BENCH_DATA", "/tmp/anprkit-bench"), "linkage-accuracy")
# Signatures.Layout: entry, exit, stops (site buckets each), weekday 7, hour 24, stop pairs 64,
# stop area 64, dwell 5, bigrams 64, durations 5, rental 1.
BLOCKS = [("entry", None), ("exit", None), ("stops", None), ("weekday", 7), ("hour", 24), ("stopPairs", 64),
          ("stopArea", 64), ("dwell", 5), ("bigrams", 64), ("durations", 5)]

def candidates(seed):
    d = os.path.join(DATA, f"seed-{seed}")
    if not os.path.exists(os.path.join(d, "store.anpr")):
        subprocess.run([BIN, "simulate", "--seed", str(seed), "--days", "28", "--scale", "1", "--out", d], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([BIN, "ingest", d + "/reads.csv", "--cameras", d + "/cameras.csv", "--vehicles", d + "/vehicles.csv",
                        "--store", d + "/store.anpr", "--keep-raw-plates"], check=True, stdout=subprocess.DEVNULL)
    dump = os.path.join(d, "features.csv")
    subprocess.run([BIN, "link", "--store", d + "/store.anpr", "--out", d + "/groups.csv", "--truth", d],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, ANPR_LINK_DUMP=dump))
    rows = list(csv.DictReader(open(dump)))
    x = np.array([[float(r[f"f{k}"]) for k in range(len(rows[0]) - 5)] for r in rows])
    return rows, x

def pairs(seeds):
    feats, labels = [], []
    for s in seeds:
        rows, x = candidates(s)
        sb = (x.shape[1] - 234) // 3
        start, cos = 0, []
        for name, width in BLOCKS:
            w = width or sb
            b = x[:, start:start + w]; start += w
            n = np.linalg.norm(b, axis=1); n[n == 0] = 1
            u = b / n[:, None]
            cos.append(u @ u.T)
        first = [int(r["first"]) for r in rows]; last = [int(r["last"]) for r in rows]
        for i, j in itertools.combinations(range(len(rows)), 2):
            if min(last[i], last[j]) - max(first[i], first[j]) > 12 * 3600:
                continue  # in use at the same time: never linked
            feats.append([c[i, j] for c in cos])
            labels.append(int(rows[i]["actor"] != "" and rows[i]["actor"] == rows[j]["actor"]))
    return np.array(feats), np.array(labels)

def auc(score, y):
    pos, neg = score[y == 1], score[y == 0]
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", type=int, nargs="+", required=True)
    ap.add_argument("--test", type=int, nargs="*", default=[])
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "anpr"], cwd=ROOT, check=True, stdout=sys.stderr)
    X, y = pairs(a.fit)
    m = LogisticRegression(C=10, max_iter=5000).fit(X, y)
    print(f"fit: {len(y)} non-overlapping candidate pairs, {int(y.sum())} same-actor")
    for (name, _), c in zip(BLOCKS, m.coef_[0]):
        print(f"  {name:10s} {c:7.2f}")
    print(f"  intercept {m.intercept_[0]:.2f}; fit AUC {auc(m.decision_function(X), y):.4f}")
    if a.test:
        Xt, yt = pairs(a.test)
        print(f"test: {len(yt)} pairs, {int(yt.sum())} same-actor; AUC of the fitted score {auc(m.decision_function(Xt), yt):.4f}")
