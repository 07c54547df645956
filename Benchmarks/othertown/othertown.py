#!/usr/bin/env python3
"""othertown -- an independent synthetic ANPR town generator.

Draws a town road network with camera sites, resident traffic, a shared
hire-car fleet, "county lines"-style actor groups that hop between hire cars,
decoys that look like them, and the data faults of real exports.  Every
setting of the world is drawn from --seed; see README.md beside this file.
"""
import argparse, datetime as dt, heapq, json, math, os, random, sys, time  # noqa: E401
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/London")
RADIAL_ROADS = ["A127", "A13", "A130", "A12", "A1245", "A129", "A132", "A414"]
RING_ROAD = "A1159"
OUTSIDE_NAMES = ["London", "M25", "Coast", "Chelmsford", "Airport", "Colchester"]
PLACE_NAMES = ["Weir", "Cross", "Green", "Bridge", "Park", "Common", "Heath", "Hill", "Mill",
               "Wick", "Marsh", "Gate", "Lane End", "Fair", "Church", "Brook", "Oak", "Elms",
               "Priory", "Pier", "Field", "Dale", "Grove", "Moor", "Chase", "Ridge", "Ferry",
               "Kiln", "Forge", "Manor", "Abbey", "Well", "Pond", "Warren", "Leigh", "Hall"]
LOCAL_KINDS = [("residential", 52), ("retail", 8), ("industrial", 7), ("school", 6),
               ("attraction", 4), ("hotel", 4), ("office", 8), ("station", 2), ("leisure", 5)]
MIN_KINDS = {"retail": 3, "industrial": 2, "school": 3, "attraction": 2, "hotel": 2,
             "leisure": 2, "office": 2, "station": 1}
SPEED = {"entry": 80, "radial_out": 62, "radial_in": 42, "ring": 56, "local": 33, "centre": 22}
SITE_WEIGHT = {"radial_in": 3.0, "radial_out": 2.5, "ring": 3.0, "centre": 2.0, "local": 1.0}
CONFUSE = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S"}
LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"
AREAS = "EEEEEABCDFGHKLMNOPRSVWY"
PRIVATE_AGES = [f"{y:02d}" for y in range(3, 26)] + [f"{y:02d}" for y in range(53, 76)]
RENTAL_AGES = ["24", "74", "25", "75", "26"]
MAKES = ["Ford Fiesta", "Vauxhall Corsa", "VW Golf", "Ford Focus", "Nissan Qashqai", "Toyota Yaris",
         "BMW 3 Series", "Audi A3", "Kia Sportage", "Mercedes A-Class", "Peugeot 208", "Honda Civic",
         "Hyundai Tucson", "Skoda Octavia", "Mini Cooper", "Renault Clio", "Tesla Model 3"]
RENTAL_MAKES = ["Vauxhall Corsa", "Ford Focus", "VW Polo", "Toyota Yaris", "Kia Ceed",
                "Nissan Qashqai", "Peugeot 208", "Skoda Octavia"]
VAN_MAKES = ["Ford Transit", "Mercedes Sprinter", "VW Transporter", "Vauxhall Vivaro", "Peugeot Partner"]
COLOURS = ["white", "black", "grey", "silver", "blue", "red", "green", "orange", "brown"]
SITE_LABELS = {"retail": ["retail park"] * 2, "industrial": ["industrial estate"] * 2, "station": ["station"] * 2,
               "residential": ["estate", "estate", "shops", "car park"], "office": ["car park", "offices"],
               "school": ["school"], "hotel": ["hotel"], "attraction": ["leisure park"], "leisure": ["leisure centre"],
               "centre": ["town centre", "car park"]}
DAYNAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
H = 3600.0


def wsample(rng, items, weights, k):
    """k distinct items drawn with weights, without replacement (deterministic)."""
    keys = sorted((-(rng.random() ** (1.0 / w)), i) for i, w in enumerate(weights))
    return [items[i] for _, i in keys[:k]]


def compass(b):
    """Direction word for a bearing in degrees."""
    return ["northbound", "eastbound", "southbound", "westbound"][int(((b + 45) % 360) // 90)]


class Town:
    """Road graph in km (centre at 0,0) with camera sites spliced in as nodes."""

    def __init__(self, rng, st):
        self.rng = rng
        self.x, self.y, self.kind = [], [], []
        self.edges = {}            # (u, v) with u < v -> [km, road, cls]; insertion ordered
        self.sites, self.cams, self.outside = [], [], []
        self.site_of = {}          # site node -> site dict
        self._build_roads(st)
        self._place_sites(st)
        self._place_cameras(st)
        self._pools()

    def node(self, x, y, kind):
        """Add a node and return its id."""
        self.x.append(x)
        self.y.append(y)
        self.kind.append(kind)
        return len(self.x) - 1

    def edge(self, u, v, road, cls, bend):
        """Add an undirected road segment; length is the crow-fly distance times a bend factor."""
        km = math.hypot(self.x[u] - self.x[v], self.y[u] - self.y[v]) * bend
        self.edges[(min(u, v), max(u, v))] = [km, road, cls]

    def _build_roads(self, st):
        """Radial main roads (some entering from outside), a ring road and local roads."""
        rng, R, n = self.rng, st["radiusKm"], st["radials"]
        centre = self.node(0.0, 0.0, "centre")
        ring_r = R * st["ringFrac"]
        angles = [2 * math.pi * (i + rng.uniform(-0.25, 0.25)) / n for i in range(n)]
        entry_idx = sorted(rng.sample(range(n), st["entries"]))
        names = rng.sample(OUTSIDE_NAMES, st["entries"])
        ring = []
        for i, a in enumerate(angles):
            radii, r = [], rng.uniform(0.9, 1.4)
            while r < R:
                radii.append(r)
                r += rng.uniform(1.6, 2.6)
            radii = sorted([q for q in radii if abs(q - ring_r) > 0.7] + [ring_r])
            prev = centre
            for r in radii:
                kind = "office" if r < 1.6 else rng.choice(["residential"] * 5 + ["industrial", "retail"])
                v = self.node(r * math.cos(a), r * math.sin(a), kind)
                cls = "centre" if r < 1.6 else ("radial_in" if r <= ring_r else "radial_out")
                self.edge(prev, v, RADIAL_ROADS[i], cls, 1.05)
                if r == ring_r:
                    ring.append(v)
                prev = v
            if i in entry_idx:
                o = self.node((R + 6) * math.cos(a), (R + 6) * math.sin(a), "outside")
                self.edge(prev, o, RADIAL_ROADS[i], "entry", 1.05)
                self.outside.append({"node": o, "name": names[len(self.outside)],
                                     "road": RADIAL_ROADS[i], "edge": (prev, o)})
        for j in range(n):
            a0, a1 = angles[j], angles[(j + 1) % n] + (2 * math.pi if j == n - 1 else 0)
            m, prev = int(ring_r * (a1 - a0) // 2.5), ring[j]
            for k in range(1, m + 1):
                aa = a0 + (a1 - a0) * k / (m + 1)
                w = self.node(ring_r * math.cos(aa), ring_r * math.sin(aa),
                              rng.choice(["residential", "industrial", "retail", "residential"]))
                self.edge(prev, w, RING_ROAD, "ring", 1.05)
                prev = w
            self.edge(prev, ring[(j + 1) % n], RING_ROAD, "ring", 1.05)
        town = [i for i in range(len(self.x)) if self.kind[i] != "outside"]
        kinds, weights = [k for k, _ in LOCAL_KINDS], [w for _, w in LOCAL_KINDS]
        self.local = []
        for _ in range(st["localNodes"]):
            for _try in range(40):
                r, a = R * 0.95 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
                px, py = r * math.cos(a), r * math.sin(a)
                near = sorted((math.hypot(px - self.x[j], py - self.y[j]), j) for j in town)
                if near[0][0] > 0.8:
                    break
            else:
                continue
            v = self.node(px, py, rng.choices(kinds, weights)[0])
            road = f"B{rng.randint(1002, 1099)}" if rng.random() < 0.6 else "Unclassified"
            for k, (_, j) in enumerate(near[:3]):
                if k < 2 or rng.random() < 0.3:
                    self.edge(v, j, road, "local", 1.25)
            town.append(v)
            self.local.append(v)
        for kind, need in MIN_KINDS.items():
            while sum(self.kind[v] == kind for v in self.local) < need:
                res = [v for v in self.local if self.kind[v] == "residential"]
                self.kind[rng.choice(res)] = kind

    def split(self, u, v, f, entry):
        """Splice a camera site node into segment u-v at fraction f from u."""
        km, road, cls = self.edges.pop((min(u, v), max(u, v)))
        s = self.node(self.x[u] + f * (self.x[v] - self.x[u]), self.y[u] + f * (self.y[v] - self.y[u]), "site")
        self.edges[(min(u, s), max(u, s))] = [km * f, road, cls]
        self.edges[(min(s, v), max(s, v))] = [km * (1 - f), road, cls]
        opts = [o for k in (self.kind[u], self.kind[v]) for o in SITE_LABELS.get(k, [])]
        label = "town boundary" if entry else self.rng.choice(opts + ["junction", "roundabout", "petrol station"])
        site = {"node": s, "ends": (u, v), "road": road, "label": label, "entry": entry,
                "place": self.rng.choice(PLACE_NAMES)}
        self.sites.append(site)
        self.site_of[s] = site
        return site

    def _place_sites(self, st):
        """Entry sites on every entry road, then the rest weighted towards main roads."""
        rng = self.rng
        for o in self.outside:
            o["site"] = self.split(o["edge"][0], o["edge"][1], 0.3, o["name"])
        cand = [e for e, val in self.edges.items() if val[2] != "entry"]
        picks = wsample(rng, cand, [SITE_WEIGHT[self.edges[e][2]] for e in cand],
                        st["sites"] - len(self.outside))
        for u, v in picks:
            self.split(u, v, rng.uniform(0.3, 0.7), None)
        order = list(range(len(self.sites)))
        rng.shuffle(order)                       # ids do not give entry sites away
        self.sites = [self.sites[i] for i in order]
        for i, s in enumerate(self.sites):
            s["id"] = f"S{i + 1:02d}"

    def bearing(self, u, v):
        """Compass bearing of travel from node u to node v."""
        return int(round(math.degrees(math.atan2(self.x[v] - self.x[u], self.y[v] - self.y[u])))) % 360

    def _place_cameras(self, st):
        """One camera per direction (always at entry sites) or one for both directions."""
        rng = self.rng
        lat0, lon0 = st["lat0"], st["lon0"]
        for s in self.sites:
            u, v = s["ends"]
            lat = lat0 + self.y[s["node"]] / 111.2
            lon = lon0 + self.x[s["node"]] / (111.2 * math.cos(math.radians(lat0)))
            dirs = [v, u] if s["entry"] or rng.random() < 0.55 else [None]
            s["camfor"] = {}
            for toward in dirs:
                frm = u if toward == v else v
                b = self.bearing(frm, toward) if toward is not None else self.bearing(u, v)
                if s["entry"]:
                    way = "outbound to" if self.kind[toward] == "outside" else "inbound from"
                    desc = f"{s['road']} town boundary {way} {s['entry']}"
                elif toward is None:
                    desc = f"{s['road']} {s['place']} {s['label']} both directions"
                else:
                    desc = f"{s['road']} {s['place']} {s['label']} {compass(b)}"
                cam = {"id": f"C{len(self.cams) + 1:03d}", "site": s["id"], "lat": lat, "lon": lon,
                       "bearing": "" if toward is None and rng.random() < 0.3 else str(b),
                       "road": s["road"], "desc": desc, "p": rng.uniform(0.85, 0.97)}
                self.cams.append(cam)
                for end in ([u, v] if toward is None else [toward]):
                    s["camfor"][end] = len(self.cams) - 1

    def _pools(self):
        """Destination pools by purpose (plain node lists, deterministic order)."""
        k = self.kind
        nodes = range(len(self.x))
        self.pool = {kind: [v for v in nodes if k[v] == kind] for kind, _ in LOCAL_KINDS}
        self.pool["centre"] = [v for v in nodes if k[v] in ("centre", "office") and
                               math.hypot(self.x[v], self.y[v]) < 2.0]
        shop_sites = [s["node"] for s in self.sites if s["label"] in ("retail park", "shops", "petrol station")]
        self.pool["shop"] = self.pool["retail"] + shop_sites + self.pool["centre"]
        self.pool["fun"] = self.pool["attraction"] + self.pool["leisure"] + self.pool["centre"]
        self.pool["work"] = (self.pool["office"] * 3 + self.pool["industrial"] * 3 + self.pool["retail"]
                             + self.pool["station"] + self.pool["school"] + self.pool["centre"])
        self.pool["errand"] = self.pool["residential"] + self.pool["retail"] + self.pool["office"] + shop_sites


class Router:
    """Free-flow shortest paths; a route is the camera reads met along the path."""

    def __init__(self, town):
        self.town = town
        self.adj = [[] for _ in town.x]
        for (u, v), (km, _road, cls) in town.edges.items():
            secs = km / SPEED[cls] * H
            self.adj[u].append((v, secs))
            self.adj[v].append((u, secs))
        self.trees, self.cache = {}, {}

    def _tree(self, o):
        """Dijkstra from o: (dist, pred) lists."""
        dist, pred = [math.inf] * len(self.adj), [-1] * len(self.adj)
        dist[o], heap = 0.0, [(0.0, o)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            for v, w in self.adj[u]:
                if d + w < dist[v]:
                    dist[v], pred[v] = d + w, u
                    heapq.heappush(heap, (d + w, v))
        return dist, pred

    def route(self, o, d):
        """(reads, total_s, first_toward, last_toward) for o->d; reads = ((cam, offset_s), ...)."""
        key = (o, d)
        r = self.cache.get(key)
        if r is not None:
            return r
        if o not in self.trees:
            self.trees[o] = self._tree(o)
        dist, pred = self.trees[o]
        path = [d]
        while path[-1] != o:
            path.append(pred[path[-1]])
        path.reverse()
        reads, first, last = [], None, None
        for i, n in enumerate(path):
            site = self.town.site_of.get(n)
            if site is None or len(path) < 2:
                continue
            if i == 0:
                toward = first = path[1]
            else:
                a, b = site["ends"]
                toward = b if path[i - 1] == a else a
                if i == len(path) - 1:
                    last = toward
            reads.append((site["camfor"][toward], dist[n]))
        r = (tuple(reads), dist[d], first, last)
        self.cache[key] = r
        return r


class Sim:
    """Vehicles, clock (UK local behaviour, UTC output) and the pass/read log."""

    def __init__(self, town, start, days, rng, all_passes):
        self.town, self.router, self.rng, self.days = town, Router(town), rng, days
        self.all_passes = all_passes
        self.early, self.late, self.wd = [], [], []
        for d in range(days + 2):
            date = start + dt.timedelta(days=d)
            mid = dt.datetime(date.year, date.month, date.day, tzinfo=TZ).timestamp()
            four = dt.datetime(date.year, date.month, date.day, 4, tzinfo=TZ).timestamp()
            self.early.append(int(mid))
            self.late.append(int(four) - 4 * 3600)
            self.wd.append(date.weekday())
        self.cong = [[self._congestion(we, q * 900 / H) for q in range(96)] for we in (0, 1)]
        self.plates, self.keeper, self.make, self.colour, self.readp = [], [], [], [], []
        self.plate_set = set()
        self.reads, self.passes = [], []

    @staticmethod
    def _congestion(weekend, h):
        """Travel-time multiplier by local hour: commuter peaks on weekdays, midday on weekends."""
        if weekend:
            return 1.0 + 0.18 * math.exp(-((h - 13) / 2.5) ** 2)
        f = 1.0 + 0.55 * math.exp(-((h - 8.25) / 0.8) ** 2) + 0.45 * math.exp(-((h - 17.4) / 1.1) ** 2)
        return f + 0.1 * math.exp(-((h - 12.5) / 2) ** 2) - (0.08 if h < 6 or h > 22 else 0)

    def add_vehicle(self, rng, keeper, makes, ages, readp=0.98):
        """Register a vehicle with a fresh unique UK-style plate; returns its id."""
        while True:
            p = (rng.choice(AREAS) + rng.choice(LETTERS) + rng.choice(ages)
                 + "".join(rng.choice(LETTERS) for _ in range(3)))
            if p not in self.plate_set:
                break
        self.plate_set.add(p)
        self.plates.append(p)
        self.keeper.append(keeper)
        self.make.append(rng.choice(makes))
        self.colour.append(rng.choice(COLOURS))
        self.readp.append(readp if rng.random() > 0.04 else 0.75)   # some dirty/damaged plates
        return len(self.plates) - 1

    def drive(self, vid, o, d, day, s, holder, skip_toward):
        """Drive o->d leaving at local second s of day; log passes/reads; return arrival second."""
        reads, total, first, _ = self.router.route(o, d)
        rng = self.rng
        f = self.cong[self.wd[day] >= 5][int(s // 900) % 96] * rng.lognormvariate(0, 0.08)
        base = (self.late[day] if s >= 10800 else self.early[day]) + s
        pv, camp, track = self.readp[vid], self.town.cams, holder is not None or self.all_passes
        for i, (cam, off) in enumerate(reads):
            if i == 0 and first is not None and first == skip_toward:
                continue          # parked just past this camera and drives on: not passed again
            t = int(base + off * f)
            det = rng.random() < camp[cam]["p"] * pv
            if det:
                self.reads.append((t, cam, vid))
            if track:
                self.passes.append((t, vid, holder or "-", cam, det))
        return s + total * f


class Trip:
    """One vehicle's position through a day: drive to places and wait there."""

    def __init__(self, sim, vid, loc, day, s, holder=None):
        self.sim, self.vid, self.loc, self.day, self.s, self.holder = sim, vid, loc, day, s, holder
        self.toward = None

    def go(self, dest, s_dep=None):
        """Drive to dest, leaving no earlier than s_dep; outside->outside is unobserved."""
        if s_dep is not None and s_dep > self.s:
            self.s = s_dep
        if dest == self.loc:
            return self
        kind = self.sim.town.kind
        if kind[self.loc] == "outside" and kind[dest] == "outside":
            self.loc = dest
            return self
        self.s = self.sim.drive(self.vid, self.loc, dest, self.day, self.s, self.holder, self.toward)
        self.toward = self.sim.router.route(self.loc, dest)[3]
        self.loc = dest
        return self

    def wait(self, secs):
        """Stay put for secs seconds."""
        self.s += secs
        return self

    def enter_from(self, outside_node):
        """If the car is somewhere outside town, it starts from this outside node."""
        if self.sim.town.kind[self.loc] == "outside":
            self.loc = outside_node

    def new_day(self, d):
        """Move the clock to day d (late trips past midnight carry over)."""
        if d > self.day:
            self.s, self.day = max(0.0, self.s - 86400 * (d - self.day)), d


# ---------------------------------------------------------------- residents

def make_residents(sim, rng, st):
    """Resident and regular vehicles (commuters, school runs, shoppers, vans, taxis, lorries)."""
    T, P = sim.town, sim.town.pool
    outs = [o["node"] for o in T.outside]
    sim.entry_weight = [rng.uniform(0.5, 2.0) for _ in outs]      # how busy each entry road is
    mix = [("commute", 34), ("incommute", 10), ("outcommute", 8), ("school", 9), ("shopper", 19),
           ("occasional", 11), ("van", 5), ("taxi", 1.5), ("lorry", 2.5)]
    agents = []
    for kind, w in mix:
        for _ in range(int(round(st["residents"] * w / 100))):
            a = {"k": kind, "home": rng.choice(P["residential"]), "work": rng.choice(P["work"]),
                 "dep": rng.uniform(6.5, 9.2) * H, "ret": rng.uniform(15.8, 18.8) * H,
                 "pw": rng.uniform(0.6, 0.95), "works": rng.random() < 0.5}
            keeper, makes = ("lease" if rng.random() < 0.12 else "private"), MAKES
            if kind == "incommute":
                a["home"] = rng.choices(outs, sim.entry_weight)[0]
            elif kind == "outcommute":
                a["work"] = rng.choices(outs, sim.entry_weight)[0]
            elif kind == "school":
                hx, hy = T.x[a["home"]], T.y[a["home"]]
                a["school"] = min(P["school"], key=lambda v: (math.hypot(T.x[v] - hx, T.y[v] - hy), v))
            elif kind == "van":
                keeper, makes = "fleet", VAN_MAKES
                a["home"] = rng.choice(P["industrial"]) if rng.random() < 0.75 else rng.choice(outs)
            elif kind == "taxi":
                keeper = "fleet" if rng.random() < 0.5 else "private"
            elif kind == "lorry":
                keeper, makes = "fleet", VAN_MAKES
                a["home"] = rng.choices(outs, sim.entry_weight)[0]
            a["vid"] = sim.add_vehicle(rng, keeper, makes, PRIVATE_AGES)
            agents.append(a)
    return agents


def outings(t, rng, pool, weights, home, lo=9.5, hi=17.0):
    """0-2 errands/leisure trips from home, each with a dwell, at sorted random hours."""
    n = rng.choices([0, 1, 2], weights)[0]
    for s in sorted(rng.uniform(lo, hi) * H for _ in range(n)):
        if max(s, t.s + 900) > hi * H + 1800:
            break                                   # the day has run out
        t.go(rng.choice(pool), max(s, t.s + 900)).wait(rng.uniform(0.4, 2.5) * H).go(home)


def resident_day(sim, a, d, rng):
    """One day of one resident vehicle's routine (local time)."""
    P, wd, k, home = sim.town.pool, sim.wd[d], a["k"], a["home"]
    t = Trip(sim, a["vid"], home, d, 0.0)
    leisure = P["shop"] + P["fun"]
    if k in ("commute", "incommute", "outcommute", "school") and wd < 5 and rng.random() < a["pw"]:
        if k == "school":
            t.go(a["school"], 8.25 * H + rng.gauss(0, 300)).wait(300)
            t.go(a["work"] if a["works"] else home)
            t.go(a["school"], 15.0 * H + rng.gauss(0, 400)).wait(600).go(home)
            return
        t.go(a["work"], a["dep"] + rng.gauss(0, 600))
        if k != "outcommute" and rng.random() < 0.1:
            t.go(rng.choice(P["shop"]), 12.3 * H + rng.gauss(0, 900)).wait(1800).go(a["work"])
        if k != "incommute" and rng.random() < 0.2:
            t.go(rng.choice(P["shop"]), a["ret"] + rng.gauss(0, 900)).wait(rng.uniform(600, 2400)).go(home)
        else:
            t.go(home, a["ret"] + rng.gauss(0, 900))
        if k != "incommute" and rng.random() < 0.15:
            t.go(rng.choice(P["fun"]), rng.uniform(18.5, 20.5) * H).wait(rng.uniform(1, 3) * H).go(home)
    elif k in ("commute", "outcommute", "school"):
        outings(t, rng, leisure, [0.6, 0.3, 0.1] if wd < 5 else [0.3, 0.45, 0.25], home)
    elif k == "incommute":
        outings(t, rng, leisure, [0.9, 0.1, 0.0], home)
    elif k == "shopper":
        w = [[0.35, 0.45, 0.2], [0.25, 0.45, 0.3], [0.5, 0.4, 0.1]][0 if wd < 5 else wd - 4]
        outings(t, rng, leisure, w, home, 9.0, 16.5)
    elif k == "occasional":
        outings(t, rng, leisure, [0.7, 0.25, 0.05], home, 8.0, 20.0)
    elif k == "van" and (wd < 5 or (wd == 5 and rng.random() < 0.3)):
        t.s = 7.5 * H + rng.gauss(0, 1800)
        for _ in range(rng.randint(5, 12)):
            t.go(rng.choice(P["errand"])).wait(rng.uniform(300, 1200))
        t.go(home)
    elif k == "taxi":
        n = int(rng.randint(8, 18) * (1.4 if wd in (4, 5) else 1.0))
        for s in sorted(rng.uniform(6, 26) * H for _ in range(n)):
            t.go(rng.choice(P["errand"] + P["station"] * 5 + P["centre"] * 3), s)
            t.go(rng.choice(P["errand"] + P["fun"]))
        t.go(home)
    elif k == "lorry" and rng.random() < (0.8 if wd < 5 else 0.2):
        outs = [o["node"] for o in sim.town.outside]
        t.s = rng.uniform(5, 18) * H
        if rng.random() < 0.6:
            t.go(rng.choice(P["industrial"])).wait(rng.uniform(0.5, 1.5) * H).go(home)
        else:
            other = rng.choice([o for o in outs if o != home])
            t.s = sim.drive(t.vid, home, other, d, t.s, None, None)


def one_offs(sim, rng, st, d):
    """Visitors and through traffic seen on one day only (fresh plates every day)."""
    P, wd = sim.town.pool, sim.wd[d]
    outs = [o["node"] for o in sim.town.outside]
    n = int(st["oneOffPerDay"] * (1.3 if wd >= 5 else 1.0) * rng.uniform(0.85, 1.15))
    for _ in range(n):
        keeper = rng.choices(["private", "fleet", "lease", "unknown"], [68, 10, 10, 12])[0]
        vid = sim.add_vehicle(rng, keeper, VAN_MAKES if keeper == "fleet" else MAKES, PRIVATE_AGES)
        o = rng.choices(outs, sim.entry_weight)[0]
        s = rng.uniform(7, 20) * H
        if rng.random() < 0.4:
            sim.drive(vid, o, rng.choice([x for x in outs if x != o]), d, s, None, None)
        else:
            t = Trip(sim, vid, o, d, s)
            t.go(rng.choice(P["fun"] + P["shop"] + P["work"])).wait(rng.uniform(0.5, 5) * H)
            t.go(o if rng.random() < 0.8 else rng.choice(outs))


# ---------------------------------------------------------------- hire fleet

class Fleet:
    """The shared hire fleet: cars and their bookings (hires)."""

    def __init__(self, sim, rng, n):
        self.cars = [sim.add_vehicle(rng, "rental", RENTAL_MAKES, RENTAL_AGES, 0.99) for _ in range(n)]
        self.book = {c: [] for c in self.cars}
        self.hires = []

    def free(self, car, a, b):
        """Is the car unbooked on days [a, b)?"""
        return all(h["to"] <= a or h["from"] >= b for h in self.book[car])

    def pick(self, rng, a, b, avoid=()):
        """A random car free on [a, b), or None."""
        cands = [c for c in self.cars if c not in avoid and self.free(c, a, b)]
        return rng.choice(cands) if cands else None

    def hire(self, car, holder, kind, a, b, prof):
        """Book car for holder on days [a, b); returns the hire record."""
        h = {"car": car, "holder": holder, "kind": kind, "from": a, "to": b, "use_to": b,
             "return": True, "late": False, "swap": False, "prof": prof}
        self.book[car].append(h)
        self.hires.append(h)
        return h


def make_groups(sim, rng, st):
    """Actor groups: habitual entry road, weekdays, hour and deal sites (all drawn)."""
    T = sim.town
    cand = [s for s in T.sites if not s["entry"] and s["node"] != T.depot]
    lw = {"estate": 3, "car park": 2, "retail park": 2, "petrol station": 2, "shops": 2}
    groups = []
    for i in range(st["groups"]):
        e = rng.randrange(len(T.outside))
        taken = [s["id"] for g in groups for s in g["sites"]]
        sites = wsample(rng, cand, [lw.get(s["label"], 0.6) * (0.15 if s["id"] in taken else 1) for s in cand],
                        rng.randint(2, 6))
        once = [s for g in groups for s in g["sites"] if taken.count(s["id"]) == 1 and s not in sites]
        if once and rng.random() < 0.4:
            sites[-1] = rng.choice(once)             # a deal site shared with one other group
        lo = rng.randint(1, 3)
        g = {"holder": f"actor-{i + 1}", "entry": e,
             "exit": e if rng.random() < 0.75 else rng.randrange(len(T.outside)),
             "days": sorted(wsample(rng, list(range(7)), [1, 1, 1, 1, 1.3, 0.8, 0.5], rng.randint(1, 4))),
             "hour": round(rng.uniform(9, 20.5), 2), "jitterMin": round(rng.uniform(10, 45), 1),
             "sites": sites, "prefs": [rng.uniform(0.3, 1.0) for _ in sites],
             "attend": round(rng.uniform(0.7, 0.95), 2),
             "adhoc": round(rng.uniform(0.02, 0.1), 3) if rng.random() < 0.6 else 0.0,
             "hireLen": (lo, rng.randint(max(lo, 2), 6)), "swapP": round(rng.uniform(0.1, 0.5), 2),
             "lateP": round(rng.uniform(0, 0.25), 2), "leadP": round(rng.uniform(0, 0.4), 2),
             "stayP": round(rng.uniform(0.1, 0.5), 2) if rng.random() < 0.4 else 0.0,
             "base": rng.choice(T.pool["residential"]), "handover": {}}
        g["dayShift"] = {wd: (round(rng.uniform(-0.75, 0.75), 2) if rng.random() < 0.3 else 0.0) for wd in range(7)}
        g["stops"] = (1 if len(sites) == 2 else 2, min(4, len(sites)))
        g["visits"] = {}
        for d in range(sim.days):
            wd = sim.wd[d]
            if wd in g["days"] and rng.random() < g["attend"]:
                kind, k = "habit", rng.randint(*g["stops"])
                s = min(21.5 * H, (g["hour"] + g["dayShift"][wd]) * H + rng.gauss(0, g["jitterMin"] * 60))
            elif rng.random() < g["adhoc"]:
                kind, k, s = "adhoc", rng.randint(1, 2), rng.uniform(10, 21.5) * H
            else:
                continue
            idx = wsample(rng, list(range(len(sites))), g["prefs"], k)
            g["visits"][d] = {"kind": kind, "s": s, "deals": [(sites[j]["node"], rng.uniform(5, 30) * 60) for j in idx]}
        groups.append(g)
    return groups


def plan_actor_hires(fleet, rng, g, days):
    """Cover a group's visit days with a chain of 1-6 day hires, each on a different car."""
    vdays, hires, i = sorted(g["visits"]), [], 0
    while i < len(vdays):
        v = vdays[i]
        prev = hires[-1] if hires else None
        a = v - 1 if v > 0 and rng.random() < g["leadP"] else v
        if prev is not None and prev["late"]:
            a = v                                    # old car not yet returned: overlap
        elif prev is not None:
            a = max(a, prev["to"])
            if v <= prev["to"] + 2 and prev["to"] - 1 > prev["from"] and rng.random() < g["swapP"]:
                a = prev["use_to"] = prev["to"] - 1    # swap cars at the depot on the return day
                prev["swap"] = True
        b = min(days, a + rng.randint(*g["hireLen"]))
        recent = [h["car"] for h in hires if h["to"] > a - 14]
        cands = [c for c in fleet.cars if (prev is None or c != prev["car"]) and fleet.free(c, a, b)]
        if not cands:
            if prev is not None and prev["swap"]:
                prev["use_to"], prev["swap"] = prev["to"], False
            i += 1
            continue
        car = rng.choices(cands, [0.05 if c in recent else 1.0 for c in cands])[0]
        h = fleet.hire(car, g["holder"], "actor", a, b, g)
        hires.append(h)
        inside = [w for w in vdays if a < w < b - 1]
        if inside and rng.random() < g["lateP"]:
            h["use_to"], h["late"], h["return"] = rng.choice(inside), True, False
        while i < len(vdays) and vdays[i] < h["use_to"]:
            i += 1


def make_business(sim, rng, st, groups):
    """Business renters (some are decoys copying an actor group's road, hour and days)."""
    P, out = sim.town.pool, []
    for i in range(st["business"] + st["decoyBusiness"]):
        clients = rng.sample(P["office"] + P["industrial"] + P["retail"], rng.randint(3, 5))
        b = {"holder": f"business-{i + 1}", "entry": rng.randrange(len(sim.town.outside)),
             "days": sorted(rng.sample(range(5), rng.randint(2, 4))), "hour": round(rng.uniform(7.3, 9.8), 2),
             "jitterMin": round(rng.uniform(8, 25), 1), "clients": clients,
             "weekP": round(rng.uniform(0.5, 0.95), 2), "decoyOf": None}
        if i >= st["business"]:
            g = groups[rng.randrange(len(groups))]
            b.update(entry=g["entry"], hour=round(min(20.0, g["hour"] + rng.uniform(-0.5, 0.5)), 2),
                     days=sorted({w for w in g["days"] if w < 5} | {rng.randrange(5)}), decoyOf=g["holder"])
            if rng.random() < 0.6:
                clients[0] = rng.choice(g["sites"])["node"]
        out.append(b)
    return out


def plan_others(sim, fleet, rng, st, groups, business):
    """Business weeks, family breaks, decoy renters, then one-off renters to fill the fleet."""
    days, wd, P = sim.days, sim.wd, sim.town.pool
    for b in business:
        for w0 in range(0, days, 7):
            ds = [d for d in range(w0, min(w0 + 7, days)) if wd[d] in b["days"]]
            if ds and rng.random() < b["weekP"]:
                a = max(0, ds[0] - (rng.random() < 0.15))
                e = min(days, ds[-1] + 1 + (rng.random() < 0.2))
                car = fleet.pick(rng, a, e)
                if car is not None:
                    fleet.hire(car, b["holder"], "business", a, e, b)
    fam = []
    for i in range(st["families"]):
        starts = [d for d in range(days) if wd[d] == (4 if rng.random() < 0.6 else 5)]
        if not starts:
            continue
        a = rng.choice(starts)
        e = min(days, a + (4 if wd[a] == 4 else 7))
        prof = {"holder": f"family-{i + 1}", "lodge": rng.choice(P["hotel"] + P["residential"]), "dealStops": []}
        car = fleet.pick(rng, a, e)
        if car is not None:
            fleet.hire(car, prof["holder"], "leisure", a, e, prof)
            fam.append(prof)
    renters = []

    def renter(kind, a, e, car, **kw):
        prof = {"holder": f"renter-{len(renters) + 1}", "type": kind, "decoyOf": None, "dealStops": [],
                "lodge": rng.choice(P["hotel"] * 3 + P["residential"]) if rng.random() < 0.65 else
                rng.choice(sim.town.outside)["node"], "home": rng.choice(P["residential"]),
                "work": rng.choice(P["work"]), "dep": rng.uniform(7, 9) * H, "ret": rng.uniform(16, 18.5) * H}
        prof.update(kw)
        fleet.hire(car, prof["holder"], "leisure" if kind == "tourist" else "local", a, e, prof)
        renters.append(prof)

    for kind, n in (("tourist", st["decoyDealStop"]), ("local", st["decoyEstate"])):
        for _ in range(n):
            g = groups[rng.randrange(len(groups))]
            site = rng.choice(g["sites"])
            a = rng.randrange(max(1, days - 2))
            e = min(days, a + (rng.randint(2, 5) if kind == "tourist" else rng.randint(4, 10)))
            car = fleet.pick(rng, a, e)
            if car is not None:
                extra = {"dealStops": [site["node"]], "stopHour": g["hour"]} if kind == "tourist" else {"home": site["node"]}
                renter(kind, a, e, car, decoyOf=g["holder"], decoySite=site["id"], **extra)
    for car in fleet.cars:
        d = rng.randint(0, 2)
        while d < days:
            busy = [h["to"] for h in fleet.book[car] if h["from"] <= d < h["to"]]
            if busy:
                d = busy[0] + (rng.random() < 0.3)
            elif rng.random() < st["renterStartP"]:
                kind = "tourist" if rng.random() < 0.55 else "local"
                nxt = min([h["from"] for h in fleet.book[car] if h["from"] > d] + [days])
                e = min(nxt, d + (rng.randint(1, 7) if kind == "tourist" else rng.randint(2, 10)))
                renter(kind, d, e, car)
                d = e
            else:
                d += 1
    return fam, renters


# ---------------------------------------------------------------- driving the hires

def run_actor_hire(sim, h, rng):
    """Visit days: enter by the habitual road, stop at deal sites, leave (or stay at the base)."""
    g, T = h["prof"], sim.town
    ent, ext = T.outside[g["entry"]]["node"], T.outside[g["exit"]]["node"]
    a = h["from"]
    v0 = g["visits"].get(a)
    pickup = g["handover"].get(a)
    if pickup is not None:
        pickup += rng.uniform(15, 40) * 60
    else:
        pickup = v0["s"] - rng.uniform(30, 90) * 60 if v0 else rng.uniform(9, 17) * H
    t = Trip(sim, h["car"], T.depot, a, pickup, g["holder"])
    for d in range(a, h["use_to"]):
        t.new_day(d)
        v = g["visits"].get(d)
        if v:
            t.enter_from(ent)
            v["plate"], v["done"] = sim.plates[h["car"]], []
            for j, (node, dwell) in enumerate(v["deals"]):
                if j and t.s > 22 * H:
                    break                    # too late: skip the remaining stops
                v["done"].append(node)
                t.go(node, v["s"] if j == 0 else t.s + rng.uniform(0, 600)).wait(dwell)
        if h["return"] and d == h["to"] - 1:
            break
        if v and (d + 1) in g["visits"] and d + 1 < h["use_to"] and rng.random() < g["stayP"]:
            t.go(g["base"])
        else:
            t.go(ext)
    if h["return"]:
        last = h["to"] - 1
        t.new_day(last)
        nv = g["visits"].get(last)
        if last >= h["use_to"]:          # swap day: return before the next car's visit
            ret = nv["s"] - rng.uniform(60, 120) * 60 if nv else rng.uniform(10, 15) * H
        else:
            ret = t.s + rng.uniform(5, 30) * 60 if nv else rng.uniform(10, 16) * H
        t.enter_from(ent)
        t.go(T.depot, ret)
        g["handover"][last] = t.s


def run_business_hire(sim, h, rng):
    """Weekday client calls entering by the same road at a regular hour."""
    b, T = h["prof"], sim.town
    ent = T.outside[b["entry"]]["node"]
    t = Trip(sim, h["car"], T.depot, h["from"], rng.uniform(7.5, 9) * H, b["holder"])
    for d in range(h["from"], h["to"]):
        t.new_day(d)
        worked = sim.wd[d] < 5 and (sim.wd[d] in b["days"] or rng.random() < 0.2)
        if worked:
            t.enter_from(ent)
            start = b["hour"] * H + rng.gauss(0, b["jitterMin"] * 60)
            for j, node in enumerate(rng.sample(b["clients"], rng.randint(1, min(3, len(b["clients"]))))):
                if j and t.s > 20 * H:
                    break
                t.go(node, start if j == 0 else None).wait(rng.uniform(30, 150) * 60)
        leave = rng.uniform(16, 18.5) * H if worked else None
        if d == h["to"] - 1:
            t.enter_from(ent)
            t.go(T.depot, leave or rng.uniform(9, 17) * H)
        else:
            t.go(ent, leave)


def run_leisure_hire(sim, h, rng):
    """Families and tourists: outings to attractions, shops and the centre from their lodging."""
    p, T = h["prof"], sim.town
    P, lodge = T.pool, p["lodge"]
    t = Trip(sim, h["car"], T.depot, h["from"], rng.uniform(9, 12) * H, p["holder"])
    t.go(lodge)
    stop_day = h["from"] + (1 if h["to"] - h["from"] > 1 else 0)
    for d in range(h["from"], h["to"]):
        t.new_day(d)
        last = d == h["to"] - 1
        n = rng.choice([0, 1]) if last else rng.choices([0, 1, 2, 3], [0.1, 0.4, 0.35, 0.15])[0]
        s = rng.uniform(9.5, 11.5) * H
        if p["dealStops"] and d == stop_day:           # decoy: a stop at an actor's deal site
            t.go(p["dealStops"][0], p["stopHour"] * H + rng.gauss(0, 1800)).wait(rng.uniform(10, 40) * 60)
        for _ in range(n):
            if s > (13 if last else 19) * H:
                break
            if rng.random() < 0.08:
                dest, dwell = rng.choice(T.outside)["node"], rng.uniform(3, 6) * H
            else:
                dest, dwell = rng.choice(P["fun"] + P["shop"]), rng.uniform(1, 3) * H
            t.go(dest, s).wait(dwell)
            if rng.random() < 0.5:
                t.go(lodge)
            s = t.s + rng.uniform(0.2, 1.5) * H
        if last:
            t.go(T.depot, max(t.s, rng.uniform(15, 18.5) * H))
        else:
            if rng.random() < 0.35:
                t.go(rng.choice(P["centre"] + P["leisure"]), rng.uniform(18.5, 20) * H).wait(rng.uniform(1.2, 2.5) * H)
            t.go(lodge)


def run_local_hire(sim, h, rng):
    """A local's courtesy/replacement car: their normal commute and errands."""
    p, T = h["prof"], sim.town
    t = Trip(sim, h["car"], T.depot, h["from"], rng.uniform(8, 11) * H, p["holder"])
    t.go(p["home"])
    for d in range(h["from"], h["to"]):
        t.new_day(d)
        if sim.wd[d] < 5 and rng.random() < 0.85:
            t.go(p["work"], p["dep"] + rng.gauss(0, 600)).go(p["home"], p["ret"] + rng.gauss(0, 900))
        last = d == h["to"] - 1
        outings(t, rng, T.pool["shop"] + T.pool["fun"], [0.5, 0.4, 0.1], p["home"], 9.0, 16.0 if last else 20.0)
        if last:
            t.go(T.depot, max(t.s, rng.uniform(9, 18) * H))


# ---------------------------------------------------------------- faults and output

def utc_text(t, cache={}):
    """YYYY-MM-DDTHH:MM:SSZ for epoch seconds t."""
    day, r = divmod(t, 86400)
    ds = cache.get(day)
    if ds is None:
        ds = cache[day] = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
    return f"{ds}T{r // 3600:02d}:{r % 3600 // 60:02d}:{r % 60:02d}Z"


def faults_and_rows(sim, rng, st, t0, t1):
    """Final sorted read rows (t, cam, vid, dup) with cameras down and duplicates applied."""
    cams, down = sim.town.cams, []
    for _ in range(st["camerasDown"]):
        c, d = rng.randrange(len(cams)), rng.randrange(sim.days)
        down.append((c, sim.early[d], sim.early[d + 1], d))
    reads = [r for r in sim.reads if t0 <= r[0] < t1 and
             not any(r[1] == c and lo <= r[0] < hi for c, lo, hi, _ in down)]
    rows = [(t, c, v, 0) for t, c, v in reads]
    rows += [(t + rng.randint(1, 4), c, v, 1) for t, c, v in reads if rng.random() < st["dupRate"]]
    rows.sort()
    return rows, down


def write_outputs(sim, rng, st, out, extra):
    """Write cameras.csv, reads.csv, vehicles.csv, truth-passes.csv and truth.json."""
    T, t0, t1 = sim.town, sim.early[0], sim.early[sim.days]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "cameras.csv"), "w", newline="\n") as f:
        f.write("camera_id,site_id,latitude,longitude,bearing,road,description\n")
        for c in T.cams:
            f.write(f"{c['id']},{c['site']},{c['lat']:.6f},{c['lon']:.6f},{c['bearing']},{c['road']},{c['desc']}\n")
    rows, down = faults_and_rows(sim, rng, st, t0, t1)
    plates = sim.plates
    shown = [plates[v] for _, _, v, _ in rows]
    misreads = []
    for _ in range(st["misreads"] * 4):
        if len(misreads) >= st["misreads"] or not rows:
            break
        i = rng.randrange(len(rows))
        p = shown[i]
        pos = [j for j, ch in enumerate(p) if ch in CONFUSE]
        if not pos or p != plates[rows[i][2]]:
            continue
        j = rng.choice(pos)
        q = p[:j] + CONFUSE[p[j]] + p[j + 1:]
        if q not in sim.plate_set:
            shown[i] = q
            misreads.append({"read_id": i + 1, "line": i + 2, "true": p, "read": q})
    lines = ["read_id,plate,camera_id,timestamp,confidence"]
    dups = []
    for i, (t, c, v, dup) in enumerate(rows):
        conf = rng.gauss(0.9, 0.05) if rng.random() > 0.03 else rng.uniform(0.5, 0.8)
        if shown[i] != plates[v]:
            conf = rng.uniform(0.5, 0.75)
        if dup:
            dups.append({"read_id": i + 1, "line": i + 2, "plate": plates[v]})
        lines.append(f"{i + 1},{shown[i]},{T.cams[c]['id']},{utc_text(t)},{min(0.99, max(0.5, conf)):.2f}")
    with open(os.path.join(out, "reads.csv"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    used = sorted(set(v for _, _, v, _ in rows) | set(extra["fleet"]), key=lambda v: plates[v])
    with open(os.path.join(out, "vehicles.csv"), "w", newline="\n") as f:
        f.write("plate,keeper_type,make,colour\n")
        f.write("".join(f"{plates[v]},{sim.keeper[v]},{sim.make[v]},{sim.colour[v]}\n" for v in used))
    passes = sorted((t, plates[v], h, T.cams[c]["id"], int(det and not any(
        c == dc and lo <= t < hi for dc, lo, hi, _ in down))) for t, v, h, c, det in sim.passes if t0 <= t < t1)
    with open(os.path.join(out, "truth-passes.csv"), "w", newline="\n") as f:
        f.write("plate,holder,camera_id,time,detected\n")
        f.write("".join(f"{p},{h},{c},{utc_text(t)},{det}\n" for t, p, h, c, det in passes))
    by_keeper = {}
    for v in (v for _, _, v, _ in rows):
        by_keeper[sim.keeper[v]] = by_keeper.get(sim.keeper[v], 0) + 1
    truth = {"generator": "othertown 1", "startUTC": t0, "start": st["start"], "days": sim.days,
             "timezone": "Europe/London", "settings": st,
             "hires": [{"plate": plates[h["car"]], "holder": h["holder"], "fromDay": h["from"], "toDay": h["to"]}
                       for h in sorted(extra["hires"], key=lambda h: (h["from"], plates[h["car"]], h["holder"]))],
             **extra["truth"],
             "faults": {"camerasDown": [{"camera": T.cams[c]["id"], "day": d, "fromUTC": lo, "toUTC": hi}
                                        for c, lo, hi, d in down],
                        "duplicates": dups, "misreads": sorted(misreads, key=lambda m: m["read_id"])},
             "counts": {"reads": len(rows), "cameras": len(T.cams), "sites": len(T.sites),
                        "vehicles": len(used), "readsByKeeper": dict(sorted(by_keeper.items())),
                        "truePasses": len(passes)}}
    with open(os.path.join(out, "truth.json"), "w", newline="\n") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    return truth


def describe(sim, fleet, groups, business, families, renters, depot):
    """Ground truth beyond the hires: entry roads, depot, actor groups with visits, decoys."""
    town = sim.town
    sid = {s["node"]: s["id"] for s in town.sites}
    outside = [{"from": o["name"], "road": o["road"], "site": o["site"]["id"],
                "cameras": sorted(town.cams[c]["id"] for c in set(o["site"]["camfor"].values()))}
               for o in town.outside]
    hm = lambda x: f"{int(x // H) % 24:02d}:{int(x % H // 60):02d}"
    actors = [{"holder": g["holder"], "entryRoad": outside[g["entry"]], "exitRoad": outside[g["exit"]]["from"],
               "habitDays": [DAYNAMES[w] for w in g["days"]], "habitHourLocal": hm(g["hour"] * H),
               "dayShiftHours": {DAYNAMES[w]: g["dayShift"][w] for w in g["days"] if g["dayShift"][w]},
               "jitterMin": g["jitterMin"], "dealSites": [s["id"] for s in g["sites"]],
               "dealSiteLabels": [s["label"] for s in g["sites"]], "attendP": g["attend"],
               "adhocPerDay": g["adhoc"], "hireDays": list(g["hireLen"]), "swapP": g["swapP"],
               "lateReturnP": g["lateP"], "pickupDayBeforeP": g["leadP"], "stayOvernightP": g["stayP"],
               "hires": [{"plate": sim.plates[h["car"]], "fromDay": h["from"], "toDay": h["to"],
                          "drivenUntilDay": h["use_to"], "swapAtDepot": h["swap"], "returnedLateUnseen": h["late"]}
                         for h in fleet.hires if h["holder"] == g["holder"]],
               "visits": [{"day": d, "kind": v["kind"], "plate": v.get("plate"), "startLocal": hm(v["s"]),
                           "sites": [sid[n] for n in v.get("done", [])]} for d, v in sorted(g["visits"].items())]}
              for g in groups]
    return {"entries": outside, "depot": {"site": depot["id"], "label": depot["label"]}, "actors": actors,
             "business": [{"holder": b["holder"], "entry": outside[b["entry"]]["from"],
                           "days": [DAYNAMES[w] for w in b["days"]], "hourLocal": hm(b["hour"] * H),
                           "decoyOf": b["decoyOf"]} for b in business],
             "families": [f["holder"] for f in families],
             "renters": [{"holder": r["holder"], "type": r["type"], "decoyOf": r["decoyOf"],
                          "decoySite": r.get("decoySite")} for r in renters]}


def draw_settings(args):
    """Every world setting, drawn from the seed unless overridden on the command line."""
    r = random.Random(f"othertown-settings-{args.seed}")
    radials = r.randint(5, 8)
    st = {"seed": args.seed, "days": args.days, "start": args.start,
          "radiusKm": round(r.uniform(10, 20), 1), "radials": radials, "entries": r.randint(3, min(6, radials)),
          "ringFrac": round(r.uniform(0.35, 0.5), 2), "localNodes": r.randint(55, 90),
          "sites": r.randint(40, 90), "lat0": round(r.uniform(51.50, 51.62), 4),
          "lon0": round(r.uniform(0.45, 0.75), 4), "fleet": r.randint(15, 50), "groups": r.randint(2, 6),
          "business": r.randint(1, 4), "families": r.randint(1, 4), "decoyBusiness": r.randint(0, 2),
          "decoyDealStop": r.randint(1, 4), "decoyEstate": r.randint(0, 2),
          "renterStartP": round(r.uniform(0.3, 0.7), 2), "residents": 0,
          "oneOffPerDay": r.randint(150, 450), "dupRate": round(r.uniform(0.001, 0.003), 4),
          "misreads": r.randint(8, 30), "camerasDown": r.randint(1, 2)}
    st["residents"] = int(r.uniform(1800, 3800) * (65 / (args.sites or st["sites"])) ** 0.5)
    for key in ("groups", "fleet", "residents", "sites"):
        if getattr(args, key) is not None:
            st[key] = getattr(args, key)
    if args.no_faults:
        st.update(dupRate=0.0, misreads=0, camerasDown=0)
    return st


def main():
    """Parse the command line, draw the world, simulate and write the files."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--out", required=True)
    ap.add_argument("--start", default="2026-03-02", help="first local day (default a Monday)")
    ap.add_argument("--groups", type=int, help="actor groups (default drawn 2-6)")
    ap.add_argument("--fleet", type=int, help="hire cars (default drawn 15-50)")
    ap.add_argument("--residents", type=int, help="resident/regular vehicles (default drawn, about 1700-5000)")
    ap.add_argument("--sites", type=int, help="camera sites (default drawn 40-90)")
    ap.add_argument("--no-faults", action="store_true", help="no duplicates, misreads or cameras down")
    ap.add_argument("--all-passes", action="store_true", help="truth-passes.csv for every vehicle, not just hire cars")
    args = ap.parse_args()
    clock = time.time()
    st = draw_settings(args)
    town = Town(random.Random(f"othertown-town-{args.seed}"), st)
    start = dt.date.fromisoformat(args.start)
    sim = Sim(town, start, args.days, random.Random(f"othertown-traffic-{args.seed}"), args.all_passes)
    plan = random.Random(f"othertown-plan-{args.seed}")
    near = sorted((s for s in town.sites if not s["entry"]),
                  key=lambda s: (s["label"] not in ("industrial estate", "retail park", "junction", "roundabout"),
                                 math.hypot(town.x[s["node"]], town.y[s["node"]])))
    depot = plan.choice(near[:4])
    town.depot = depot["node"]
    fleet = Fleet(sim, plan, st["fleet"])
    groups = make_groups(sim, plan, st)
    for g in groups:
        plan_actor_hires(fleet, plan, g, sim.days)
    business = make_business(sim, plan, st, groups)
    families, renters = plan_others(sim, fleet, plan, st, groups, business)
    st["actorGroups"] = [{"holder": g["holder"], "entry": town.outside[g["entry"]]["name"],
                          "days": [DAYNAMES[w] for w in g["days"]], "hour": g["hour"], "jitterMin": g["jitterMin"],
                          "dealSites": [s["id"] for s in g["sites"]], "hireDays": list(g["hireLen"]),
                          "adhocPerDay": g["adhoc"]} for g in groups]
    print(f"othertown seed {args.seed}: " + json.dumps(st), file=sys.stderr)
    agents = make_residents(sim, random.Random(f"othertown-residents-{args.seed}"), st)
    rng = sim.rng
    for d in range(sim.days):
        for a in agents:
            resident_day(sim, a, d, rng)
        one_offs(sim, rng, st, d)
    runner = {"actor": run_actor_hire, "business": run_business_hire, "leisure": run_leisure_hire,
              "local": run_local_hire}
    for h in fleet.hires:
        runner[h["kind"]](sim, h, rng)
    truth = describe(sim, fleet, groups, business, families, renters, depot)
    res = write_outputs(sim, random.Random(f"othertown-faults-{args.seed}"), st, args.out,
                        {"fleet": fleet.cars, "hires": fleet.hires, "truth": truth})
    kinds = {}
    for h in fleet.hires:
        k = h["holder"].split("-")[0]
        kinds[k] = kinds.get(k, 0) + 1
    print(f"othertown: {res['counts']['reads']} reads, {len(town.cams)} cameras at {len(town.sites)} sites, "
          f"{len(fleet.cars)} hire cars, hires {kinds}, {len(groups)} actor groups, "
          f"{time.time() - clock:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
