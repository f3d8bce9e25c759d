# + NC in every bottleneck of stage 4 (the RoI head), as in
# ../faster_rcnn/faster-rcnn_r101-caffe-c4-nc_1x_coco.py: the grid is the
# stage's map (4x4 here), reduction 4 so that the hidden layer is 4 wide, and
# 4 groups of 128 channels, as the full size has 4 groups of 512 (2048).
_base_ = './faster-rcnn_r50-w16-c4_1xb4-4e_coco-shapes.py'
model = dict(roi_head=dict(shared_head=dict(plugins=[
    dict(cfg=dict(type='NCBlock', grid=4, reduction=4, group_size=128),
         stages=(False, False, False, True), position='after_conv3')
])))
