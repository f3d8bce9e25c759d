# + SE as the C3Net reference on CIFAR (../_base_/cls/cifar_plugins.py).
# C3Net Table 1: 27.3M / 3.84G / 78.57 (params / FLOPs / top-1).
_base_ = ['./wrn22-10_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_se}}))
