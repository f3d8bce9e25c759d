_base_ = [
    '../_base_/models/faster-rcnn_r101-caffe-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
# crash-safe checkpoints (mmnc's AtomicCheckpointHook): the last 3 and the best
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='coco/bbox_mAP'))
