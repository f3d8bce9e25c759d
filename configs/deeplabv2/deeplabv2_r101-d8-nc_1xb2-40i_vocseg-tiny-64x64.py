# The tiny config + NC in stage 4, as in the -nc real config but with the
# grid of this crop: stage 4 of a 64x64 crop at output stride 8 is 8x8.
_base_ = './deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
