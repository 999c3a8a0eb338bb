"""fwdrev benchmarks: the sweep, the report and the CI ratio gate (timing lives here, not in tests/)."""
