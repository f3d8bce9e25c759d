# + NC (the C3Net paper gives no ImageNet placement and its code none we could
# use): in every Bottleneck of stage 4, after the last BN, before the residual
# addition (where SE goes), on a 7x7 grid (the stage's maps at 224x224, so no
# resizing), reduction 8. Its cost (far below the paper's +0.36M parameters
# on ResNeXt-50): README, "Configs".
_base_ = './resnet50_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=7, reduction=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
