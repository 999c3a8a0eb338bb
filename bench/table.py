"""Points as text, each named by Point.label: the line a sweep prints when a point is
finished, and the compact per-point table `fwdrev report` prints (point, mode, median,
IQR, and the forward/reverse time ratio).

Rows are points.csv's rows (dicts of strings) or plan cases' point dicts: every value is
read through str, so both work."""
from __future__ import annotations

from modes import MODES

from bench.axes import CONFIG_AXES, LAYER_AXES, SIZE_AXES
from bench.points import Point


def _ms(text) -> str:
    """A time in seconds (text) as milliseconds, or '-' when there is none."""
    try:
        return f"{1e3 * float(text):.4g}"
    except (TypeError, ValueError):
        return "-"


def fwd_rev(rows):
    """forward's median time over reverse's for one point's rows, or None."""
    t = {r["mode"]: r.get("time_median_s") for r in rows if r.get("status") == "ok"}
    try:
        return float(t["forward"]) / float(t["reverse"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _by_mode(rows) -> list:
    """One point's rows in MODES order."""
    order = {m: n for n, m in enumerate(MODES)}
    return sorted(rows, key=lambda r: order.get(r["mode"], len(order)))


def _result(r) -> str:
    """A row's median in ms, or its status when it was not timed."""
    return f"{_ms(r['time_median_s'])} ms" if r.get("status") == "ok" else r.get("status", "?")


def point_line(rows) -> str:
    """The line a sweep prints when a point is finished: the point, each mode's median
    time (or its status), and forward/reverse when both were timed."""
    rows = _by_mode(rows)
    parts = [Point.of_row(rows[0]).label()] + [f"{r['mode']} {_result(r)}" for r in rows]
    ratio = fwd_rev(rows)
    if ratio is not None:
        parts.append(f"fwd/rev {ratio:.3g}")
    return "  ".join(parts)


def _sort_key(row):
    """Points in a stable, readable order: configuration, target, then sizes numerically."""
    num = tuple(int(row[a]) if str(row[a]).isdigit() else 0 for a in SIZE_AXES)
    return (tuple(str(row.get(c) or "") for c in CONFIG_AXES), row["target"], num,
            tuple(str(row.get(a) or "") for a in LAYER_AXES))


def point_table(rows) -> str:
    """`fwdrev report`'s per-point table: point, mode, median ms, IQR ms, forward/reverse
    time ratio (on each row of a point where both were timed); a row that was not timed
    shows its status."""
    groups = {}
    for r in sorted(rows, key=_sort_key):
        groups.setdefault(r["point_key"], []).append(r)
    width = max([len(Point.of_row(g[0]).label()) for g in groups.values()] + [5])
    out = [f"{'point':{width}}  {'mode':9} {'median ms':>10} {'IQR ms':>9} {'fwd/rev':>8}"]
    for g in groups.values():
        ratio = fwd_rev(g)
        for r in _by_mode(g):
            ok = r.get("status") == "ok"
            med = _ms(r["time_median_s"]) if ok else r.get("status", "?")
            out.append(f"{Point.of_row(r).label():{width}}  {r['mode']:9} {med:>10} "
                       f"{_ms(r.get('time_iqr_s')) if ok else '':>9} "
                       f"{'' if ratio is None else f'{ratio:.3g}':>8}")
    return "\n".join(out)
