# + NC, placed as on CIFAR (see resnet20-nc_1xb128_cifar100.py).
_base_ = './resnet20_1xb32-5e_digits.py'

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
