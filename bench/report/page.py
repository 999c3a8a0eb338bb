"""How the report's figures are drawn and written: the look (paper or slide), the file
formats and resolution, the machine in a small footer, log axes with plain-number ticks, and
a record of every series drawn (figures.json: the data behind each figure).

A Page is handed to every figure function with the folder to draw into; `draw` and `dots`
draw a series and record it, `save` writes the figure in every format and files its series
under the figure's name.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

FORMATS = ("png", "svg", "pdf")
LOOKS = {  # figure size (inches) of a one-panel figure, and the font size (pt)
    "paper": {"size": (7.0, 5.6), "font": 10.0},
    "slide": {"size": (12.8, 7.2), "font": 15.0},  # 16:9, fonts ≥ 14 pt
}
MAX_DPI = 1200
LINE_MARKERS = ("x", "+", "1", "2", "3", "4", "|", "_")
"""Markers drawn as lines only (no face): coloured by their line."""
KINDS = ("measured", "noisy", "exact", "approximation", "model", "fit", "reference")


@dataclass
class Page:
    """The drawing settings of one report and what it drew."""

    machine: str = ""
    formats: tuple = ("png",)
    dpi: int = 100
    look: str = "paper"
    figures: dict = field(default_factory=dict)   # stem → {"files": [...], "series": [...]}
    pending: list = field(default_factory=list)   # series drawn since the last save
    hook: object = None                           # fig → None, called before a figure is written

    def __post_init__(self):
        self.font = LOOKS[self.look]["font"]
        self.small = self.font if self.look == "slide" else self.font - 2
        self._rc = None

    # -- figures ---------------------------------------------------------------------------
    def figure(self, rows=1, cols=1, aspect=1.0, tall=1.0):
        """A new figure of rows × cols panels in this look (aspect widens, tall heightens a
        paper figure, for a legend below; a slide is always 16:9)."""
        w, h = LOOKS[self.look]["size"]
        if self.look == "paper":
            w, h = w * aspect * (0.9 * cols if cols > 1 else 1), h * tall * (0.85 * rows if rows > 1 else 1)
        self._restore()
        self._rc = plt.rc_context(self.rc())  # held until save(): the figure's text is made
        self._rc.__enter__()                  # by the figure functions in between
        return plt.subplots(rows, cols, figsize=(w, h), squeeze=False)

    def _restore(self):
        if self._rc is not None:
            self._rc.__exit__(None, None, None)
            self._rc = None

    def legend(self, ax, below=False, **kw):
        """The axes' legend: inside (loc best) or below the axes, out of the data's way."""
        if below:
            return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
                             fontsize=self.small, frameon=False, **kw)
        return ax.legend(**{"fontsize": self.small, **kw})

    def log_log(self, ax, xlabel, ylabel, *, title=None, xticks=None, legend=None, grid=True):
        """Finish a log-log panel: its labels (and title), plain-number ticks (xticks: exactly
        those on x), the major grid, and the legend (legend: page.legend's keywords; None:
        no legend). Call it once the data are drawn: the ticks follow the limits."""
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel,
               **({} if title is None else {"title": title}))
        plain_log(ax, ticks=xticks)
        if grid:
            ax.grid(True, which="major", alpha=0.3)
        if legend is not None:
            self.legend(ax, **legend)

    def rc(self) -> dict:
        f = self.font
        return {"font.size": f, "axes.titlesize": f, "axes.labelsize": f,
                "legend.fontsize": self.small,
                "xtick.labelsize": f - (0 if self.look == "slide" else 1),
                "ytick.labelsize": f - (0 if self.look == "slide" else 1)}

    def save(self, fig, out: Path, stem: str, title: str) -> Path:
        """Title the figure (what is plotted), put the machine in a footer, write it in
        every format into out; return the first file written."""
        try:
            fig.suptitle(title, fontsize=self.font + 1)
            fig.text(0.995, 0.005, self.machine, ha="right", va="bottom",
                     fontsize=max(self.font - 3, 7), color="0.35")
            fig.tight_layout(rect=(0, 0.03, 1, 1))
            if self.hook:
                self.hook(fig, stem)
            files = []
            for ext in self.formats:
                path = Path(out) / f"{stem}.{ext}"
                fig.savefig(path, dpi=self.dpi)
                files.append(path.name)
        finally:
            self._restore()
            plt.close(fig)
        self.figures[stem] = {"title": title, "files": files, "series": self.pending}
        self.pending = []
        return Path(out) / files[0]

    # -- series ----------------------------------------------------------------------------
    def record(self, label, mode, kind, colour, marker, x, y):
        assert kind in KINDS, kind
        self.pending.append({"label": label, "mode": mode, "kind": kind, "colour": colour,
                             "marker": marker, "x": _list(x), "y": _list(y)})

    def dots(self, ax, x, y, *, label, mode, kind="measured", colour, marker="o",
             hollow=False, size=None, shift=1.0, record=True, **kw):
        """A scatter series: filled, or hollow (drawn above filled ones); drawn at x × shift
        (a dodge on a log axis), recorded at x."""
        s = (size or 6.0) ** 2 * (1.6 if self.look == "slide" else 1.0)
        paint = ({"c": colour, "linewidths": 1.8} if marker in LINE_MARKERS else
                 {"facecolors": "none" if hollow else colour, "edgecolors": colour,
                  "linewidths": 1.4 if hollow else 0.6})
        ax.scatter(np.asarray(x, dtype=float) * shift, y, s=s, marker=marker,
                   zorder=4 if hollow or marker in LINE_MARKERS else 3, label=label, **paint, **kw)
        if record:
            self.record(label, mode, kind, colour, marker, x, y)

    def draw(self, ax, x, y, *, label, mode, kind, colour, linestyle="-", marker=None,
             lw=1.6, record=True, **kw):
        """A line series (with markers when marker is given)."""
        ax.plot(x, y, linestyle=linestyle, marker=marker, color=colour, lw=lw, label=label,
                markersize=6 if marker else None, **kw)
        if record:
            self.record(label, mode, kind, colour, marker, x, y)


def _list(v):
    out = []
    for u in np.asarray(v, dtype=float).ravel().tolist():
        out.append(None if not math.isfinite(u) else u)
    return out


def plain_log(ax, axis="both", ticks=None):
    """A log axis labelled in plain numbers (16, 64, 256; 0.001): no 2×10¹ minor labels;
    with ticks, exactly those values."""
    for which in ("x", "y") if axis == "both" else (axis,):
        a = ax.xaxis if which == "x" else ax.yaxis
        if (ax.get_xscale() if which == "x" else ax.get_yscale()) != "log":
            continue
        a.set_minor_formatter(NullFormatter())
        if ticks is not None and which == "x":
            vals = sorted({float(v) for v in ticks if v > 0})
            a.set_major_locator(matplotlib.ticker.FixedLocator(vals))
            a.set_minor_locator(matplotlib.ticker.NullLocator())
            if len(vals) > 6:
                ax.tick_params(axis="x", labelrotation=45)
        else:
            a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if _decades(ax, which) < 3 else (1.0,)))
        a.set_major_formatter(FuncFormatter(lambda v, _: plain(v)))


def _decades(ax, which):
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    return math.log10(max(hi, 1e-300) / max(lo, 1e-300)) if lo > 0 else 99


def plain(v) -> str:
    """A tick value as a plain number: 16, 256, 0.5, 0.002, 1e-06 only below a micro."""
    if v == 0 or not math.isfinite(v):
        return "0"
    if abs(v) >= 1 and float(v).is_integer():
        return f"{int(v):d}"
    if abs(v) >= 1e-5:
        return f"{v:.6f}".rstrip("0").rstrip(".")
    return f"{v:.0e}"


def write_figures_json(page: Page, out: Path) -> Path:
    """plots/<run>/figures.json: per figure its files and its series."""
    from bench.store import atomic_write
    path = Path(out) / "figures.json"
    atomic_write(path, json.dumps({"figures": page.figures}, indent=1, allow_nan=False) + "\n")
    return path


def invisible(fig, min_pixels=4, step=64) -> list:
    """The legend labels of the series in fig that change fewer than min_pixels pixels when
    hidden by more than `step` of 255 in a channel (antialiased edges blending over each
    other change a little): drawn, but covered or outside the axes (rendered at a low resolution: a series
    hidden there is hidden at any)."""
    dpi, shown = fig.dpi, [ax.get_visible() for ax in fig.axes]
    fig.set_dpi(min(dpi, 72))
    hidden = []
    for ax in fig.axes:  # one panel at a time (the others hidden): a quarter of the drawing
        if not ax.get_visible():
            continue
        for other in fig.axes:
            other.set_visible(other is ax)
        fig.canvas.draw()
        base = np.asarray(fig.canvas.buffer_rgba()).astype(int)
        for art in list(ax.collections) + list(ax.lines):
            label = art.get_label()
            if not label or label.startswith("_") or not art.get_visible():
                continue
            art.set_visible(False)
            fig.canvas.draw()
            now = np.asarray(fig.canvas.buffer_rgba()).astype(int)
            art.set_visible(True)
            if (np.abs(now - base).max(axis=-1) > step).sum() < min_pixels:
                hidden.append(label)
    for ax, v in zip(fig.axes, shown):
        ax.set_visible(v)
    fig.set_dpi(dpi)
    return hidden
