# NC after conv3 of every block of backbone stage 4. At the 1333 x 800 scale
# stage 4 (stride 32) is about 42 x 25, landscape or portrait; a square 16 x 16
# grid (S = 256, hidden 32) keeps half the resolution in either orientation
# for 33k parameters per block (the full 42 x 25 map would be 0.55M each).
_base_ = './faster-rcnn_r101_fpn_1x_coco.py'
model = dict(backbone=dict(plugins=[
    dict(cfg=dict(type='NCBlock', grid=16),
         stages=(False, False, False, True), position='after_conv3')
]))
