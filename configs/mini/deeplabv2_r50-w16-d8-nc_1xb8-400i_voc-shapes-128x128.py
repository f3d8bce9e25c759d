# + NC in every bottleneck of stage 4, as in
# ../deeplabv2/deeplabv2_r101-d8-nc_4xb4-20k_voc12aug-321x321.py: the grid
# is the stage's map (16x16 for these 128x128 images), and 4 groups of 128
# channels, as the full size has 4 groups of 512 (2048).
_base_ = './deeplabv2_r50-w16-d8_1xb8-400i_voc-shapes-128x128.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=16, group_size=128),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
