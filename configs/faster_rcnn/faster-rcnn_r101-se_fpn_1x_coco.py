# SE (ratio 16) after conv3 of every block of backbone stage 4.
_base_ = './faster-rcnn_r101_fpn_1x_coco.py'
model = dict(backbone=dict(plugins=[
    dict(cfg=dict(type='SEBlock', ratio=16),
         stages=(False, False, False, True), position='after_conv3')
]))
