"""fwdrev compare A B: two runs side by side, point by point (asv compare, pyperf compare_to).

    fwdrev compare before after                      # the same grid, before/after a change
    fwdrev compare cpu-run gpu-run --by device       # pair CPU and GPU rows
    fwdrev compare numpy-run torch-run --by backend
    fwdrev compare gpu:exec=eager gpu:exec=graph     # two slices of one run: graph replays
    fwdrev compare run:threads=1 run:threads=2       #   against eager calls, 1 thread against 2

    fwdrev compare main pr --fail-above 1.2          # CI: exit 1 when a pair got slower

Rows pair up on (target, L, m, d, K, waist, mode) and on every configuration column
(backend, device, exec, dtype, threads) not named by --by; without --by, a configuration
column with one value in each run, a different one, is left out of the pairing by itself.
A column left out is shown in every row as A's value→B's value, so no two rows read alike.
Per pair: both medians, B's median time over A's and B's quickest round over A's, the
two-sided Mann-Whitney p of both runs' raw per-round times (bench.rounds), the verdict —
slower, faster or no change, as asv: both ratios beyond --factor and p < --alpha, with at
least 5 rounds a side (bench.verdicts) — each run's forward/reverse time
ratio, and any difference in counted operations (there must be none for the same point:
counts do not depend on the machine). Changed pairs come first (--sort), a summary line
counts each verdict, and the first line says when the runs' meta.json fingerprints
differ: their ratios then compare machines, not code. A run named
RUN:column=value[,column=value] is only its rows with those values of configuration
columns (or target). A figure of the time ratios against the predicted operations goes to
plots/compare-<A>-<B>.png.

Exit status: 0, or 1 with --fail-above F when a pair is more than F times slower and the
difference is significant; 2 on a usage error (nothing is written); 3 for a damaged run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from bench import axes, cmdline as cli
from bench import verdicts as vd
from bench.errors import UsageError
from bench.pairing import SORTS, counted, judge, name, ordered, pair, records
from bench.rows import CONFIG

SELECTABLE = axes.POINT_FIELDS

class SelectionError(UsageError):
    """A RUN:column=value that names no column, or no rows."""


def selection(name: str):
    """(run name, {column: value}) of `RUN[:column=value,…]`; SelectionError when a part is
    not column=value of a configuration column or target."""
    run, _, sel = name.partition(":")
    filters = {}
    for part in filter(None, sel.split(",")):
        col, eq, value = part.partition("=")
        if not eq or col not in SELECTABLE:
            raise SelectionError(f"bad selection {part!r} in {name!r}: use RUN:column=value with a "
                                 f"column among {', '.join(SELECTABLE)}")
        filters[col] = value
    return run, filters


def select(df, filters: dict, name: str):
    """The rows of df whose columns have the selection's values; SelectionError when none do."""
    for col, value in filters.items():
        df = df[df[col].astype(str) == value]
    if filters and df.empty:
        raise SelectionError(f"{name}: no rows with {', '.join(f'{k}={v}' for k, v in filters.items())}")
    return df


def fwd_rev(df, key):
    """{key without mode: t_forward / t_reverse} for one run's paired rows."""
    rest = [k for k in key if k != "mode"]
    out = {}
    for vals, g in df.groupby(rest):
        t = dict(zip(g["mode"], g["time"]))
        if "forward" in t and "reverse" in t:
            out[vals if isinstance(vals, tuple) else (vals,)] = t["forward"] / t["reverse"]
    return out


MARK = {vd.SLOWER: "+", vd.FASTER: "-", vd.SAME: " "}


def table(both, key, sort="verdict", only_changed=False) -> list:
    """Printable lines, one per pair (changed pairs first by default); a pair marked + got
    slower, - faster, ! fails --fail-above."""
    rest = [k for k in key if k != "mode"]
    free = both.attrs.get("free", [])
    fr = {s: fwd_rev(both.rename(columns={f"time_median_s_{s}": "time"}), key) for s in "ab"}
    rows = ordered(both, key, sort)
    if only_changed:
        rows = rows[rows.verdict != vd.SAME]
    width = max([44] + [len(name(r, key, free)) for _, r in rows.iterrows()])
    lines = [f"  {'point':{width}} {'mode':8} {'A ms':>10} {'B ms':>10} {'B/A':>7} {'min B/A':>7} {'p':>8} "
             f"{'verdict':9} {'A f/r':>7} {'B f/r':>7}  counts"]
    for _, r in rows.iterrows():
        k = tuple(r[c] for c in rest)
        diff = "–" if not counted(r) else "same" if r.ops_total_a == r.ops_total_b \
            else f"DIFFER {r.ops_total_a:.0f} vs {r.ops_total_b:.0f}"
        mark = "!" if r.fails else MARK[r.verdict]
        p = f"{r.p:8.1e}" if r.p == r.p else f"{'-':>8}"
        lines.append(f"{mark} {name(r, key, free):{width}} {r['mode']:8} {_ms(r.time_median_s_a)} "
                     f"{_ms(r.time_median_s_b)} {r.ratio:7.3f} {_num(r.quickest, 3)} {p} {r.verdict:9} "
                     f"{_num(fr['a'].get(k))} {_num(fr['b'].get(k))}  {diff}")
    return lines


def _ms(v, w=10):
    return f"{1e3 * v:{w}.3f}" if v == v else f"{'-':>{w}}"


def _num(v, digits=2):
    return f"{v:7.{digits}f}" if v is not None and v == v else f"{'-':>7}"


def figure(both, out: Path, label_a, label_b):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bench.style import style_for
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


def _above_one(option):
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} wants a number > 1, got {text!r}") from None
        if not (math.isfinite(v) and v > 1):
            raise argparse.ArgumentTypeError(f"{option} wants a number > 1, got {text!r}")
        return v
    return parse


def _alpha(text):
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"--alpha wants a number in (0, 1), got {text!r}")
    return v


def parser(command="compare"):
    ap = cli.Parser(prog=cli.prog(command), description=__doc__.split("\n\n")[0],
                    epilog=__doc__.split("\n\n", 1)[1],
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the first run: a run id under --results-dir, 'latest', or a path; "
                    "RUN:column=value[,…] keeps its rows with those values (e.g. run:exec=graph)")
    ap.add_argument("b", help="the second run, likewise")
    ap.add_argument("--by", action="append", default=[], choices=CONFIG + ("mode",),
                    help="a column the runs differ in, left out of the pairing (repeatable); "
                         "default: every configuration column whose values differ")
    ap.add_argument("--factor", type=_above_one("--factor"), default=vd.FACTOR, metavar="F",
                    help="a pair changed when B/A is beyond F (or 1/F) and significant "
                         "(default %(default)s)")
    ap.add_argument("--alpha", type=_alpha, default=vd.ALPHA,
                    help="significance level of the test (default %(default)s)")
    ap.add_argument("--fail-above", type=_above_one("--fail-above"), metavar="F",
                    help="exit 1 when a pair is more than F times slower, significantly")
    ap.add_argument("--only-changed", action="store_true", help="print only changed pairs")
    ap.add_argument("--sort", choices=SORTS, default="verdict",
                    help="order of the pairs (default %(default)s: slower first, then faster)")
    ap.add_argument("--show-unpaired", action="store_true",
                    help="list each unpaired point, one a line (default: their count)")
    ap.add_argument("--json", metavar="PATH", help="write every pair as JSON")
    ap.add_argument("--csv", metavar="PATH", help="write every pair as CSV")
    ap.add_argument("--results-dir", default=os.environ.get("FWDREV_RESULTS_DIR", "results"),
                    help="where runs live (default: $FWDREV_RESULTS_DIR, else ./results)")
    ap.add_argument("--plots-dir", default=os.environ.get("FWDREV_PLOTS_DIR", "plots"),
                    help="where the figure goes (default: $FWDREV_PLOTS_DIR, else ./plots)")
    return ap


def run_command(argv, command="compare") -> int:
    from bench import meta, rounds, store
    from bench import frame
    args = parser(command).parse_args(argv)
    for option in ("json", "csv"):
        if getattr(args, option):
            cli.check_file(f"--{option}", getattr(args, option))
    sel = [selection(n) for n in (args.a, args.b)]
    runs = [store.resolve_run(Path(args.results_dir), n) for n, _ in sel]
    for (run, _), d in zip(sel, runs):
        if not (d / "points.csv").is_file():
            raise UsageError(f"no run {run!r} (looked for {d / 'points.csv'})")
    loaded = {d: frame.load(d) for d in dict.fromkeys(runs)}  # one run, two slices: read once
    raw = {d: rounds.load(d) for d in dict.fromkeys(runs)}
    a, b = (select(loaded[d], f, n) for d, (_, f), n in zip(runs, sel, (args.a, args.b)))
    by = tuple(args.by)
    if "mode" in by:  # forward against reverse: pair A's forward rows with B's reverse rows
        a = a[a["mode"] == "forward"].assign(row_mode="forward", mode="*")
        b = b[b["mode"] == "reverse"].assign(row_mode="reverse", mode="*")
    both, key, only_a, only_b = pair(a, b, by)
    judge(both, raw[runs[0]], raw[runs[1]], args.factor, args.alpha, args.fail_above)
    fps = [(store.read_json(d / "meta.json") or {}).get("fingerprint") for d in runs]
    if fps[0] and fps[1] and fps[0] != fps[1]:
        diff = meta.fingerprint_diff(fps[0], fps[1])
        if diff:
            print("note: A and B ran on different machines or software (" + "; ".join(diff[:4])
                  + (" …" if len(diff) > 4 else "") + "): their time ratios compare machines, not code")
    labels = [_label(d, f) for d, (_, f) in zip(runs, sel)]
    print(f"A = {runs[0]}{_where(sel[0][1])}  ({len(a)} rows)\nB = {runs[1]}{_where(sel[1][1])}  ({len(b)} rows)\n"
          f"paired on {', '.join(key)}: {len(both)} pair(s)")
    if len(both):
        print("\n".join(table(both, key, args.sort, args.only_changed)))
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
    _unpaired(only_a, only_b, args.show_unpaired)
    print(f"verdicts: {vd.summary(both.verdict if len(both) else [])}; changed: beyond x{args.factor:g} "
          f"and p < {args.alpha:g}")
    _write(args, records(both, key) if len(both) else [])
    failing = int(both.fails.sum()) if len(both) else 0
    if args.fail_above is not None:
        print(f"FAIL: {failing} pair(s) more than {args.fail_above:g}x slower, significantly"
              if failing else f"PASS: no pair more than {args.fail_above:g}x slower, significantly")
    return 1 if failing else 0


def _unpaired(only_a, only_b, show):
    for label, rest in (("only in A", only_a), ("only in B", only_b)):
        if not len(rest):
            continue
        if not show:
            print(f"{label}: {len(rest)} point(s) (--show-unpaired lists them)")
            continue
        print(f"{label}: {len(rest)} point(s):")
        for _, r in rest.iterrows():
            print("  " + " ".join(f"{k.removesuffix('_a').removesuffix('_b')}={v}"
                                  for k, v in r.items()))


def _write(args, recs):
    from bench import store
    if args.json:
        store.atomic_write(Path(args.json), json.dumps(recs, indent=1) + "\n")
    if args.csv:
        import csv
        import io
        buf = io.StringIO()
        cols = list(dict.fromkeys(k for r in recs for k in r)) or ["point"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
        store.atomic_write(Path(args.csv), buf.getvalue())


def _where(filters) -> str:
    return f" where {', '.join(f'{k}={v}' for k, v in filters.items())}" if filters else ""


def _label(run_dir, filters) -> str:
    """A run's name in file names and the figure: its id, and its selection's values."""
    return "-".join([run_dir.name, *(str(v) for v in filters.values())])


if __name__ == "__main__":
    sys.exit(main())
