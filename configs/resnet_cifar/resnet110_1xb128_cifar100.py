# ResNet-110: 1.74M params / 257.9M FLOPs / 72.01 top-1 in
# Table 1 of the C3Net paper.
_base_ = './resnet20_1xb128_cifar100.py'

model = dict(backbone=dict(depth=110))
