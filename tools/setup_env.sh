#!/usr/bin/env bash
# Create .venv with the pinned OpenMMLab stack (mmcv 2.1.0 built with its C++
# ops) and mmnc in editable mode. Idempotent: a second run takes seconds.
#   VENV        where the environment goes            (default: .venv)
#   MMNC_CACHE  where the built mmcv wheel is kept    (default: ~/.cache/mmnc)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
CACHE=${MMNC_CACHE:-$HOME/.cache/mmnc}
PY=$VENV/bin/python
# pip, minus this machine's warnings about local index folders it lacks
pip_q() {
  "$PY" -m pip --disable-pip-version-check -q "$@" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}
STAMP=$VENV/.mmnc-setup

step() { echo "[setup] $*"; }
fail() { echo "[setup] FAILED at step: $*" >&2; exit 1; }

verify() {
  "$PY" - <<'PY'
import importlib, sys
for name in ('mmcv._ext', 'mmcv.ops', 'mmdet.models', 'mmseg.models',
             'mmpretrain.models', 'mmnc'):
    try:
        importlib.import_module(name)
    except Exception as e:  # report which import broke and why
        sys.exit(f'import {name} failed: {type(e).__name__}: {e}')
PY
}

fingerprint() { cat requirements/*.txt setup.py tools/setup_env.sh | sha1sum | cut -c1-16; }

if [[ -f $STAMP && $(cat "$STAMP") == $(fingerprint) ]] && verify 2>/dev/null; then
  step "environment $VENV is up to date"; exit 0
fi

if [[ ! -x $PY ]]; then
  step "1/6 creating $VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv $VENV"
fi
pip_q install -U "pip>=24" || fail "upgrading pip"

step "2/6 torch + torchvision (from the local wheels, ~1 min the first time)"
pip_q install -r requirements/stack.txt || fail "installing torch/torchvision"
step "3/6 build tools, numpy, mmengine"
pip_q install -r requirements/build.txt || fail "installing build requirements"

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
    step "4/6 building mmcv 2.1.0 with C++ ops (12-16 min on 2 cores; cached in $WHEELS)"
    t0=$SECONDS
    CXX=$PWD/tools/cxx20.sh MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 \
      pip_q wheel --no-build-isolation --no-deps --no-cache-dir \
      -w "$WHEELS" mmcv==2.1.0 || fail "building mmcv 2.1.0 (see the compiler output above)"
    step "   built in $(( (SECONDS - t0) / 60 )) min"
    pip_q install --no-deps --force-reinstall "$WHEELS"/mmcv-*.whl || fail "installing built mmcv wheel"
    mmcv_ok || fail "mmcv 2.1.0 was built but mmcv._ext does not import"
  fi
fi

step "5/6 mmdet, mmsegmentation, mmpretrain and test tools"
pip_q install -r requirements/runtime.txt -r requirements/tests.txt || fail "installing mmdet/mmseg/mmpretrain"
step "6/6 mmnc (editable)"
pip_q install --no-deps --no-build-isolation -e . || fail "pip install -e ."

step "verifying imports"
verify || fail "verifying the environment"
fingerprint > "$STAMP"
step "done: $VENV is ready"
