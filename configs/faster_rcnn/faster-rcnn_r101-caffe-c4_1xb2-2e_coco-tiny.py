# The real R-101 C4 detector on the project's small COCO-format set
# (`python tools/make_datasets.py coco --out data`), for tests and the demo.
_base_ = ['./faster-rcnn_r101-caffe-c4_1x_coco.py', '../_base_/det_tiny.py']

data_root = 'data/coco_tiny/'
metainfo = dict(classes=('square', 'circle', 'triangle'))
model = {{_base_.tiny_model}}
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline={{_base_.tiny_train_pipeline}}))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        pipeline={{_base_.tiny_test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = {{_base_.tiny_param_scheduler}}
optim_wrapper = {{_base_.tiny_optim_wrapper}}
default_hooks = {{_base_.tiny_runtime}}
