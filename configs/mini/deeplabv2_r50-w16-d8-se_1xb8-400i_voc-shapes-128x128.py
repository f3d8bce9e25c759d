# + SE in every bottleneck of stage 4, as in
# ../deeplabv2/deeplabv2_r101-d8-se_4xb4-20k_voc12aug-321x321.py.
_base_ = './deeplabv2_r50-w16-d8_1xb8-400i_voc-shapes-128x128.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
