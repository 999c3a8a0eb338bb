"""The two gates of `regress`, check by check: the exact gate's problems per counted point
(counts against the baseline and modes.predict), and the timing gate's row per check and
mode (the engine/reference ratio against its band; re-measured once, with twice the
blocks, when not ok). bench.gate.cli runs them and decides the exit status."""
from __future__ import annotations

from bench.gate import measure, stats


def count_gate(checks, base_counts: dict) -> list:
    """Per counted point, {"point", "key", "problems"}: a message for every count that
    differs from the baseline or modes.predict (none when all agree)."""
    out = []
    for c in checks:
        name, problems = c.point.label("short"), []
        try:
            got = measure.exact_counts(c)
        except ValueError as e:  # FwdrevError from an engine: the exact gate cannot pass
            problems.append(f"{name}: engine call failed: {e}")
        else:
            want = measure.predicted_counts(c)
            for mode in c.modes:
                problems += stats.count_mismatches(name, mode, got[mode],
                                                   base_counts[c.point.key()][mode], want[mode])
        out.append({"point": name, "key": c.point.key(), "problems": problems})
    return out


def time_mode(check, mode, b, s, blocks, slow) -> dict:
    """One row: measured, and if not ok re-measured once with twice the blocks (the
    re-measurement's verdict stands; the first is kept in the row as `first`)."""
    row = _measure_row(check, mode, b, s, blocks, slow)
    if row["verdict"] != stats.OK:
        print(f"{row['point']} {mode}: {row['verdict']} at first, ratio {row['ratio']:.3f} "
              f"[{row['lo']:.3f}, {row['hi']:.3f}] vs band [{row['band'][0]:.3f}, "
              f"{row['band'][1]:.3f}]; re-measuring with {2 * blocks} blocks", flush=True)
        first = row
        row = _measure_row(check, mode, b, s, 2 * blocks, slow)
        row["remeasured"] = True
        row["first"] = {k: first[k] for k in ("ratio", "lo", "hi", "verdict", "blocks")}
    return row


def _measure_row(check, mode, b, s, blocks, slow) -> dict:
    m = measure.measure(check, mode, blocks, *slow, seed=s["seed"])
    summ, band, v = stats.decide(m["ratios"], b["ratio"], b["tol"], n_boot=s["n_boot"], seed=s["seed"])
    return {"point": check.point.label("short"), "key": check.point.key(), "mode": mode,
            "baseline": b["ratio"], "tol": b["tol"], "band": list(band), "ratio": summ.median,
            "lo": summ.lo, "hi": summ.hi, "blocks": blocks, "verdict": v,
            "t_engine": m["t_engine"], "t_reference": m["t_reference"], "remeasured": False,
            "small": check.small,
            "ops_predicted": measure.predicted_counts(check)[mode]["total"]}
