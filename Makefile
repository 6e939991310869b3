# Two commands matter on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate seed css bench loadtest benchweb-scale lint format check-migrations worker beat clean

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

## Embedded default: SQLite, eager tasks, console email, test checkout, demo content.
run: seed
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite: SQLite by default, PostgreSQL when DATABASE_URL points at it.
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

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
	npm install --no-audit --no-fund
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

## Pages per second from one gunicorn web process, then two, on this machine (README "Sizing").
benchweb-scale: install
	$(PY) -m tools.scale $(SCALE_ARGS)
