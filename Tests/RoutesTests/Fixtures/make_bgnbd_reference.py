"""Generates bgnbd-reference.json: BG/NBD ("buy till you die") references from the `lifetimes` package.

Run from the repo root:  python3 Tests/RoutesTests/Fixtures/make_bgnbd_reference.py
(needs `pip install lifetimes==0.11.3`; it pulls autograd, pandas and scipy).

1. CDNOW (lifetimes.datasets.load_cdnow_summary, 2 357 customers, weeks): the data set of Fader, Hardie
   & Lee (2005), "Counting your customers the easy way", whose published fit is r 0.243, alpha 4.414,
   a 0.793, b 2.426; lifetimes' BetaGeoFitter on it, its mean log-likelihood, and its conditional
   P(alive) for the first 20 customers.
2. A seeded draw from the model itself (r 0.6, alpha 3, a 0.5, b 4; 3 000 subjects observed for
   20-90 days, whole days as in ANPRKit's use): the same quantities.
"""
import json, sys
import numpy as np
import scipy
import lifetimes
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_cdnow_summary

def reference(x, tx, T):
    f = BetaGeoFitter(penalizer_coef=0.0)
    f.fit(x, tx, T, tol=1e-8)
    p = f.params_
    rows = list(range(20))
    alive = f.conditional_probability_alive(x[rows], tx[rows], T[rows])
    # lifetimes' objective is the mean negative log-likelihood over subjects.
    ll = -f._negative_log_likelihood(np.log([p["r"], p["alpha"], p["a"], p["b"]]), x, tx, T, np.ones(len(x)), 0.0)
    return {"x": [int(v) for v in x], "t_x": [float(v) for v in tx], "T": [float(v) for v in T],
            "r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"], "mean_log_likelihood": float(ll),
            "alive_first20": [float(v) for v in np.asarray(alive)]}

out = {"provenance": {"generator": "Tests/RoutesTests/Fixtures/make_bgnbd_reference.py", "lifetimes": lifetimes.__version__,
                      "numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0]}}
cd = load_cdnow_summary()
out["cdnow"] = reference(cd["frequency"].to_numpy(float), cd["recency"].to_numpy(float), cd["T"].to_numpy(float))

rng = np.random.default_rng(20261207)
n = 3000
lam = rng.gamma(0.6, 1 / 3.0, n)          # visit rate per day, Gamma(r, alpha)
p = rng.beta(0.5, 4.0, n)                  # dropout chance after each repeat visit, Beta(a, b)
T = rng.integers(20, 91, n).astype(float)  # days from the first visit to the end of the data
x = np.zeros(n); tx = np.zeros(n)
for i in range(n):
    t = 0.0
    while True:
        t += rng.exponential(1 / lam[i]) if lam[i] > 0 else np.inf
        if t > T[i]:
            break
        x[i] += 1; tx[i] = t
        if rng.random() < p[i]:
            break
# Whole days, as ANPRKit counts visit days.
tx = np.floor(tx)
out["drawn"] = reference(x, tx, T)
out["drawn"]["truth"] = {"r": 0.6, "alpha": 3.0, "a": 0.5, "b": 4.0}
with open("Tests/RoutesTests/Fixtures/bgnbd-reference.json", "w") as fh:
    json.dump(out, fh)
for k in ("cdnow", "drawn"):
    print(k, {q: round(out[k][q], 5) for q in ("r", "alpha", "a", "b", "mean_log_likelihood")})
