# Every target depends on the virtual environment, so `make test` alone sets up a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install install-jax test textbook bench sweep report regress baseline clean

## set up .venv with the tested versions (constraints.txt), fwdrev editable
install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The optional JAX peers (jax-rev, jax-fwd): about 600 MB with what it needs.
## add the optional JAX peers (jax-rev, jax-fwd)
install-jax: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[test,jax]'

## the test suite
test: $(STAMP)
	$(PY) -m pytest -q

## reproduce the textbook's worked example; exit 1 on any difference
textbook: $(STAMP)
	$(PY) -m modes textbook

## remove .venv and pytest's cache
clean:
	rm -rf $(VENV) .pytest_cache

# The main job: the default preset, then the report (plots/latest/REPORT.md).
## sweep the default preset, then report (plots/latest/REPORT.md)
bench: $(STAMP)
	$(PY) -m bench sweep --preset default
	$(PY) -m bench report

## python -m bench sweep $(ARGS) (ARGS="--help" lists the flags and presets)
sweep: $(STAMP)
	$(PY) -m bench sweep $(ARGS)

## python -m bench report $(ARGS)
report: $(STAMP)
	$(PY) -m bench report $(ARGS)

# CI gate: each engine against the same products written directly, and exact counts (results/baseline.json).
## the CI gate against results/baseline.json
regress: $(STAMP)
	$(PY) -m bench regress $(ARGS)

# Re-record the gate's baseline on purpose: nothing else writes results/baseline.json.
## re-record results/baseline.json on purpose
baseline: $(STAMP)
	$(PY) -m bench baseline $(ARGS)

## list the targets, one line each (each target's `## ` line)
help:
	@awk '/^## /{d=substr($$0,4); next} /^[a-z][a-z-]*:/{if(d){split($$0,t,":"); printf "  make %-14s %s\n", t[1], d}; d=""}' $(MAKEFILE_LIST)
