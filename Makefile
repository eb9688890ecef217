# Two commands a new user needs: `make demo` and `make test`. Everything else is a building block.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8100
GATEWAY_PORT ?= 8000

.PHONY: demo test lint typecheck contracts pytest bench install clean schema-sdl

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	@if $(PY) -m pip show schema >/dev/null 2>&1; then \
		echo "error: the unrelated PyPI package 'schema' is installed in $(VENV); it shadows our schema/ package" >&2; exit 1; fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh $(PY) $(SANDBOX_PORT) $(GATEWAY_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP)
	$(PY) -m pytest --cov --cov-report=term

test: lint typecheck contracts pytest

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
