"""Reads JSON lines from ANPRBench and the peers (stdin) and prints a Markdown table:
one row per (suite, bench, size, implementation) with the median, the throughput and the ratio
of ANPRKit's throughput to each peer's. Usage: ... | python3 Benchmarks/compare.py "label" """
import json, sys
label = sys.argv[1] if len(sys.argv) > 1 else ""
rows = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
# Rows of one benchmark are compared even when the sizes differ slightly (e.g. stored reads after
# de-duplication vs raw CSV rows of the same export); then the ratio is of wall times, marked "(time)".
keyf = lambda r: (r["suite"], r["bench"], r.get("n") if r["suite"] not in ("routes",) else None)
groups = {}
for r in rows:
    groups.setdefault(keyf(r), []).append(r)
rate_field = lambda r: next((f for f in ("gflops", "rows_per_s", "reads_per_s", "per_s") if f in r), None)
print(f"\n#### {label}\n")
print("| benchmark | size | implementation | median (s) | throughput | ANPRKit ÷ this |")
print("|---|---|---|---|---|---|")
for key, rs in groups.items():
    ours = next((r for r in rs if r["impl"] == "ANPRKit"), None)
    for r in rs:
        f = rate_field(r)
        ratio = ""
        if ours and f and r is not ours and r.get(f):
            ratio = f"{ours[f] / r[f]:.2f}×" if ours.get("n") == r.get("n") else f"{r['median_s'] / ours['median_s']:.2f}× (time)"
        thr = f"{r[f]:.4g} {f.replace('_', ' ')}" if f else ""
        extra = f" (peak {r['peak_mb']:.0f} MB)" if "peak_mb" in r else ""
        if "iterations" in r: extra += f", {r['iterations']} iterations"
        if "neighbour_agreement" in r: extra += f", {r['neighbour_agreement']:.3f} of ANPRKit's top-10 (first 100 rows)"
        if "top1" in r: extra += f", top-1 accuracy {r['top1']:.3f}"
        if "max_abs_eta_diff" in r: extra += f", max abs Δη vs ANPRKit {r['max_abs_eta_diff']:.1e}"
        print(f"| {key[1]} | {r.get('n')} | {r['impl']} | {r['median_s']:.4g} | {thr}{extra} | {ratio} |")
