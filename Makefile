# Two commands on a fresh machine:
#   make serve   create .venv, install requirements, build the store from geodata/ if absent, serve the app
#   make test    create .venv, install requirements, run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: serve test bench bench-map bench-api clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Leaflet, its plugins, Bootstrap, Font Awesome and Chart.js, exact versions from the lockfile
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

serve: $(BIN)/.installed node_modules/.installed
	$(BIN)/python -m sites init --if-missing
	$(BIN)/flask --app web run --host $(HOST) --port $(PORT)

test: $(BIN)/.installed node_modules/.installed
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto -q

bench: $(BIN)/.installed
	$(BIN)/python bench/store_bench.py

bench-map: $(BIN)/.installed node_modules/.installed
	$(BIN)/python bench/map_bench.py

bench-api: $(BIN)/.installed
	$(BIN)/python bench/pygeoapi_compare.py

clean:
	rm -rf $(VENV) instance/sites.gpkg
