# + SE in every bottleneck of stage 4 (the RoI head), as in
# ../faster_rcnn/faster-rcnn_r101-caffe-c4-se_1x_coco.py.
_base_ = './faster-rcnn_r50-w16-c4_1xb4-4e_coco-shapes.py'
model = dict(roi_head=dict(shared_head=dict(plugins=[
    dict(cfg=dict(type='SEBlock', ratio=16),
         stages=(False, False, False, True), position='after_conv3')
])))
