"""Generates linalg-reference.json: independent references for Linalg from numpy/scipy.

Run from the repo root:  python3 Tests/LinalgTests/Fixtures/make_linalg_reference.py
Inputs are small integer-valued matrices (exact in binary), so the references depend on the
algorithms only through rounding; tolerances in the Swift tests say why they are what they are.
"""
import json, sys
import numpy as np
import scipy
import scipy.linalg as sla

rng = np.random.default_rng(20261125)
A = rng.integers(-5, 6, size=(6, 4)).astype(float)       # tall, full column rank (checked)
assert np.linalg.matrix_rank(A) == 4
b = rng.integers(-9, 10, size=6).astype(float)
S = A.T @ A + np.eye(4)                                   # SPD
G = rng.integers(-5, 6, size=(4, 4)).astype(float)         # general square
assert abs(np.linalg.det(G)) > 1
g = rng.integers(-9, 10, size=4).astype(float)
x_ls, *_ = np.linalg.lstsq(A, b, rcond=None)
w, V = np.linalg.eigh(S)
out = {
    "provenance": {
        "generator": "Tests/LinalgTests/Fixtures/make_linalg_reference.py",
        "numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0],
        "seed": 20261125,
    },
    "A": A.tolist(), "b": b.tolist(),
    "AtA": (A.T @ A).tolist(),
    "lstsq_x": x_ls.tolist(),
    "S": S.tolist(),
    "cholesky_L": np.linalg.cholesky(S).tolist(),
    "S_inverse": np.linalg.inv(S).tolist(),
    "S_eigenvalues": w.tolist(),
    "S_logdet": float(np.linalg.slogdet(S)[1]),
    "G": G.tolist(), "g": g.tolist(),
    "G_solve": np.linalg.solve(G, g).tolist(),
    "cho_solve_S_b": sla.cho_solve(sla.cho_factor(S, lower=True), A.T @ b).tolist(),
}
with open("Tests/LinalgTests/Fixtures/linalg-reference.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
