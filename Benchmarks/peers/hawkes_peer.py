"""Peer for the self-exciting fit (issue 17): tick's Hawkes learner on the same events.

tick (PyPI `tick`, X-DataInitiative) fits temporal Hawkes processes; ANPRKit's self-exciting model is
space-time, so the comparison is on what both estimate: the branching ratio θ (events each event
triggers), the mean delay of triggered events and the background rate. tick's exponential-kernel
learner takes the decay as given, so it is fitted over a grid of decays and the best likelihood kept
(tick's usual practice). Times are the events' own timestamps (seconds), in days.

Usage: python3 Benchmarks/peers/hawkes_peer.py events.csv [--until ISO]
(pip install -r Benchmarks/peers/requirements-hawkes.txt: tick 0.8 with numpy 2, and numpydoc and six, which
tick imports without declaring them; kept out of the test set-up)
Prints the parameters and the wall time of the fit (the grid included; reading the file excluded).
"""
import csv, sys, time, datetime as dt
import numpy as np
from tick.hawkes import HawkesExpKern

path = sys.argv[1]
until = None
if "--until" in sys.argv:
    until = dt.datetime.fromisoformat(sys.argv[sys.argv.index("--until") + 1].replace("Z", "+00:00"))
stamps = []
with open(path) as f:
    for row in csv.DictReader(f):
        t = dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
        if until is None or t < until:
            stamps.append(t.timestamp())
t0 = min(stamps)
days = np.array(sorted((s - t0) / 86400 for s in stamps))
# Events at the same second would make a zero gap; tick needs strictly increasing times.
days = days + np.arange(len(days)) * 1e-9
end = float(days[-1])

start = time.perf_counter()
best = None
for decay in np.geomspace(0.05, 20, 40):  # per day: mean delays from 72 min to 20 days
    learner = HawkesExpKern(decays=float(decay), gofit="likelihood", solver="bfgs", verbose=False, max_iter=1000, tol=1e-8)
    learner.fit([days])  # the realisation ends at its last event
    score = learner.score()
    if best is None or score > best[0]:
        best = (score, float(decay), float(learner.baseline[0]), float(learner.adjacency[0, 0]))
elapsed = time.perf_counter() - start
score, decay, baseline, adjacency = best
print(f"tick {__import__('tick').__version__}: {len(days)} events over {end:.1f} days")
print(f"fit (40 decays, best by likelihood): {elapsed:.2f} s")
print(f"branching ratio theta {adjacency:.3f}; mean delay {24 / decay:.1f} h; background {baseline:.3f} events a day; "
      f"log-likelihood per event {score:.4f}")
