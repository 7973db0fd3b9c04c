# The two commands a newcomer needs: `make run` and `make test`. Everything else is detail.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test setup frontend api-types lint fmt migrate demo worker bench clean prod-stack

run: ## start the platform on the embedded default (SQLite, eager Celery, demo batch)
	bash deploy/dev/run.sh

test: ## install/start PostgreSQL, Redis, ffmpeg, Chromium; then ruff, migrations check, pytest
	bash deploy/test/run.sh

setup: ## create the virtualenv and install Python + system dependencies
	bash deploy/dev/bootstrap.sh

frontend: ## build the worker app into frontend/dist
	bash deploy/dev/build-frontend.sh

api-types: ## regenerate frontend/openapi.yaml and the worker app's API types from the server
	bash deploy/dev/api-types.sh

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

fmt:
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

prod-stack: ## production processes without Docker (gunicorn, workers, beat, nginx); Ctrl-C stops
	$(PY) deploy/stack/prodstack.py run --run-dir var/prodstack

clean:
	rm -rf var/db.sqlite3 var/media var/staging var/static
