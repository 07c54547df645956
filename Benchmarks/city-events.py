# Synthetic city-scale point events in the shape of NYC motor-vehicle thefts 2014-17 (issue 17):
# about 36 000 events over 1 460 days in a 47.5 km square (95 x 95 cells of 500 m, ~9 000 cells), a
# background around 40 hotspots plus uniform, and self-exciting offspring (theta 0.3, mean delay 3 days,
# offset sigma 150 m). Written as ANPRKit events.csv (event_id,timestamp,latitude,longitude,category),
# metres turned into degrees around 40.6 N, 74.1 W by a local equirectangular projection.
# Usage: python3 Benchmarks/city-events.py OUT.csv [SEED]   (numpy)
import sys, math, datetime as dt
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 14)
W = 47500.0
DAYS = 1460
START = dt.datetime(2014, 1, 1)
MU = 17.5                 # background events a day over the city
HOT = rng.uniform(2000, W - 2000, (40, 2))
HOT_SIGMA = 600.0
P_HOT = 0.5
THETA, DELAY_DAYS, TRIG_SIGMA = 0.3, 3.0, 150.0
nb = rng.poisson(MU * DAYS)
t = rng.uniform(0, DAYS, nb)
xy = rng.uniform(0, W, (nb, 2))
hot = rng.uniform(size=nb) < P_HOT
k = rng.integers(0, len(HOT), nb)
xy[hot] = HOT[k[hot]] + rng.normal(0, HOT_SIGMA, (hot.sum(), 2))
ts, xys = [t], [xy]
gt, gxy = t, xy
while len(gt):
    n = rng.poisson(THETA, len(gt))
    ct = np.repeat(gt, n) + rng.exponential(DELAY_DAYS, n.sum())
    cxy = np.repeat(gxy, n, axis=0) + rng.normal(0, TRIG_SIGMA, (n.sum(), 2))
    keep = ct < DAYS
    gt, gxy = ct[keep], cxy[keep]
    ts.append(gt); xys.append(gxy)
t = np.concatenate(ts); xy = np.concatenate(xys)
inside = (xy[:, 0] >= 0) & (xy[:, 0] < W) & (xy[:, 1] >= 0) & (xy[:, 1] < W)
t, xy = t[inside], xy[inside]
o = np.argsort(t, kind="stable"); t, xy = t[o], xy[o]
lat0, lon0 = 40.6, -74.1
m_lat = 111_200.0
m_lon = m_lat * math.cos(math.radians(lat0))
with open(out, "w") as f:
    f.write("event_id,timestamp,latitude,longitude,category\n")
    for i, (ti, (x, y)) in enumerate(zip(t, xy)):
        stamp = (START + dt.timedelta(seconds=round(ti * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"E{i},{stamp},{lat0 + y / m_lat:.6f},{lon0 + x / m_lon:.6f},theft\n")
print(out, len(t), "events;", nb, "background")
