# One entry point for installing, the demo and the tests.
#   make demo   installs everything into .venv and runs the offline demo
#   make test   installs everything into .venv and runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp

.PHONY: install system demo test lint bench clean

ASSETS := maps/node_modules/leaflet/dist/leaflet.js
# Debian packages: a headless browser for the map tests, a CJK font for its screenshots,
# PostgreSQL with PostGIS for the storage tests, wrk for the service benchmark
DEBS   := chromium fonts-wqy-microhei postgresql postgresql-15-postgis-3 wrk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# Leaflet from the npm registry, inlined into every map page (no CDN)
$(ASSETS): maps/package.json
	cd maps && npm install --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

system:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

install: $(STAMP) $(ASSETS) system

demo: $(STAMP) $(ASSETS)
	$(BIN)/circle15 demo --out out/demo

# the storage tests need a real PostgreSQL: started here on loopback, stopped afterwards
test: install lint
	scripts/pg.sh start
	$(BIN)/python -m pytest -q; status=$$?; scripts/pg.sh stop; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check geo maps api circle15 tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_coverage.py
	$(BIN)/python bench/bench_siting.py
	$(BIN)/python bench/bench_map.py
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) out data/cache maps/node_modules
