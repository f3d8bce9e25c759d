# + NC (cross-channel communication, Yang et al., NeurIPS 2019) after conv3
# (before the residual addition) of each of the 3 bottlenecks of stage 4,
# the only trained stage; 2048 channels talk in 4 groups of 512.
#
# Grid 41x41: stage 4 of a 321x321 training crop at output stride 8 is
# 41x41, so in training the block sees the feature map itself, with no
# resampling (a 21x21 grid would cost a fifth of the parameters but keep one
# response in four and send 2x2-blocky messages back). At test time the
# whole image (65x65 at stage 4) is resampled to and from the grid. #params
# and FLOPs: README, "Configs".
_base_ = './deeplabv2_r101-d8_4xb4-20k_voc12aug-321x321.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=41),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
