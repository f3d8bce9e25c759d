# The tiny config + SE in stage 4, as in the -se real config.
_base_ = './deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
