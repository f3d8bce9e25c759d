# The two commands of the README: `make demo` and `make test`.
# Both set up the environment first (idempotent; the first run builds mmcv,
# about 8 min, once per torch version). MMNC_ENV=classic uses the classic
# stack (torch 2.1, numpy 1.26) in .venv-classic, where `make test` runs the
# tests marked `classic`.
MMNC_ENV ?= pinned
export MMNC_ENV
VENV := $(if $(filter classic,$(MMNC_ENV)),.venv-classic,.venv)
PY := $(VENV)/bin/python
DATA ?= data
PYTEST_ARGS ?= $(if $(filter classic,$(MMNC_ENV)),-m classic,)

.PHONY: setup data demo test lint benchmark

setup:
	@bash tools/setup_env.sh

data: setup
	@$(PY) tools/make_datasets.py all --out $(DATA)

demo: setup
	@$(PY) tools/demo.py

test: setup
	@if [ "$(MMNC_ENV)" = pinned ]; then $(PY) -m ruff check mmnc tools tests configs; fi
	@$(PY) -m pytest tests $(PYTEST_ARGS)

lint: setup
	@$(PY) -m ruff check mmnc tools tests configs

benchmark: setup
	@$(PY) tools/analysis/benchmark_nc.py
