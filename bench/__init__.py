"""fwdrev benchmarks (timing lives here, not in tests/), grouped by verb: sweep/ (`fwdrev
sweep`), report/ (`fwdrev report`), gate/ (the CI gate), one module per smaller verb
(compare, merge, listing, remove, overhead, textbook), and what they share (points, store,
rows, meta, model, cmdline, errors). docs/code.md has the map. `from bench import
load_run` reads a run into a DataFrame (bench.notebook)."""


def load_run(run_or_path, results_dir=None):
    """A run as a pandas DataFrame, its meta.json in df.attrs["meta"] (bench.notebook)."""
    from bench.notebook import load_run as load
    return load(run_or_path, results_dir)
