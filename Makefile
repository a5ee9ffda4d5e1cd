# The two commands: `make demo` (the main job end to end) and `make test`. Both set up .venv
# themselves from a fresh clone; as root they also install the Debian packages they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench lint debs clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

debs:
	@scripts/debian-packages

demo: $(STAMP) debs
	$(VENV)/bin/dvcops demo

test: $(STAMP) debs
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q --durations=15 $(PYTEST_ARGS)

bench: $(STAMP) debs
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check dvcops probes survey dossiers drills loadtests playbooks report lab tests bench
	$(VENV)/bin/mypy dvcops probes survey dossiers drills loadtests playbooks report lab

clean:
	rm -rf $(VENV) .dvcops .pytest_cache .mypy_cache .ruff_cache
