# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck bench clean raw-deps test-services

$(BIN)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[cpu]'
	touch $@

$(BIN)/.installed-dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(BIN)/.installed-run

# --demo: the bundled demo images on 127.0.0.1:8080; any IMGPROXY_* variable set in the
# environment wins (the same command works from an installed wheel).
run: $(BIN)/.installed-run
	$(BIN)/imgproxy-py serve --demo

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed-dev
	$(BIN)/mypy

# Camera RAW needs ImageMagick and dcraw from the system; install them when we can (root
# with apt), otherwise the RAW tests skip and say why.
raw-deps:
	@if dpkg -s libmagickwand-6.q16-6 dcraw >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagickwand-6.q16-6 dcraw \
			>/dev/null) || echo "raw-deps: could not install ImageMagick/dcraw; RAW tests will be skipped"; \
	else echo "raw-deps: ImageMagick/dcraw missing and not root; RAW tests will be skipped"; fi

# Azurite (Azure Blob's emulator, from npm) for the abs:// tests; moto's S3 server and the GCS
# emulator come with the dev extra. A failed install fails the tests that need it, loudly.
test-services:
	@test -x tests/.services/node_modules/.bin/azurite-blob || \
		npm install --no-audit --no-fund --silent --prefix tests/.services azurite@3

# Line coverage of the package, with a floor at what the suite reaches (91% when set).
test: lint typecheck raw-deps test-services
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --cov --cov-report=term:skip-covered --cov-fail-under=90

# imgproxy_py vs thumbor vs ipx vs raw pyvips (benchmarks/README.md); about 11 minutes.
bench: $(BIN)/.installed-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
