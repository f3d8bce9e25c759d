# CIFAR-100 recipe of the C3Net reference (jwyang/C3Net.pytorch,
# configs/cifar100.yaml): SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch
# 128 on one GPU, 160 epochs, lr x0.1 at epochs 120 and 140; random crop
# (padding 4) and horizontal flip.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = dict(batch_size=128)

param_scheduler = dict(milestones=[120, 140])
train_cfg = dict(max_epochs=160)
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
