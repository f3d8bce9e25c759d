# ResNet-50 (He et al., https://arxiv.org/abs/1512.03385) on ImageNet with
# mmpretrain's recipe and network: mmnc.ResNet is mmpretrain's ResNet that
# takes NC / SE plugins (same arguments, parameter names and checkpoints;
# 25.56M params).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

model = dict(backbone=dict(type='mmnc.ResNet'))
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
