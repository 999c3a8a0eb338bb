# Every target depends on the virtual environment, so `make test` alone sets up a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install install-jax test textbook bench sweep report regress baseline bench-compare clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The optional JAX peers (jax-rev, jax-fwd): about 600 MB with what it needs.
install-jax: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[test,jax]'

test: $(STAMP)
	$(PY) -m pytest -q

textbook: $(STAMP)
	$(PY) -m modes textbook

clean:
	rm -rf $(VENV) .pytest_cache

# The main job: the default preset, then the report (plots/latest/REPORT.md).
bench: $(STAMP)
	$(PY) -m bench sweep --preset default
	$(PY) -m bench report

sweep: $(STAMP)
	$(PY) -m bench sweep $(ARGS)

report: $(STAMP)
	$(PY) -m bench report $(ARGS)

# CI gate: each engine against the same products written directly, and exact counts (results/baseline.json).
regress: $(STAMP)
	$(PY) -m bench regress $(ARGS)

# Re-record the gate's baseline on purpose: nothing else writes results/baseline.json.
baseline: $(STAMP)
	$(PY) -m bench baseline $(ARGS)

# pytest-benchmark's own absolute-time comparison, as information (not the gate).
bench-compare: $(STAMP)
	$(PY) -m pytest bench/ --benchmark-only --benchmark-warmup=on --benchmark-autosave --benchmark-compare $(ARGS)
