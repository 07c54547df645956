"""Peers for the Poisson GLM benchmark: statsmodels GLM, scikit-learn PoissonRegressor(newton-cholesky),
glum on the dense design, and glum with the two factors as pandas categoricals. Reads the CSV ANPRBench
wrote and reports each fit's time, peak memory (fresh subprocess per peer) and max |Δη| against ANPRKit's
linear predictor. Usage: glm_peer.py DIR [peers...]"""
import json, subprocess, sys

PEERS = {
"statsmodels": """
import statsmodels.api as sm
X = dense_design(df); t0=time.perf_counter()
r = sm.GLM(df.y.values, X, family=sm.families.Poisson()).fit(tol=1e-8)
t=time.perf_counter()-t0; eta = X @ r.params; iters = int(r.fit_history['iteration'])
""",
"sklearn newton-cholesky": """
from sklearn.linear_model import PoissonRegressor
X = dense_design(df)[:, 1:]; t0=time.perf_counter()
m = PoissonRegressor(alpha=0, solver="newton-cholesky", tol=1e-8, max_iter=100).fit(X, df.y.values)
t=time.perf_counter()-t0; eta = X @ m.coef_ + m.intercept_; iters = int(m.n_iter_)
""",
"glum dense": """
from glum import GeneralizedLinearRegressor
X = dense_design(df)[:, 1:]; t0=time.perf_counter()
m = GeneralizedLinearRegressor(family="poisson", alpha=0, gradient_tol=1e-8).fit(X, df.y.values)
t=time.perf_counter()-t0; eta = X @ m.coef_ + m.intercept_; iters = int(m.n_iter_)
""",
"glum categorical": """
from glum import GeneralizedLinearRegressor
Xc = pd.DataFrame({"unit": pd.Categorical(df.unit), "how": pd.Categorical(df.how), "c1": df.c1, "c2": df.c2, "c3": df.c3, "c4": df.c4})
t0=time.perf_counter()
m = GeneralizedLinearRegressor(family="poisson", alpha=0, gradient_tol=1e-8, drop_first=True).fit(Xc, df.y.values)
t=time.perf_counter()-t0; eta = m.linear_predictor(Xc); iters = int(m.n_iter_)
""",
}
PRELUDE = """
import json, resource, time, numpy as np, pandas as pd
df = pd.read_csv(DIR + "/glm.csv")
def dense_design(df):
    n = len(df); U = np.zeros((n, 199)); H = np.zeros((n, 167))
    m = df.unit.values > 0; U[np.nonzero(m)[0], df.unit.values[m] - 1] = 1
    m = df.how.values > 0; H[np.nonzero(m)[0], df.how.values[m] - 1] = 1
    return np.column_stack([np.ones(n), U, H, df[["c1", "c2", "c3", "c4"]].values])
"""
POST = """
ref = np.loadtxt(DIR + "/glm-eta-anprkit.txt")
print(json.dumps({"t": t, "iters": iters, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "max_abs_eta_diff": float(np.max(np.abs(np.asarray(eta) - ref)))}))
"""
d = sys.argv[1]
chosen = sys.argv[2:] or list(PEERS)
for name in chosen:
    prog = "DIR=%r\n" % d + PRELUDE + PEERS[name] + POST
    p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True)
    if p.returncode != 0:
        print(json.dumps({"suite": "glm", "bench": "poisson_glm", "n": 268800, "median_s": float("nan"), "impl": name + " (failed: " + p.stderr.strip().splitlines()[-1][:80] + ")"}))
        continue
    r = json.loads(p.stdout.strip().splitlines()[-1])
    print(json.dumps({"suite": "glm", "bench": "poisson_glm", "n": 268800, "median_s": r["t"], "per_s": 1 / r["t"], "iterations": r["iters"],
                      "peak_mb": r["peak_mb"], "max_abs_eta_diff": r["max_abs_eta_diff"], "impl": name}))
