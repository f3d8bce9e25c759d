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
# test files go to TEST_JOBS workers (pytest-xdist; a file stays on one
# worker, so its fixtures run once), each torch on one thread: most tests
# run one small single-threaded process, and two of them fill this 2-core
# machine. TEST_JOBS=0: one process, torch's default threads. Before the
# pinned suite, the learning tests' datasets and pretrained backbone are
# made on both cores (`tools/demo.py --prepare`; the backbone is cached in
# ~/.cache/mmnc like mmcv, and the quick demo of tests/test_learn.py reuses
# both).
TEST_JOBS ?= 2
XDIST := $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

.PHONY: setup data demo test lint benchmark docs

setup:
	@bash tools/setup_env.sh

data: setup
	@$(PY) tools/make_datasets.py all --out $(DATA)

demo: setup
	@$(PY) tools/demo.py

test: setup
	@if [ "$(MMNC_ENV)" = pinned ]; then $(PY) -m ruff check mmnc tools tests configs docs && \
	  $(PY) tools/demo.py --prepare --out-dir work_dirs/demo-prepare; fi
	@$(if $(XDIST),OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1},) $(PY) -m pytest tests $(XDIST) $(PYTEST_ARGS)

lint: setup
	@$(PY) -m ruff check mmnc tools tests configs docs

benchmark: setup
	@$(PY) tools/analysis/benchmark_nc.py

# The documentation site (docs/, Sphinx + myst-parser) in docs/_build/html,
# warnings as errors; then looked at in headless Chromium (skipped, loudly,
# without one: apt-get install chromium).
docs: setup
	@$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@$(PY) docs/browser_check.py docs/_build/html --out work_dirs/docs/index.png; \
	  s=$$?; [ $$s -eq 3 ] && echo "make docs: built; the browser check was SKIPPED" || exit $$s
