# Two set-up commands on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test dev sandbox bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole path once against the sandboxes with a project-local SQLite Dagster instance.
demo: install
	$(BIN)/voyado-sync demo

## The full test suite (needs PostgreSQL on 127.0.0.1:5432, database `test`).
test: install
	$(BIN)/pytest -q

## Sandboxes + `dg dev` (UI on http://127.0.0.1:3000).
dev: install
	$(BIN)/voyado-sync dev

## Only the sandboxes, printing their base URLs as one JSON line.
sandbox: install
	$(BIN)/voyado-sync sandbox

## Every benchmark prints figures and ends with one JSON line whose meets_target it computes (exit 1 when
## missed); all run, and bench fails if any missed. The identity one compares with Splink (bench extra).
BENCHMARKS := mapping.py push.py "push.py --faults 0.2" extract.py identity.py generator.py reconcile_days.py
bench: install
	$(BIN)/pip install -q -e '.[bench]'
	@failed=""; for b in $(BENCHMARKS); do \
		echo "== benchmarks/$$b"; $(BIN)/python benchmarks/$$b || failed="$$failed $$b;"; \
	done; if [ -n "$$failed" ]; then echo "targets missed:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .voyado_sync .dagster_home
