# + NC (the C3Net paper gives no ImageNet placement and its code none we could
# use): in every Bottleneck of stage 4, after the last BN, before the residual
# addition (where SE goes), on a 7x7 grid (the stage's maps at 224x224, so no
# resizing), reduction 8. Its cost (far below the paper's +0.36M parameters
# on ResNeXt-50): README, "Configs".
# C3Net Table 2: 35.29M params / 5.89G FLOPs / 22.51 top-1 err / 6.23 top-5.
_base_ = './resnext50-4x32d_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=7, reduction=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
