# ResNet-56 (used in the C3Net paper, not in its Table 1).
_base_ = './resnet20_1xb128_cifar100.py'

model = dict(backbone=dict(depth=56))
