# Cadence: one Makefile for everything a developer runs.
#   make run    set up (venv, install, migrate, demo data) and serve web + worker + beat
#   make test   the whole suite
#   make lint   ruff (lint + format check), mypy (core/ and the services), the import contracts
#               and makemigrations --check
#   make bench  the billing-run and page benchmarks (PostgreSQL), and the payments one
#   make bench-payments  a camt.053 import and a pain.008 batch of 10,000 (N=…), alone
#   make bench-einvoices  the Factur-X, UBL and CII of 10,000 invoices (N=…), timed by stage
#   make bench-exports  the CSV and XLSX exports of 1,000,000 invoice lines (N=…)
#   make bench-usage  usage events over the API (HTTP) and a period of 10,000,000 aggregated
#   make bench-storefront  the offers grid page of 6 plans: median of 200 requests, queries
#   make bench-honest  honest data (issue 19): N subscriptions made like the services, the run
#   make bench-reports  the MRR rebuild, the dashboard and the reports at 100,000 subscriptions
#                       and 1,000,000 invoice lines (N=…)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Development defaults: debug on, embedded SQLite and filesystem broker (override in the env).
export DEBUG ?= true
# ...also written to var/.env by `make setup`, which config/settings.py reads (the environment
# wins): manage.py run by hand, as the README shows it, works without make.
VAR_DIR := $(or $(CADENCE_VAR_DIR),var)
DEV_ENV := $(VAR_DIR)/.env

.PHONY: run setup install migrate demo serve worker beat test lint format messages bench bench-payments bench-einvoices bench-exports bench-reports bench-usage bench-storefront bench-honest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(DEV_ENV):
	mkdir -p $(VAR_DIR)
	printf '%s\n' '# Written by make setup: development defaults, read by config/settings.py.' \
		'# The environment wins; a server has no such file. Delete it to turn them off.' \
		'DEBUG=true' > $@

migrate: install $(DEV_ENV)
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py seed_demo

setup: demo

run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

serve: install
	$(BIN)/python manage.py runserver $${WEB_HOST:-127.0.0.1}:$${WEB_PORT:-8000}

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO --queues=celery,billing

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

test: install
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# What .pre-commit-config.yaml runs too (tests/test_tooling.py keeps the two the same).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	cd $(CURDIR) && $(BIN)/python manage.py makemessages -l fr --no-location --ignore=.venv --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv

# The benchmark needs the local PostgreSQL (and Redis for the Celery runs); N= sets its size.
bench: install
	N=$${N:-100000} $(BIN)/python -m bench

# Issue 14's figures: docs/benchmarks.md's payments section (bench/statements.py).
bench-payments: install
	N=$${N:-10000} $(BIN)/python -m bench.statements

# E-invoices: CII, UBL, PDF/A-3 render and Factur-X embedding per invoice (bench/einvoices.py).
bench-einvoices: install
	$(BIN)/python -m bench.einvoices --count $${N:-10000}

# Exports: CSV of N invoice lines, XLSX of min(N, 200,000) (XLSX_N=…) (bench/exports.py).
bench-exports: install
	$(BIN)/python -m bench.exports --count $${N:-1000000} --xlsx-count $${XLSX_N:-200000}

# Usage (issue 17): ingestion through the API and a period's aggregation (bench/usage.py);
# a few minutes, most of them writing the 10,000,000 events. `make bench` runs it too.
bench-usage: install
	$(BIN)/python -m bench.usage

# The offers grid page (issue 18): a grid of 6 plans, 200 requests (bench/storefront.py);
# under a minute. `make bench` runs it too.
bench-storefront: install
	$(BIN)/python -m bench.storefront

bench-reports: install
	N=$${N:-100000} $(BIN)/python -m bench.reports_cli

# Issue 19, step 1: honest data (bench/honest.py) in a fresh database, the run on 2027-01-01,
# its line kinds and distinct invoices, and the check against the services; N=… (2,000).
bench-honest: install
	N=$${N:-2000} $(BIN)/python -m bench.honest_cli

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
