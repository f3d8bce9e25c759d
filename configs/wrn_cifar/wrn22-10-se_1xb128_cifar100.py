# + SE as in the C3Net reference code on CIFAR: ratio 8, FC layers without
# bias, in every block after the last BN, before the residual addition.
# C3Net Table 1: 27.3M / 3.84G / 78.57 (params / FLOPs / top-1).
_base_ = './wrn22-10_1xb128_cifar100.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=8, bias=False),
            position='after_conv2')
    ]))
