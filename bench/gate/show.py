"""What the gate prints: the verdict table, the information beside it, the baseline."""
from __future__ import annotations

from bench import meta
from bench.gate import measure
from bench.points import Point


def print_fingerprint_diff(recorded: dict, here: dict):
    """Say, for information, where this machine differs from the baseline's (CPU, BLAS
    kernel, versions): the timing gate runs either way."""
    diff = meta.fingerprint_diff(recorded, here)
    if diff:
        print("note: this machine differs from the baseline's (the gate runs anyway): "
              + "; ".join(diff))


def print_table(rows, s, blocks):
    w = max(len(r["point"]) for r in rows)
    print(f"\nengine time / reference time (the same products written directly), median of "
          f"{blocks} ABBA blocks ({s['threads']} thread), 95% bootstrap interval")
    print(f"{'point':{w}}  {'mode':7}  {'baseline':>8}  {'band':^17}  {'measured':>8}  "
          f"{'interval':^17}  verdict")
    for r in rows:
        note = " (re-measured)" if r["remeasured"] else ""
        print(f"{r['point']:{w}}  {r['mode']:7}  {r['baseline']:8.3f}  [{r['band'][0]:6.3f}, "
              f"{r['band'][1]:6.3f}]  {r['ratio']:8.3f}  [{r['lo']:6.3f}, {r['hi']:6.3f}]  "
              f"{r['verdict']}{note}")


def print_information(rows, base):
    """Per point timed in both modes: per-call times, the raw forward/reverse time ratio,
    the operation ratio, and the forward/reverse ratio normalised by the reference's
    (engine/reference forward ÷ engine/reference reverse), with the baseline's."""
    by_key = {}
    for r in rows:
        by_key.setdefault(r["key"], {})[r["mode"]] = r
    base_modes = {c["key"]: c["modes"] for c in base["checks"]}
    lines = []
    for key, modes in by_key.items():
        if not {"forward", "reverse"} <= set(modes):
            continue
        f, r = modes["forward"], modes["reverse"]
        ops = f["ops_predicted"] / r["ops_predicted"]
        bm = base_modes[key]
        lines.append(f"{f['point']:32}  {1e3 * f['t_engine']:8.3f}  {1e3 * r['t_engine']:8.3f}  "
                     f"{f['t_engine'] / r['t_engine']:8.2f}  {ops:8.2f}  "
                     f"{f['ratio'] / r['ratio']:10.3f}  "
                     f"{bm['forward']['ratio'] / bm['reverse']['ratio']:8.3f}")
    if lines:
        print("\ninformation, not gated: per-call engine times (ms), forward/reverse time and "
              "operation ratios, and fwd/rev normalised by the reference's")
        print(f"{'point':32}  {'fwd ms':>8}  {'rev ms':>8}  {'time':>8}  {'ops':>8}  "
              f"{'normalised':>10}  {'baseline':>8}")
        print("\n".join(lines))


def print_baseline(doc):
    for c in doc["checks"]:
        for mode, e in c["modes"].items():
            print(f"{Point.from_dict(c['point']).label('short'):36} {mode:7} engine/reference "
                  f"{e['ratio']:6.3f}  spread {100 * e['spread']:5.1f}%  tol {100 * e['tol']:4.1f}%"
                  f"  ({_time(e['t_engine_ms'])} vs {_time(e['t_reference_ms'])})")


def _time(ms) -> str:
    return f"{ms:.2f} ms" if ms >= 1 else f"{1e3 * ms:.1f} µs"
