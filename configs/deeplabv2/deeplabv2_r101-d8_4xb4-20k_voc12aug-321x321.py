# DeepLab-v2 (Chen et al., TPAMI 2017, https://arxiv.org/abs/1606.00915):
# ResNet-101 at output stride 8 (dilations 2 and 4 in stages 3 and 4) and
# ASPP with rates (6, 12, 18, 24) summed into class logits (`ASPPv2Head`),
# on Pascal VOC 2012 + SBD ("aug"), 4 GPUs x 4 images, 20k iterations.
#
# Backbone: mmseg's ResNetV1c (deep 3x3 stem, stride in the 3x3 conv, first
# block of a dilated stage at half the rate) from open-mmlab://resnet101_v1c,
# the backbone of mmseg's own DeepLab/PSPNet r101-d8 models, rather than the
# paper's caffe ResNet-101, whose converted weights OpenMMLab does not ship.
# As the seed, the lower layers are fixed: stem and stages 1-3 frozen
# (frozen_stages=3) and all BN statistics frozen (norm_eval=True); stage 4
# (where -se / -nc add their block) and the head are trained.
#
# Crop 321x321 as the paper (mmseg's VOC models use 512x512): stage 4 is then
# 41x41, the grid the NC block of the -nc variant is built for. Testing
# slides 321x321 windows over the image so that every window is seen as in
# training (the NC block's MLPs act on absolute grid positions); the three
# variants share this protocol.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
default_scope = 'mmseg'

crop_size = (321, 321)
# With norm_eval=True every BN is in eval mode, so SyncBN never syncs; it is
# kept as in mmseg's multi-GPU configs. Single-machine/CPU runs need BN:
# --cfg-options model.backbone.norm_cfg.type=BN
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
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
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(214, 214)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
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
train_dataloader = dict(dataset=dict(datasets=[dataset_train, dataset_aug]))
# crash-safe checkpoints (mmnc's AtomicCheckpointHook): the last 3 and the best
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='mIoU'))
