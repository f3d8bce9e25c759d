# + NC as the C3Net reference on CIFAR (../_base_/cls/cifar_plugins.py).
# C3Net Table 1: 0.35M / 46.0M / 69.34 (params / FLOPs / top-1).
_base_ = ['./resnet20_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_nc}}))
