# + NC (cross-channel communication, Yang et al., NeurIPS 2019) after conv3
# (before the residual addition) of each of the 3 bottlenecks of stage 4,
# the only trained stage; 2048 channels talk in 4 groups of 512.
#
# Grid 41x41: stage 4 of a 321x321 crop at output stride 8 is 41x41, so in
# training (and in each 321x321 test window) the block sees the feature map
# itself, with no resampling. Its two MLPs (S -> S/8 -> S, S = 41 * 41 =
# 1681) then have 2 x (2 x 1681 x 210 + 210 + 1681) = 1.42M parameters per
# block: 4.25M for the 3 blocks, +9.6% over the 44.07M baseline (+SE: 1.58M),
# and +14.0 GMACs per 321x321 crop (90.0 vs 76.0). A 21x21 grid would cost
# 0.29M and ~2 GMACs but keep one response in four (nearest resampling, as
# the reference) and send 2x2-blocky messages back. Any input size works:
# the block resamples to and from its grid.
_base_ = './deeplabv2_r101-d8_4xb4-20k_voc12aug-321x321.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=41),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
