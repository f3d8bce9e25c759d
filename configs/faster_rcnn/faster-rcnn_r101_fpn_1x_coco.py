# The modern layout: ResNet-101 + FPN, NC/SE in backbone stage 4, mmdet's 1x
# schedule. The protocol of the C4 configs: stem and stages 1-3 frozen, every
# BN frozen (statistics and affine parameters); stage 4, FPN and heads train.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        frozen_stages=3, norm_cfg=dict(type='BN', requires_grad=False)))
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
