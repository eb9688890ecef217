# Two commands a new user needs: `make demo` and `make test`. Everything else is a building block.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
GRAPHIQL_STAMP := gateway/static/graphiql/.vendored
AUDIT_DIR := tools/graphql-http
AUDIT_STAMP := $(AUDIT_DIR)/node_modules/.package-lock.json
FRONTEND_DIR := docs/examples/frontend
FRONTEND_STAMP := $(FRONTEND_DIR)/node_modules/.package-lock.json
SANDBOX_PORT ?= 8100
GATEWAY_PORT ?= 8000

.PHONY: check-env demo test lint typecheck contracts pytest bench install clean browser-deps schema

$(STAMP): pyproject.toml $(GRAPHIQL_STAMP)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

# The PyPI package `schema` is unrelated to our schema/ package and would shadow it: never let it in.
check-env: $(STAMP)
	@if $(PY) -m pip show schema >/dev/null 2>&1; then \
		echo "error: the unrelated PyPI package 'schema' is installed in $(VENV); it shadows our schema/ package" >&2; \
		exit 1; fi

install: $(STAMP)

# GraphiQL's UMD builds, pinned and hash-checked, served by the gateway itself (no CDN: offline users see it).
$(GRAPHIQL_STAMP): scripts/vendor_graphiql.sh
	bash scripts/vendor_graphiql.sh

# The official GraphQL-over-HTTP audit suite (graphql-http), pinned by its lock file.
$(AUDIT_STAMP): $(AUDIT_DIR)/package-lock.json
	cd $(AUDIT_DIR) && npm ci --no-audit --no-fund --loglevel=error

# The frontend examples of docs/frontend.md (Apollo Client, urql) and axe-core for the explorer's browser test.
$(FRONTEND_STAMP): $(FRONTEND_DIR)/package-lock.json
	cd $(FRONTEND_DIR) && npm ci --no-audit --no-fund --loglevel=error

# The real-browser test of GraphiQL drives Debian's chromium (CI runs as root).
browser-deps:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "error: /usr/bin/chromium is missing; install Debian's chromium package" >&2; exit 1; fi; }

demo: $(STAMP)
	@bash scripts/demo.sh $(PY) $(SANDBOX_PORT) $(GATEWAY_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP) $(AUDIT_STAMP) $(FRONTEND_STAMP) browser-deps
	$(PY) -m pytest --cov --cov-report=term

test: check-env lint typecheck contracts pytest

# Regenerate the committed SDL after changing the schema (a test fails when it drifts).
schema: $(STAMP)
	$(PY) -c "from gateway.edge.schema import build_schema; print(build_schema().as_str())" > schema/schema.graphql

# Regenerate docs/configuration.md from the settings model after changing a setting (a test fails when it drifts).
.PHONY: configuration lock
configuration: $(STAMP)
	$(PY) -m gateway settings > docs/configuration.md.new && mv docs/configuration.md.new docs/configuration.md

# Pin the image's dependencies, with hashes, in requirements.lock (docker/Dockerfile installs only these). Run after
# changing pyproject.toml's dependencies; pins that still fit are kept (delete the file first to move them all).
lock: $(STAMP)
	$(PY) -m pip install --quiet 'pip-tools>=7.4,<8'
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps --strip-extras \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host --annotation-style=line \
		--output-file=requirements.lock pyproject.toml

# This gateway and Hive Gateway side by side (bench/README.md): installs wrk, Hive Gateway (npm ci) and matplotlib.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench compare

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
