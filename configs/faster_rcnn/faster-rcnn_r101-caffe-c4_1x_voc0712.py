# Pascal VOC 07+12 trainval, tested on VOC 2007 test; mmdet's VOC schedule
# (the dataset is repeated 3 times, so 4 epochs are 12).
_base_ = [
    '../_base_/models/faster-rcnn_r101-caffe-c4.py',
    'mmdet::_base_/datasets/voc0712.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))

max_epochs = 4
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[3], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# crash-safe checkpoints (mmnc's AtomicCheckpointHook): the last 3 and the best
default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='pascal_voc/mAP'))
