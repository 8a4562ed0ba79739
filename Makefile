# Two commands: `make run` (set up and serve the demo) and `make test` (set up and run the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_NOW := 2024-08-30T09:21:43.741Z
HOST := 127.0.0.1:8000

.PHONY: run test bench lint format ci clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.deps-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.deps-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.deps-run

# The demo and the benchmark run in development mode: DEBUG off is the default (docs/security.md).
run bench: export DEBUG := 1

run: $(VENV)/.deps-run
	$(BIN)/python manage.py migrate --noinput
	TARGETS_NOW=$(DEMO_NOW) $(BIN)/python manage.py seed_demo
	@# The periodic sweep for streaks dropped by a period's close (docs/events.md), run by the worker.
	TARGETS_NOW=$(DEMO_NOW) $(BIN)/python manage.py sweep_streaks --schedule
	@$(BIN)/python -c "from targets.demo.banner import banner; print(banner('http://$(HOST)'))"
	@# The task worker (background progress refreshes) runs beside the server and stops with it.
	@DEBUG=1 TARGETS_NOW=$(DEMO_NOW) $(BIN)/python manage.py db_worker --no-reload --no-startup-delay & \
	worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 TARGETS_NOW=$(DEMO_NOW) $(BIN)/python manage.py runserver $(HOST) --noreload

# The suite runs in one process per core (pytest-xdist); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto

test: $(VENV)/.deps-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(VENV)/.deps-dev
	$(BIN)/python manage.py benchmark --quick

lint: $(VENV)/.deps-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.deps-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ci:
	.ci/run

clean:
	rm -rf $(VENV) db.sqlite3 test-artifacts .pytest_cache
