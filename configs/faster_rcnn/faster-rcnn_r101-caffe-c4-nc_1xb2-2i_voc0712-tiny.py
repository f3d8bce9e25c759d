# The real VOC 07+12 R-101 C4 + NC detector on the project's small VOC-format
# set (`python tools/make_datasets.py voc --out data`), for tests: two
# iterations of the 18k recipe.
_base_ = [
    './faster-rcnn_r101-caffe-c4-nc_ms-18k_voc0712.py', '../_base_/det_tiny.py'
]

data_root = 'data/voc_tiny/VOCdevkit/'
metainfo = dict(classes=('aeroplane', 'bicycle', 'bird'))
model = {{_base_.tiny_model}}
voc = dict(type='VOCDataset', data_root=data_root, metainfo=metainfo)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(datasets=[
        dict(**voc, ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root=f'VOC{year}/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=32),
             pipeline={{_base_.tiny_train_pipeline}})
        for year in (2007, 2012)
    ]))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline={{_base_.tiny_test_pipeline}}))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = {{_base_.tiny_param_scheduler}}
optim_wrapper = {{_base_.tiny_optim_wrapper}}
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, save_best=None))
