"""The slide table: forward and reverse side by side on each headline line (figure 2's
panels), at the line's largest point timed cleanly in both modes — exact operations, their
ratio, median times with units, the time ratio and the calibrated model's times — as
Markdown, CSV or LaTeX (`fwdrev report --table --format md|csv|latex`)."""
from __future__ import annotations

import csv
import io

from bench.report import analysis

FORMATS = ("md", "csv", "latex")
HEADER = ("configuration", "line", "point", "forward ops", "reverse ops", "op ratio",
          "forward time", "reverse time", "time ratio", "model forward", "model reverse")


def rows(lines, target="gradient") -> list:
    """One tuple of HEADER's values per headline line (analysis.fit_lines' lines)."""
    out = []
    for config in sorted({ln.config for ln in lines}):
        for line in analysis.headline(lines, config, target):
            pt = _largest_clean(line)
            if pt is None:
                continue
            f, r = pt
            name = f"L = {int(f.L)}, m = {int(f.m)}, d = {int(f.d)}, K = {int(f.K)}"
            out.append((config, line.label, name, _int(f.ops_predicted), _int(r.ops_predicted),
                        _ratio(f.ops_predicted / r.ops_predicted),
                        seconds(f.time_median_s), seconds(r.time_median_s),
                        _ratio(f.time_median_s / r.time_median_s),
                        seconds(f.time_model_s), seconds(r.time_model_s)))
    return out


def _largest_clean(line):
    """(forward row, reverse row) at the line's largest size where both are ok, timed and
    not noisy; None where there is none."""
    r = line.rows
    for x in sorted(r[line.axis].unique(), reverse=True):
        at = r[(r[line.axis] == x) & (r.status == "ok") & (r.time_median_s > 0)]
        if "noisy" in at:
            at = at[~at.noisy]
        f, b = at[at["mode"] == "forward"], at[at["mode"] == "reverse"]
        if len(f) and len(b):
            return f.iloc[0], b.iloc[0]
    return None


def seconds(v) -> str:
    """A time with its unit: 812 ns, 38.2 µs, 4.51 ms, 1.20 s; – where there is none."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "–"
    if not v > 0:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v / 1e-9:.3g} ns"


def _int(v) -> str:
    return "–" if v != v else f"{int(v):,}"


def _ratio(v) -> str:
    return "–" if v != v else f"{v:.3g}"


def render(table, fmt="md") -> str:
    """The table as Markdown, CSV or LaTeX."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows([[c.replace(",", "") if n in (3, 4) else c for n, c in enumerate(r)]
                     for r in table])
        return buf.getvalue().rstrip("\n")
    if fmt == "latex":
        esc = lambda s: (s.replace("\\", "\\textbackslash{}").replace("&", "\\&")  # noqa: E731
                         .replace("%", "\\%").replace("_", "\\_").replace("µ", "$\\mu$")
                         .replace("×", "$\\times$"))
        body = [" & ".join(esc(c) for c in HEADER) + " \\\\", "\\hline"]
        body += [" & ".join(esc(c) for c in r) + " \\\\" for r in table]
        return "\n".join(["\\begin{tabular}{lll" + "r" * (len(HEADER) - 3) + "}", "\\hline",
                          *body, "\\hline", "\\end{tabular}"])
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---|" + "---:|" * (len(HEADER) - 3)]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(lines)
