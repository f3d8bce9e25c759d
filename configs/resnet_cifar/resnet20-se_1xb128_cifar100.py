# + SE as in the C3Net reference code on CIFAR: ratio 8, FC layers without
# bias, in every block after the last BN, before the residual addition.
# C3Net Table 1: 0.28M / 41.8M / 68.57 (params / FLOPs / top-1).
_base_ = './resnet20_1xb128_cifar100.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=8, bias=False),
            position='after_conv2')
    ]))
