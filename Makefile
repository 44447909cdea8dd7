# flakegate developer commands. `make run` and `make test` are the README's two set-up commands.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8080
DB ?= sqlite://$(CURDIR)/var/flakegate.db

.PHONY: run test lint bench bench-verdict bench-decisions system-deps bq-emulator clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The pages' sign-in cookie key (FLAKEGATE_SECRET_KEY), made once and kept beside the database.
SECRET_FILE ?= var/secret-key

run: $(STAMP)
	$(BIN)/flakegate db init --db $(DB)
	$(BIN)/flakegate demo --db $(DB) --base-url http://$(HOST):$(PORT)
	test -s $(SECRET_FILE) || (umask 077 && $(BIN)/python -c \
	  'import secrets; print(secrets.token_urlsafe(32))' > $(SECRET_FILE))
	FLAKEGATE_SECRET_KEY="$${FLAKEGATE_SECRET_KEY:-$$(cat $(SECRET_FILE))}" \
	  $(BIN)/flakegate serve --db $(DB) --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/system-deps.sh

# The BigQuery emulator the tests start lives in its own virtualenv (it pins duckdb/protobuf).
bq-emulator:
	bash scripts/bq-emulator.sh

# The suite runs only once the lint (style and types, see `lint`) passes.
test: system-deps bq-emulator lint
	$(BIN)/pytest

# mypy reads its file list and settings from pyproject.toml ([tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-verdict: $(STAMP)
	$(BIN)/python bench/verdict.py

bench-decisions: $(STAMP)
	$(BIN)/python bench/decision_quality.py --jobs 5 --good 100 --regressed 40 --workers 2

clean:
	rm -rf $(VENV) .venv-bqemulator var .pytest_cache .ruff_cache
