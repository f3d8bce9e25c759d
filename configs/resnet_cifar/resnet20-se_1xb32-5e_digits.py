# + SE, placed as on CIFAR (see resnet20-se_1xb128_cifar100.py).
_base_ = './resnet20_1xb32-5e_digits.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=8, bias=False),
            position='after_conv2')
    ]))
