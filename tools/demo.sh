#!/usr/bin/env bash
# The main job on embedded data, through the same tools/train.py and
# tools/test.py a user runs: make the small datasets; train and test
# baseline, +SE and +NC for classification (UCI digits, several seeds),
# detection (small COCO-format set, Faster R-CNN R-101 C4) and segmentation
# (small VOC-format set, DeepLab-v2 R-101-D8); then the comparison table.
#   DEMO_DIR    output folder                       (default: work_dirs/demo)
#   DEMO_SEEDS  classification seeds per variant    (default: 3)
#   DEMO_QUICK  1 = reduced size (CI): 1 seed, fewer iterations
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${DEMO_DIR:-work_dirs/demo}
SEEDS=${DEMO_SEEDS:-3}
CLS_OPTS=() DET_OPTS=() SEG_OPTS=()
if [[ ${DEMO_QUICK:-0} == 1 ]]; then
  SEEDS=1
  CLS_OPTS=(train_cfg.max_epochs=1 train_dataloader.dataset.indices=256)
  DET_OPTS=(train_cfg.max_epochs=1 train_dataloader.dataset.indices=4
            test_dataloader.dataset.indices=2)
  SEG_OPTS=(train_cfg.max_iters=4 train_dataloader.dataset.indices=4
            test_dataloader.dataset.indices=2)
fi
t0=$SECONDS

# train_and_test CONFIG WORK_DIR [cfg-options...]
train_and_test() {
  local config=$1 work=$2 opts=(); shift 2
  (( $# )) && opts=(--cfg-options "$@")
  echo "== $(basename "$config" .py) -> $work"
  "$PY" tools/train.py "$config" --work-dir "$work" "${opts[@]}"
  "$PY" tools/test.py "$config" "$(cat "$work/last_checkpoint")" \
    --work-dir "$work" "${opts[@]}"
}

echo "[demo] 1/5 making the small datasets in data/"
"$PY" tools/make_datasets.py all --out data

echo "[demo] 2/5 classification: ResNet-20 on UCI digits, $SEEDS seed(s)"
for seed in $(seq 1 "$SEEDS"); do
  for v in '' -se -nc; do
    train_and_test "configs/resnet_cifar/resnet20${v}_1xb32-5e_digits.py" \
      "$OUT/cls/resnet20${v}_digits/seed$seed" randomness.seed=$seed \
      "${CLS_OPTS[@]}"
  done
done

echo "[demo] 3/5 detection: Faster R-CNN R-101 C4 on the small COCO-format set"
for v in '' -se -nc; do
  train_and_test "configs/faster_rcnn/faster-rcnn_r101-caffe-c4${v}_1xb2-2e_coco-tiny.py" \
    "$OUT/det/faster-rcnn_r101-caffe-c4${v}_coco-tiny" "${DET_OPTS[@]}"
done

echo "[demo] 4/5 segmentation: DeepLab-v2 R-101-D8 on the small VOC-format set"
for v in '' -se -nc; do
  train_and_test "configs/deeplabv2/deeplabv2_r101-d8${v}_1xb2-40i_vocseg-tiny-64x64.py" \
    "$OUT/seg/deeplabv2_r101-d8${v}_vocseg-tiny" "${SEG_OPTS[@]}"
done

echo "[demo] 5/5 comparison"
"$PY" tools/analysis/compare.py "$OUT"/cls/*/* "$OUT"/det/* "$OUT"/seg/* \
  --out-dir "$OUT/compare" --flops
echo "[demo] done in $(( (SECONDS - t0) / 60 )) min. Logs and checkpoints: $OUT/{cls,det,seg}/*; table and chart: $OUT/compare/"
