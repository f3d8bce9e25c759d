# + Convs (../_base_/cls/cifar_plugins.py): each NC block of
# resnet110-nc_1xb128_cifar100.py replaced by two convolutions.
# C3Net Table 1: 1.85M / 321.0M / 71.57 (params / FLOPs / top-1); counted
# here: 1.85M / 312.3M (the paper's FLOPs count ~11% more in the convs).
_base_ = ['./resnet110_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_convs}}))
