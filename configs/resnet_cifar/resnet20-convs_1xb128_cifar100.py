# + Convs (../_base_/cls/cifar_plugins.py): each NC block of
# resnet20-nc_1xb128_cifar100.py replaced by two convolutions.
# C3Net Table 1: 0.39M / 104.8M / 68.58 (params / FLOPs / top-1); counted
# here: 0.39M / 98.3M (the paper's FLOPs count ~11% more in the convs).
_base_ = ['./resnet20_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_convs}}))
