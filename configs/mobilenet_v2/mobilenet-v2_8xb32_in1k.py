# MobileNet-v2 (Sandler et al., https://arxiv.org/abs/1801.04381) on ImageNet
# with mmpretrain's recipe; C3Net paper, Table 2: 3.50M params / 0.32G FLOPs /
# 28.12 top-1 err / 9.71 top-5 err. mmnc.MobileNetV2 is mmpretrain's
# MobileNetV2 (same arguments and parameter names) that takes NC / SE plugins.
_base_ = 'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

model = dict(backbone=dict(type='mmnc.MobileNetV2'))
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
