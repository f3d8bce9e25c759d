# ResNet-20 on the UCI handwritten digits (scikit-learn's 8x8 `load_digits`,
# 1797 images, 10 classes) as an image folder, upsampled to 16x16 (the
# stages then see 16x16, 16x16 and 8x8 maps, the grids of the CIFAR NC
# configs). A smoke test that trains on a CPU in about a minute to ~95%
# top-1, not a benchmark: AdamW and a per-iteration cosine schedule, so that
# even `--cfg-options train_cfg.max_epochs=2` ends with settled BN statistics.
# Make the data with
#     python tools/make_datasets.py digits --out data
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# the 0..16 gray levels scaled to 0..255 (mean and std of the whole set)
data_preprocessor = dict(
    num_classes=10, mean=[77.9] * 3, std=[95.9] * 3, to_rgb=False)
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(16, 16), interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root='data/digits',
        data_prefix='train',
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root='data/digits',
        data_prefix='val',
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
# the held-out split (what the demo reports; val is for choosing)
test_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        type='CustomDataset',
        data_root='data/digits',
        data_prefix='test',
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=0.01, weight_decay=1e-4))
# ends at max_epochs, whatever it is set to
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(type='AtomicCheckpointHook'))  # crash-safe (mmnc)
randomness = dict(seed=0)
