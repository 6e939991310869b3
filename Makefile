# Two commands matter on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test install migrate seed css bench loadtest benchweb benchweb-scale lint format check-migrations worker beat clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Embedded default: SQLite, eager tasks, console email, test checkout, demo content. The periodic
## jobs (hold expiry, reminders, outbox sweeps, Google pull) run beside the server, as beat would.
run: seed
	@$(PY) manage.py run_periodic_jobs & jobs=$$!; \
	trap 'kill $$jobs 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite: SQLite by default, PostgreSQL when DATABASE_URL points at it. Installs what it
## needs: the Python packages, and (when npm is there) axe-core for the browser tests' accessibility
## checks. Without npm those checks are skipped with the reason printed (in CI they fail).
## TEST_WORKERS test processes (pytest-xdist; 1 runs in this process, e.g. for a debugger).
TEST_WORKERS ?= 2
test: install
	@if [ ! -f $(AXE) ] && command -v npm >/dev/null 2>&1; then \
		echo "npm ci (axe-core for the browser tests)"; \
		npm ci --no-audit --no-fund --silent || echo "npm ci failed: the axe-core checks will be skipped"; \
	fi
	$(PY) -m pytest $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS)) $(PYTEST_ARGS)

bench: install
	$(PY) -m tools.bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-migrations: install
	$(PY) manage.py makemigrations --check --dry-run

## Rebuild static/css/site.css (needs Node; the compiled file is committed).
css:
	@[ -x node_modules/.bin/tailwindcss ] || npm ci --no-audit --no-fund
	npm run build:css

worker: install
	$(VENV)/bin/celery -A config worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=info

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache

## Load test against gunicorn + PostgreSQL on loopback (needs PostgreSQL and Redis running).
loadtest: install
	$(PY) -m tools.loadtest $(LOADTEST_ARGS)

## Guest pages under gunicorn + PostgreSQL + Redis against /healthz: req/s, p50/p95, first-visit bytes
## (README "Measured"). Needs PostgreSQL and Redis running; BENCHWEB_ARGS="--duration 20" to change.
benchweb: install
	$(PY) -m tools.benchweb $(BENCHWEB_ARGS)

## Pages per second from one gunicorn web process, then two, on this machine (README "Sizing").
benchweb-scale: install
	$(PY) -m tools.scale $(SCALE_ARGS)
