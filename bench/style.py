"""One look per mode, for every figure the project draws: style_for(mode) → Style(colour,
marker, linestyle). A mode keeps its colour in every figure; a variant of it (a CUDA graph's
replays, another dtype, more threads) changes the fill or the line style, never the colour.

The table: a built-in row for every mode the project registers; a mode that registers a
`style` trait of its own (an object or a dict with colour, marker, linestyle) gets that; any
other mode a deterministic look chosen from its name (the same in every figure and run).
"""
from __future__ import annotations

import zlib
from typing import NamedTuple


class Style(NamedTuple):
    colour: str
    marker: str
    linestyle: str = "-"
    hollow: bool = True  # drawn hollow, above the filled markers of forward and reverse


STYLES = {
    "forward": Style("#1f77b4", "o", "-", False),      # blue circles, filled
    "reverse": Style("#ff7f0e", "s", "-", False),      # orange squares, filled
    "cheapest": Style("#2ca02c", "D", "--"),    # green diamonds
    "autograd": Style("#d62728", "v", "-."),    # red down-triangles
    "func-rev": Style("#9467bd", "^", "-."),    # purple up-triangles
    "func-fwd": Style("#8c564b", "<", ":"),     # brown left-triangles
    "jax-rev": Style("#e377c2", "P", "-."),     # pink plus (filled)
    "jax-fwd": Style("#7f7f7f", "X", ":"),      # grey cross (filled)
    "hand": Style("#17becf", "*", "--"),        # cyan stars
    "torch-compile": Style("#bcbd22", "d", "-."),  # olive thin diamonds
}
"""The built-in rows: the registered modes, distinct in colour and in marker shape."""

FALLBACK_COLOURS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                    "#3182bd", "#e6550d", "#31a354", "#756bb1")
FALLBACK_MARKERS = ("h", "p", "8", "d", ">", "H")
VARIANT_LINES = ("--", ":", "-.", (0, (5, 1, 1, 1)))
"""Line styles a variant (exec, dtype, threads) takes in turn, after its mode's own."""


def style_for(mode: str) -> Style:
    """The mode's colour, marker and line style (see the module's docstring)."""
    own = _registered(mode)
    if own is not None:
        return own
    if mode in STYLES:
        return STYLES[mode]
    h = zlib.crc32(str(mode).encode())
    return Style(FALLBACK_COLOURS[h % len(FALLBACK_COLOURS)],
                 FALLBACK_MARKERS[(h // 7) % len(FALLBACK_MARKERS)], "-")


def colour(mode: str) -> str:
    return style_for(mode).colour


def _registered(mode):
    """The `style` trait the mode's registration carries (modes.registry), or None: a dict
    with colour (or color), marker and linestyle, or such a tuple."""
    from modes import traits
    s = traits(mode).style
    if isinstance(s, dict):
        s = (s.get("colour") or s.get("color"), s.get("marker"), s.get("linestyle"))
    if isinstance(s, (tuple, list)) and s and isinstance(s[0], str):
        base = STYLES.get(mode, Style("#000000", "o"))
        return Style(*(v or d for v, d in zip(tuple(s) + (None,) * 4, base)))
    return None


def variant_line(mode: str, n: int):
    """The line style of a mode's n-th variant (0: the mode's own)."""
    return style_for(mode).linestyle if n == 0 else VARIANT_LINES[(n - 1) % len(VARIANT_LINES)]
