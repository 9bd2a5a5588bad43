# `make run`: set up and serve on the embedded SQLite default. `make test`: every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean browser

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/databank db upgrade
	$(BIN)/databank workspace create default --exist-ok
	@test -s var/dev_api_key || (umask 077 && $(BIN)/databank key create --workspace default \
		--scope ingest --scope read --scope admin > var/dev_api_key)
	@echo "API key of workspace 'default' (kept in var/dev_api_key): $$(cat var/dev_api_key)"
	$(BIN)/databank serve --host 127.0.0.1 --port 8000

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# Chromium for the /ui/ browser tests: installed as root where apt exists, else they skip.
browser:
	@command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } || true

bench: $(STAMP)
	$(BIN)/python benchmarks/http_bench.py

clean:
	rm -rf $(VENV) var
