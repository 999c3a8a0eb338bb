"""fwdrev compare A B: two runs side by side, point by point (asv compare, pyperf compare_to).

    fwdrev compare before after                      # the same grid, before/after a change
    fwdrev compare cpu-run gpu-run --by device       # pair CPU and GPU rows
    fwdrev compare numpy-run torch-run --by backend
    fwdrev compare gpu:exec=eager gpu:exec=graph     # two slices of one run: graph replays
    fwdrev compare run:threads=1 run:threads=2       #   against eager calls, 1 thread against 2

Rows pair up on (target, L, m, d, K, waist, mode) and on every configuration column
(backend, device, exec, dtype, threads) not named by --by; without --by, a configuration
column with one value in each run, a different one, is left out of the pairing by itself.
Per pair: B's median time over A's, both medians and IQRs, each run's forward/reverse time
ratio at that point, and any difference in counted operations (there must be none for the
same point: counts do not depend on the machine). Unpaired points are listed. A run named
RUN:column=value[,column=value] is only its rows with those values of configuration
columns (or target). A figure of the time ratios against the predicted operations goes to
plots/compare-<A>-<B>.png.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import cmdline as cli
from bench.errors import UsageError
from bench.rows import CONFIG

SHAPE = ("target", "L", "m", "d", "K", "waist", "mode")


class SelectionError(UsageError):
    """A RUN:column=value that names no column, or no rows."""


def selection(name: str):
    """(run name, {column: value}) of `RUN[:column=value,…]`; SelectionError when a part is
    not column=value of a configuration column or target."""
    run, _, sel = name.partition(":")
    filters = {}
    for part in filter(None, sel.split(",")):
        col, eq, value = part.partition("=")
        if not eq or col not in CONFIG + ("target",):
            raise SelectionError(f"bad selection {part!r} in {name!r}: use RUN:column=value with a "
                             f"column among {', '.join(CONFIG + ('target',))}")
        filters[col] = value
    return run, filters


def select(df, filters: dict, name: str):
    """The rows of df whose columns have the selection's values; SelectionError when none do."""
    for col, value in filters.items():
        df = df[df[col].astype(str) == value]
    if filters and df.empty:
        raise SelectionError(f"{name}: no rows with {', '.join(f'{k}={v}' for k, v in filters.items())}")
    return df


def pair(a, b, by=()):
    """(merged DataFrame of paired ok rows, key columns, A-only keys, B-only keys)."""
    import pandas as pd
    a, b = a[a.status == "ok"], b[b.status == "ok"]
    config = [c for c in CONFIG if c not in by and not _one_value_each(a[c], b[c])]
    key = list(SHAPE) + config
    cols = key + ["time_median_s", "time_iqr_s", "ops_total"]
    m = pd.merge(a[cols], b[cols], on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    only_a = m[m._merge == "left_only"][key]
    only_b = m[m._merge == "right_only"][key]
    both = m[m._merge == "both"].drop(columns="_merge").copy()
    both["ratio"] = both.time_median_s_b / both.time_median_s_a
    return both, key, only_a, only_b


def _one_value_each(a, b) -> bool:
    """Whether each side has a single value of a column, and they differ (a CPU run against a
    GPU run): the column is then left out of the pairing. A side with several values keeps
    it, so that a torch row is never paired with a numpy one because B has numpy only."""
    va, vb = set(a), set(b)
    return len(va) == 1 and len(vb) == 1 and va != vb


def counted(r) -> bool:
    """Whether both rows of a pair carry counts (a peer's are empty)."""
    return r.ops_total_a == r.ops_total_a and r.ops_total_b == r.ops_total_b


def fwd_rev(df, key):
    """{key without mode: t_forward / t_reverse} for one run's paired rows."""
    rest = [k for k in key if k != "mode"]
    out = {}
    for vals, g in df.groupby(rest):
        t = dict(zip(g["mode"], g["time"]))
        if "forward" in t and "reverse" in t:
            out[vals if isinstance(vals, tuple) else (vals,)] = t["forward"] / t["reverse"]
    return out


def table(both, key) -> list:
    """Printable lines, one per pair, sorted by shape."""
    rest = [k for k in key if k != "mode"]
    fr = {s: fwd_rev(both.rename(columns={f"time_median_s_{s}": "time"}), key) for s in "ab"}
    lines = [f"{'point':44} {'mode':8} {'A ms':>10} {'A IQR ms':>9} {'B ms':>10} {'B IQR ms':>9} "
             f"{'B/A':>7} {'A f/r':>7} {'B f/r':>7}  counts"]
    for _, r in both.sort_values(key).iterrows():
        k = tuple(r[c] for c in rest)
        conf = "/".join(str(r[c]) for c in CONFIG if c in rest)
        name = f"{r.target} L{r.L} m{r.m} d{r.d} K{r.K}" + (f" {conf}" if conf else "")
        diff = "–" if not counted(r) else "same" if r.ops_total_a == r.ops_total_b \
            else f"DIFFER {r.ops_total_a:.0f} vs {r.ops_total_b:.0f}"
        fa, fb = fr["a"].get(k), fr["b"].get(k)
        lines.append(f"{name:44} {r['mode']:8} {_ms(r.time_median_s_a)} "
                     f"{_ms(r.time_iqr_s_a, 9)} {_ms(r.time_median_s_b)} {_ms(r.time_iqr_s_b, 9)} "
                     f"{r.ratio:7.3f} {_num(fa)} {_num(fb)}  {diff}")
    return lines


def _ms(v, w=10):
    return f"{1e3 * v:{w}.3f}" if v == v else f"{'-':>{w}}"


def _num(v):
    return f"{v:7.2f}" if v is not None else f"{'-':>7}"


def figure(both, out: Path, label_a, label_b):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bench.report.style import style_for
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, g in both[both.apply(counted, axis=1)].groupby("mode"):  # peers: no x to plot at
        st = style_for(mode)
        ax.scatter(g.ops_total_a.clip(lower=1), g.ratio, s=18, label=mode, color=st.colour,
                   marker=st.marker)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="counted operations of the point (peers: table only)",
           ylabel=f"time {label_b} / time {label_a}", title=f"{label_b} against {label_a}")
    ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None, command="compare") -> int:
    """Entry point of `fwdrev compare`; returns the exit status (bench.cmdline)."""
    return cli.entry(command, "bench.compare", argv)


def run_command(argv, command="compare") -> int:
    from bench import store
    from bench.report import analysis
    ap = argparse.ArgumentParser(prog=cli.prog(command), description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the first run: a run id under --results-dir, 'latest', or a path; "
                    "RUN:column=value[,…] keeps its rows with those values (e.g. run:exec=graph)")
    ap.add_argument("b", help="the second run, likewise")
    ap.add_argument("--by", action="append", default=[], choices=CONFIG + ("mode",),
                    help="a column the runs differ in, left out of the pairing (repeatable); "
                         "default: every configuration column whose values differ")
    ap.add_argument("--results-dir", default="results", help="where runs live (default %(default)s)")
    ap.add_argument("--plots-dir", default="plots", help="where the figure goes (default %(default)s)")
    args = ap.parse_args(argv)
    sel = [selection(n) for n in (args.a, args.b)]
    runs = [store.resolve_run(Path(args.results_dir), n) for n, _ in sel]
    for (name, _), d in zip(sel, runs):
        if not (d / "points.csv").is_file():
            raise UsageError(f"no run {name!r} (looked for {d / 'points.csv'})")
    loaded = {d: analysis.load(d) for d in dict.fromkeys(runs)}  # one run, two slices: read once
    a, b = (select(loaded[d], f, n) for d, (_, f), n in zip(runs, sel, (args.a, args.b)))
    by = tuple(args.by)
    if "mode" in by:  # forward against reverse: pair A's forward rows with B's reverse rows
        a, b = a[a["mode"] == "forward"].assign(mode="*"), b[b["mode"] == "reverse"].assign(mode="*")
    both, key, only_a, only_b = pair(a, b, by)
    labels = [_label(d, f) for d, (_, f) in zip(runs, sel)]
    print(f"A = {runs[0]}{_where(sel[0][1])}  ({len(a)} rows)\nB = {runs[1]}{_where(sel[1][1])}  ({len(b)} rows)\n"
          f"paired on {', '.join(key)}: {len(both)} pair(s)")
    if len(both):
        print("\n".join(table(both, key)))
        q = both.ratio.quantile([0.1, 0.5, 0.9])
        print(f"B/A time: median {q[0.5]:.3f} (10%: {q[0.1]:.3f}, 90%: {q[0.9]:.3f})")
        c = both[both.apply(counted, axis=1)]
        differ = int((c.ops_total_a != c.ops_total_b).sum())
        print(f"counted operations: {'all equal' if not differ else f'{differ} pair(s) DIFFER'} "
              f"({len(c)} counted pair(s); peers do not count)")
        out = Path(args.plots_dir) / f"compare-{labels[0]}-{labels[1]}.png"
        try:
            figure(both, out, labels[0], labels[1])
            print(f"figure: {out}")
        except OSError as e:
            print(f"warning: no figure ({e})", file=sys.stderr)
    for label, rest in (("only in A", only_a), ("only in B", only_b)):
        if len(rest):
            print(f"{label}: {len(rest)} point(s): " + "; ".join(
                " ".join(f"{k}={v}" for k, v in r.items()) for _, r in rest.head(20).iterrows())
                + (" …" if len(rest) > 20 else ""))
    return 0


def _where(filters) -> str:
    return f" where {', '.join(f'{k}={v}' for k, v in filters.items())}" if filters else ""


def _label(run_dir, filters) -> str:
    """A run's name in file names and the figure: its id, and its selection's values."""
    return "-".join([run_dir.name, *(str(v) for v in filters.values())])


if __name__ == "__main__":
    sys.exit(main())
