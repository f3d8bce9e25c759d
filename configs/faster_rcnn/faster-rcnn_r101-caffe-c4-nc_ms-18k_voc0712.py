# NC after conv3 of every block of stage 4 (the RoI head). Its input there is
# 2048 x 7 x 7 (14 x 14 RoIAlign, stride-2 first block): grid 7 is exact.
_base_ = './faster-rcnn_r101-caffe-c4_ms-18k_voc0712.py'
model = dict(roi_head=dict(shared_head=dict(plugins=[
    dict(cfg=dict(type='NCBlock', grid=7),
         stages=(False, False, False, True), position='after_conv3')
])))
