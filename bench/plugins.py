"""Modes from outside the repository: installed packages that declare an entry point in the
`fwdrev.modes` group, and files given with `fwdrev sweep --plugin my_mode.py`.

An entry point names a module or a function: loading it imports the module (which calls
modes.register_mode), and a function it names is called with no arguments (it registers
its modes). A plugin file is imported as a module of its own and registers its modes when
imported. The sweep's timed child loads the same files (their paths travel in the plan),
so a plugin's mode is timed like any other. A plugin that fails to import, or that leaves
a mode without gradient() or jacobian(), is a one-line UsageError naming it.
"""
from __future__ import annotations

import hashlib
import importlib.util
from importlib import metadata
from pathlib import Path

from bench.errors import UsageError

GROUP = "fwdrev.modes"
_LOADED: set = set()
"""The entry points and files loaded in this process (each is loaded once)."""


def load_entry_points() -> list:
    """Load every installed `fwdrev.modes` entry point; their names."""
    names = []
    for ep in metadata.entry_points(group=GROUP):
        if ep.value not in _LOADED:
            _guarded(f"entry point {ep.name} ({ep.value})", lambda ep=ep: _call(ep.load()))
            _LOADED.add(ep.value)
        names.append(ep.name)
    return names


def _call(obj):
    if callable(obj) and not isinstance(obj, type):
        obj()


def load_files(paths) -> list:
    """Import every plugin file (a .py that registers its modes); their absolute paths."""
    out = []
    for text in paths or ():
        path = Path(text).expanduser().absolute()
        if not path.is_file():
            raise UsageError(f"--plugin {text}: no such file")
        if str(path) not in _LOADED:
            _guarded(f"plugin {text}", lambda p=path: _import(p))
            _LOADED.add(str(path))
        out.append(str(path))
    return out


def _import(path: Path):
    name = f"fwdrev_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def _guarded(what: str, load) -> None:
    """load(), with any failure of the plugin's own code one line naming it."""
    try:
        load()
    except Exception as e:  # noqa: BLE001  a plugin's code may raise anything
        text = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"{what} failed to load: {type(e).__name__}: {text}") from None


def load(paths=()) -> list:
    """The entry points, then the files: what a command that runs modes loads first."""
    load_entry_points()
    return load_files(paths)
