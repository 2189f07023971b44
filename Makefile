# One entry point for installing, the demo and the tests.
#   make demo    installs what the demo needs into .venv (no test or benchmark tools) and runs it
#   make test    installs the dev extra and the Debian packages, lints and runs the test suite
#   make test-fast  the pure-Python tier: no browser, no PostgreSQL, no district-scale data
#   make install the same installation as `make test`, without running anything
#   make bench   adds the bench extra and runs the benchmarks
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per set of extras, kept inside the venv (so `rm -rf .venv` resets them). Each
# is redone when pyproject.toml changes; a wider install also refreshes the narrower stamps,
# and a venv made by `make demo` gets the dev extra at the next `make test`.
STAMP_RUN   := $(VENV)/.stamp-run
STAMP_DEV   := $(VENV)/.stamp-dev
STAMP_BENCH := $(VENV)/.stamp-bench

.PHONY: install system demo test test-fast lint bench clean

ASSETS := maps/node_modules/leaflet/dist/leaflet.js \
          maps/node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
          maps/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
          maps/node_modules/redoc/bundles/redoc.standalone.js
# Debian packages: a headless browser for the map tests, a CJK font for its screenshots,
# PostgreSQL with PostGIS for the storage tests, wrk for the service benchmark
DEBS   := chromium fonts-wqy-microhei postgresql postgresql-15-postgis-3 wrk

# numba compiles the package's loops once and caches them: done at install, so that a
# district's first run or a service's first start does not wait about 15 s for it
COMPILE := $(BIN)/python -m circle15.geo.snapping.compiled

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(COMPILE)
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(COMPILE)
	touch $@ $(STAMP_RUN)

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(COMPILE)
	touch $@ $(STAMP_DEV) $(STAMP_RUN)

# Leaflet, Swagger UI and ReDoc from the npm registry, inlined into every map page or served
# by the API (no CDN) and shipped in the wheel. No install scripts: none is needed, and
# swagger-ui-dist's dependency @scarf/scarf would report the install to its vendor
$(ASSETS) &: maps/package.json maps/package-lock.json
	cd maps && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

system:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

install: $(STAMP_DEV) $(ASSETS) system

demo: $(STAMP_RUN) $(ASSETS)
	$(BIN)/circle15 demo --out out/demo

# the storage tests need a real PostgreSQL: started here on loopback, stopped afterwards
test: install lint
	scripts/pg.sh start
	$(BIN)/python -m pytest -q; status=$$?; scripts/pg.sh stop; exit $$status

# markers (tests/conftest.py): browser, postgres, district; the rest runs in about 2 minutes
test-fast: $(STAMP_DEV)
	$(BIN)/python -m pytest -q -m "not browser and not postgres and not district"

lint: $(STAMP_DEV)
	$(BIN)/ruff check geo maps api circle15 tests bench
	$(BIN)/mypy

bench: $(STAMP_BENCH) $(ASSETS) system
	$(BIN)/python bench/bench_coverage.py
	$(BIN)/python bench/bench_siting.py
	$(BIN)/python bench/bench_map.py
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) out data/cache maps/node_modules build dist
