# The real DeepLab-v2 config cut down for one CPU process (tests): the
# project's tiny VOC-format set (python tools/make_datasets.py vocseg --out
# data), BN instead of SyncBN, gloo, no pretrained download (random init),
# 64x64 crops of the 128x128 images (stage 4 is 8x8), 2 images per batch,
# 40 iterations; tested on whole images, padded to 128x128.
_base_ = './deeplabv2_r101-d8_4xb4-20k_voc12aug-321x321.py'
crop_size = (64, 64)
data_root = 'data/vocseg_tiny/VOCdevkit/VOC2012'
model = dict(
    data_preprocessor=dict(size=crop_size, test_cfg=dict(size=(128, 128))),
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=False),
                  init_cfg=None))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(128, 128),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40,
         by_epoch=False)
]
train_cfg = dict(max_iters=40, val_interval=40)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=40, save_best=None))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
