# Pascal VOC 07+12 trainval, tested on VOC 2007 test, with mmdet's C4 VOC
# recipe (pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py: SGD lr 0.02
# at batch 16 with warm-up, 18k iterations, x0.1 at 12k and 16k, multi-scale
# training with short sides 480-800, testing at 1333x800). The seed gives no
# VOC schedule; this is the one mmdet ships for this layout.
_base_ = [
    'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py',
    '../_base_/models/faster-rcnn_r101-caffe-c4.py'
]
model = {{_base_.r101_c4}}
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
