# The modern layout: ResNet-101 + FPN, NC/SE in backbone stage 4.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
# crash-safe checkpoints (mmnc's AtomicCheckpointHook): the last 3 and the best
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='coco/bbox_mAP'))
