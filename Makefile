# Two commands do all the set-up on a fresh machine with Python >= 3.11:
#   make quickstart   installs into .venv, then runs workflows/quickstart.yaml and prints the table
#   make test         installs into .venv (with the test extra), then runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: quickstart test install install-postgres benchmark clean

$(BIN)/screening: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(BIN)/screening

install: $(BIN)/screening

# PostgreSQL server binaries for the shared-database tests (Debian; skipped, not failed, where
# they cannot be installed: those tests then say why they were skipped)
install-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get install -y -q postgresql >/dev/null 2>&1; } || \
	  echo "PostgreSQL server binaries not installed: its tests will be skipped"

quickstart: install
	$(BIN)/screening run workflows/quickstart.yaml --workers 2

test: install install-postgres
	$(BIN)/python -m pytest -q tests

benchmark: install
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/quickstart_time.py

clean:
	rm -rf results/screening.db results/fireworks_store.json* results/launches
