"""fwdrev benchmarks (timing lives here, not in tests/), grouped by verb: sweep/ (`fwdrev
sweep`), report/ (`fwdrev report`), gate/ (the CI gate), one module per smaller verb
(compare, merge, listing, overhead, textbook), and what they share (points, store, rows,
meta, model, cmdline, errors). README.md's "Benchmarks" section has the table."""
