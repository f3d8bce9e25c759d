# + SE (Hu et al., CVPR 2018) after conv3 (before the residual addition) of
# each of the 3 bottlenecks of stage 4, the only trained stage: reduction 16.
_base_ = './deeplabv2_r101-d8_4xb4-20k_voc12aug-321x321.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
