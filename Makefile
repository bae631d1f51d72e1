# make run  — set up (first time) and start the whole warehouse on the embedded defaults
# make test — set up (first time) and run the test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= .warehouse
API_PORT ?= 8000
UI_PORT ?= 3000

.PHONY: run test lint bench clean-home

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull gigabytes of CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/warehouse up --home $(HOME_DIR) --api-port $(API_PORT) --ui-port $(UI_PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check warehouse tests bench

bench: $(VENV)/.installed
	$(BIN)/python bench/ingest.py --n 1000

clean-home:
	rm -rf $(HOME_DIR)
