# DeepLab-v2 (Chen et al., TPAMI 2017, https://arxiv.org/abs/1606.00915):
# ResNet-101 at output stride 8 (dilations 2 and 4 in stages 3 and 4) and
# ASPP with rates (6, 12, 18, 24) summed into class logits (`ASPPv2Head`),
# on Pascal VOC 2012 + SBD ("aug"), with DeepLab-v2's recipe:
# - data: random scale 0.5-1.5 of the original image, 321x321 crops, flip
#   (no colour jitter); test on the whole image, padded to 513x513;
# - optimiser: SGD momentum 0.9, weight decay 5e-4, poly (power 0.9) to 0 over
#   20k iterations; DeepLab-v2's base lr 2.5e-4 at batch 10, scaled to this
#   config's batch 16 (4 GPUs x 4): 4e-4 for the backbone, 10x for the ASPP
#   weights and, Caffe's convention, 2x (ASPP: 20x) and no decay for biases.
# The protocol of the seed ("fix the lower layers in ResNet-101"), the same
# for detection and segmentation: stem and stages 1-3 frozen, stage 4 (where
# -se / -nc add their block) and the head trained, every BN frozen
# (statistics and affine parameters).
#
# Init: ImageNet. The backbone is mmseg's ResNetV1c (deep 3x3 stem) from
# open-mmlab://resnet101_v1c, the backbone of mmseg's own r101-d8 models;
# DeepLab-v2's published ~76 mIoU (no CRF) starts from an MS-COCO-pretrained
# caffe ResNet-101 and fuses multi-scale inputs, neither of which is here, so
# expect the baseline below the seed's 75.2: compare the three variants with
# each other, not with that number.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
default_scope = 'mmseg'

crop_size = (321, 321)
# Every BN is frozen, so SyncBN never syncs: it is kept as in mmseg's
# multi-GPU configs (mmnc's tools use BN on machines without a GPU).
norm_cfg = dict(type='SyncBN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size,
    test_cfg=dict(size=(513, 513)))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=True,
        frozen_stages=3,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
    decode_head=dict(
        type='ASPPv2Head',
        in_channels=2048,
        dilations=(6, 12, 18, 24),
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # VOC images are at most 500 px a side: x0.5-1.5 of the original size
    dict(
        type='RandomResize',
        scale=(500, 500),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
data_root = 'data/VOCdevkit/VOC2012'
dataset_train = dict(
    type='PascalVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline=train_pipeline)
dataset_aug = dict(
    dataset_train,
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt')
train_dataloader = dict(
    batch_size=4, dataset=dict(datasets=[dataset_train, dataset_aug]))
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 20000
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=4e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        # mmengine applies custom_keys instead of the bias rules: the ASPP
        # biases are named one by one (20x, no decay, as DeepLab-v2)
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            **{f'decode_head.conv_seg.{i}.bias':
               dict(lr_mult=20.0, decay_mult=0.0) for i in range(4)}
        }))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
# crash-safe checkpoints (mmnc's AtomicCheckpointHook), the last 3; no
# 'best': the one split evaluated is the split reported, so the last is reported
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3))
