# COCO 2017 with mmdet's 1x schedule (SGD lr 0.02 at batch 16, 12 epochs,
# x0.1 at 8 and 11, single scale 1333x800), as mmdet's C4 COCO models.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/models/faster-rcnn_r101-caffe-c4.py'
]
model = {{_base_.r101_c4}}
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
