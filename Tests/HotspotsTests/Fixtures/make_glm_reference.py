"""Generates glm-reference.json: Poisson and negative-binomial GLM references from statsmodels.

Run from the repo root:  python3 Tests/HotspotsTests/Fixtures/make_glm_reference.py
1. Dobson (1990) Poisson: counts 18 17 15 20 10 20 25 13 12, outcome × treatment (the classic example,
   also in GLM.jl's tests): coefficients, standard errors, deviance.
2. A seeded overdispersed dataset (n = 400, 3 covariates + exposure offset): Poisson GLM with offset,
   and NB2 by maximum likelihood (sm.NegativeBinomial, alpha estimated); SEs for β at the ML alpha from
   GLM(family=NegativeBinomial(alpha)) (expected information, as ANPRKit computes them).
3. Ridge Poisson: statsmodels' fit_regularized(L1_wt=0) uses a different penalty scaling, so the
   reference is the penalised optimum computed by scipy.optimize on 0.5*deviance + 0.5*λ*|β[1:]|².
"""
import json, sys
import numpy as np
import scipy, scipy.optimize
import statsmodels, statsmodels.api as sm

out = {"provenance": {"generator": "Tests/HotspotsTests/Fixtures/make_glm_reference.py",
                      "statsmodels": statsmodels.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                      "python": sys.version.split()[0]}}
# 1. Dobson
counts = np.array([18, 17, 15, 20, 10, 20, 25, 13, 12], float)
outcome = np.array([1, 2, 3] * 3); treatment = np.repeat([1, 2, 3], 3)
X = np.column_stack([np.ones(9), outcome == 2, outcome == 3, treatment == 2, treatment == 3]).astype(float)
r = sm.GLM(counts, X, family=sm.families.Poisson()).fit(tol=1e-14)
out["dobson"] = {"X": X.tolist(), "y": counts.tolist(), "coefficients": r.params.tolist(), "standard_errors": r.bse.tolist(),
                 "deviance": r.deviance, "null_deviance": r.null_deviance, "llf": r.llf}
# 2. Overdispersed data
rng = np.random.default_rng(7)
n = 400
Z = rng.normal(size=(n, 3))
Xo = np.column_stack([np.ones(n), Z])
expo = rng.uniform(0.5, 3.0, size=n)
mu = expo * np.exp(0.3 + Z @ np.array([0.5, -0.3, 0.2]))
alpha_true = 0.6
y = rng.negative_binomial(1 / alpha_true, 1 / (1 + alpha_true * mu)).astype(float)
p = sm.GLM(y, Xo, family=sm.families.Poisson(), offset=np.log(expo)).fit(tol=1e-14)
nb = sm.NegativeBinomial(y, Xo, offset=np.log(expo), loglike_method="nb2").fit(disp=0, maxiter=500, method="bfgs", gtol=1e-12)
nb = sm.NegativeBinomial(y, Xo, offset=np.log(expo), loglike_method="nb2").fit(start_params=nb.params, disp=0, method="newton", maxiter=100, tol=1e-14)
alpha = float(nb.params[-1])
g = sm.GLM(y, Xo, family=sm.families.NegativeBinomial(alpha=alpha), offset=np.log(expo)).fit(tol=1e-14)
out["overdispersed"] = {"X": Xo.tolist(), "y": y.tolist(), "offset": np.log(expo).tolist(),
                        "poisson": {"coefficients": p.params.tolist(), "standard_errors": p.bse.tolist(), "deviance": p.deviance, "llf": p.llf},
                        "nb2": {"coefficients": nb.params[:-1].tolist(), "alpha": alpha, "llf": nb.llf,
                                "standard_errors_at_alpha": g.bse.tolist(), "glm_coefficients_at_alpha": g.params.tolist()}}
# 3. Ridge Poisson on the overdispersed data (no offset), lambda = 5
lam = 5.0
def obj(b):
    eta = Xo @ b; m = np.exp(eta)
    return np.sum(m - y * eta) + 0.5 * lam * np.sum(b[1:] ** 2)
def grad(b):
    m = np.exp(Xo @ b); g = Xo.T @ (m - y); g[1:] += lam * b[1:]; return g
res = scipy.optimize.minimize(obj, np.zeros(4), jac=grad, method="BFGS", options={"gtol": 1e-12, "maxiter": 10000})
out["ridge"] = {"lambda": lam, "coefficients": res.x.tolist()}
with open("Tests/HotspotsTests/Fixtures/glm-reference.json", "w") as f:
    json.dump(out, f, indent=1); f.write("\n")
print("ok", nb.params, g.params)
