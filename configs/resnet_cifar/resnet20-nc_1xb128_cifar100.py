# + NC as in the C3Net reference code on CIFAR: one NC block on the input of
# each stage, 16x16 grid before stages 1-2, 8x8 before stage 3, reduction 8.
# C3Net Table 1: 0.35M / 46.0M / 69.34 (params / FLOPs / top-1).
_base_ = './resnet20_1xb128_cifar100.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=16, reduction=8),
            stages=(True, True, False),
            position='before_stage'),
        dict(
            cfg=dict(type='NCBlock', grid=8, reduction=8),
            stages=(False, False, True),
            position='before_stage'),
    ]))
