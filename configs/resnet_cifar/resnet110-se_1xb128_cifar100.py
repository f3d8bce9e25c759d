# + SE as the C3Net reference on CIFAR (../_base_/cls/cifar_plugins.py).
# C3Net Table 1: 1.76M / 258.5M / 72.47 (params / FLOPs / top-1).
_base_ = ['./resnet110_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_se}}))
