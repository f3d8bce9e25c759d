# ResNet-50 (He et al., https://arxiv.org/abs/1512.03385) on ImageNet with
# mmpretrain's recipe, built by mmdet's ResNet, which takes NC / SE plugins in
# its Bottlenecks; parameter names and count (25.56M) are those of
# mmpretrain's ResNet-50.
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdet.ResNet',
        depth=50,
        out_indices=(3, ),
        norm_eval=False,
        style='pytorch'))
# crash-safe checkpoints (mmnc's AtomicCheckpointHook): the last 3 and the best
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='accuracy/top1'))
