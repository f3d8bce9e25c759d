# SE (ratio 16) after conv3 of every block of stage 4 (the RoI head).
_base_ = './faster-rcnn_r101-caffe-c4_ms-18k_voc0712.py'
model = dict(roi_head=dict(shared_head=dict(plugins=[
    dict(cfg=dict(type='SEBlock', ratio=16),
         stages=(False, False, False, True), position='after_conv3')
])))
