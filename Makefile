# The two commands of the README: `make demo` and `make test`.
# Both set up .venv first (idempotent; the first run builds mmcv, ~20 min).
PY := .venv/bin/python
DATA ?= data

.PHONY: setup data demo test lint benchmark

setup:
	@bash tools/setup_env.sh

data: setup
	@$(PY) tools/make_datasets.py all --out $(DATA)

demo: setup
	@bash tools/demo.sh

test: setup
	@$(PY) -m ruff check mmnc tools tests configs
	@$(PY) -m pytest tests

lint: setup
	@$(PY) -m ruff check mmnc tools tests configs

benchmark: setup
	@$(PY) tools/analysis/benchmark_nc.py
