# SE in stage 4 (the RoI head), as in faster-rcnn_r101-caffe-c4-se_1x_coco.py,
# on the small COCO-format set.
_base_ = './faster-rcnn_r101-caffe-c4_1xb2-2e_coco-tiny.py'
model = dict(roi_head=dict(shared_head=dict(plugins=[
    dict(cfg=dict(type='SEBlock', ratio=16),
         stages=(False, False, False, True), position='after_conv3')
])))
