# The two entry points: `make up` starts a single-node cluster, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: up test test-fast lint bench clean system-deps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the cluster and the tests need; installed only when missing.
system-deps:
	@bash scripts/install-system-deps.sh

up: system-deps $(STAMP)
	$(VENV)/bin/kubelite server $(ARGS)

test: system-deps $(STAMP)
	$(VENV)/bin/mypy kubelite
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check kubelite tests bench
	$(VENV)/bin/mypy kubelite

bench: $(STAMP)
	$(PY) bench/api.py
	$(PY) bench/scheduler.py --only basic-500,running
	$(PY) -m bench.store
	$(PY) -m bench.dns

clean:
	rm -rf $(VENV) .pytest_cache
