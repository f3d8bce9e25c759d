#!/usr/bin/env bash
# Create a virtual environment with one of the two stacks mmnc is tested on
# (mmcv 2.1.0 built with its C++ ops) and mmnc in editable mode. Idempotent:
# a second run takes seconds.
#   MMNC_ENV     pinned  (default) .venv: Python 3.11, torch 2.14.1, numpy 2
#                classic .venv-classic: Python 3.10, torch 2.1.2, numpy 1.26
#   VENV         where the environment goes (default: as above)
#   MMNC_PYTHON  the interpreter that makes it (default: python3 / python3.10)
#   MMNC_CACHE   where built mmcv wheels are kept, one per torch and Python
#                (default: ~/.cache/mmnc)
#   MMNC_SETUP_UNTIL=torch  stop after step 2 (CI downloads the classic
#                torch this way while the pinned tests run)
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_NAME=${MMNC_ENV:-pinned}
step() { echo "[setup:$ENV_NAME] $*"; }
fail() { echo "[setup:$ENV_NAME] FAILED at step: $*" >&2; exit 1; }
case $ENV_NAME in
  pinned) VENV=${VENV:-.venv} BASE_PY=${MMNC_PYTHON:-python3} ;;
  classic) VENV=${VENV:-.venv-classic} BASE_PY=${MMNC_PYTHON:-} ;;
  *) fail "MMNC_ENV must be 'pinned' or 'classic', got '$ENV_NAME'" ;;
esac
CACHE=${MMNC_CACHE:-$HOME/.cache/mmnc}
PY=$VENV/bin/python
STAMP=$VENV/.mmnc-setup
# pip, minus this machine's warnings about local index folders it lacks
pip_q() {
  "$PY" -m pip --disable-pip-version-check -q "$@" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

verify() {
  "$PY" - <<'PY'
import importlib, sys
for name in ('mmcv._ext', 'mmcv.ops', 'mmdet.models', 'mmseg.models',
             'mmpretrain.models', 'mmnc', 'onnx', 'onnxruntime', 'mim'):
    try:
        importlib.import_module(name)
    except Exception as e:  # report which import broke and why
        sys.exit(f'import {name} failed: {type(e).__name__}: {e}')
PY
}

fingerprint() {
  cat requirements/build.txt "requirements/$ENV_NAME.txt" \
    requirements/runtime.txt requirements/tests.txt requirements/deploy.txt \
    requirements/mim.txt requirements/docs.txt setup.py \
    tools/setup_env.sh | sha1sum | cut -c1-16
}

if [[ -f $STAMP && $(cat "$STAMP") == $(fingerprint) ]] && verify 2>/dev/null; then
  step "environment $VENV is up to date"; exit 0
fi

# a Python 3.10 that runs: on PATH, or installed by pyenv but not selected
# (pyenv's shim exists and refuses), or one the user names with MMNC_PYTHON
find_py310() {
  local p
  for p in python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10; do
    "$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$p"; return; }
  done
}
if [[ ! -x $PY ]]; then
  [[ -n $BASE_PY ]] || BASE_PY=$(find_py310)
  [[ -n $BASE_PY ]] && "$BASE_PY" --version >/dev/null 2>&1 ||
    fail "no Python 3.10 to make $VENV with: install one (pyenv install 3.10) or set MMNC_PYTHON"
  step "1/6 creating $VENV with $("$BASE_PY" --version)"
  "$BASE_PY" -m venv "$VENV" || fail "$BASE_PY -m venv $VENV"
fi
pip_q install -U "pip>=24" || fail "upgrading pip"

step "2/6 torch, torchvision, numpy, opencv (requirements/$ENV_NAME.txt)"
pip_q install -r "requirements/$ENV_NAME.txt" || fail "installing requirements/$ENV_NAME.txt"
[[ ${MMNC_SETUP_UNTIL:-} == torch ]] && { step "stopping after torch (MMNC_SETUP_UNTIL)"; exit 0; }
step "3/6 build tools, mmengine"
pip_q install -r requirements/build.txt -c "requirements/$ENV_NAME.txt" || fail "installing build requirements"

mmcv_ok() { "$PY" -c "import mmcv, mmcv._ext; from mmcv.ops import nms, RoIAlign; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; }
if ! mmcv_ok; then
  TORCH=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])")
  PYV=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
  WHEELS=$CACHE/wheels/mmcv-2.1.0-torch$TORCH-$PYV
  mkdir -p "$WHEELS"
  if compgen -G "$WHEELS/mmcv-*.whl" >/dev/null; then
    step "4/6 mmcv 2.1.0 from the cached wheel in $WHEELS"
    pip_q install --no-deps --force-reinstall "$WHEELS"/mmcv-*.whl || fail "installing cached mmcv wheel"
    mmcv_ok || { step "cached mmcv wheel does not import: rebuilding"; rm -f "$WHEELS"/mmcv-*.whl; }
  fi
  if ! mmcv_ok; then
    # torch >= 2.4 headers need C++20; mmcv's setup.py forces C++14/17
    CXX_FOR_TORCH=g++
    "$PY" -c "import sys, torch; sys.exit(tuple(map(int, torch.__version__.split('.')[:2])) < (2, 4))" &&
      CXX_FOR_TORCH=$PWD/tools/cxx20.sh
    step "4/6 building mmcv 2.1.0 with C++ ops for torch $TORCH (about 7 min on 2 cores; cached in $WHEELS)"
    t0=$SECONDS
    # Python's own CFLAGS without -g: the same -O3 code, no debug info, which
    # takes a third of the compile time (roi_align.cpp: 21 s with -g, 13 s
    # without). setuptools replaces (new) or extends (old) its CFLAGS by
    # these; -g0 last wins either way.
    CFLAGS="${CFLAGS:--DNDEBUG -fwrapv -O3 -Wall -g0}" \
    CXX=$CXX_FOR_TORCH MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 \
      pip_q wheel --no-build-isolation --no-deps --no-cache-dir \
      -w "$WHEELS" mmcv==2.1.0 || fail "building mmcv 2.1.0 (see the compiler output above)"
    step "   built in $(( (SECONDS - t0) / 60 )) min"
    pip_q install --no-deps --force-reinstall "$WHEELS"/mmcv-*.whl || fail "installing built mmcv wheel"
    mmcv_ok || fail "mmcv 2.1.0 was built but mmcv._ext does not import"
  fi
fi

step "5/6 mmdet, mmsegmentation, mmpretrain, test and deploy tools (onnx, onnxruntime), mim"
pip_q install -r requirements/runtime.txt -r requirements/tests.txt -r requirements/deploy.txt \
  -c "requirements/$ENV_NAME.txt" || fail "installing mmdet/mmseg/mmpretrain and deploy tools"
pip_q install --no-deps -r requirements/mim.txt || fail "installing mim (requirements/mim.txt)"
if [[ $ENV_NAME == pinned ]]; then  # the docs build in the pinned one (Sphinx 9: Python >= 3.11)
  pip_q install -r requirements/docs.txt -c "requirements/$ENV_NAME.txt" || fail "installing the docs tools (requirements/docs.txt)"
fi
step "6/6 mmnc (editable)"
pip_q install --no-deps --no-build-isolation -e . || fail "pip install -e ."

step "verifying imports"
verify || fail "verifying the environment"
fingerprint > "$STAMP"
step "done: $VENV is ready"
