# + Convs (../_base_/cls/cifar_plugins.py): each NC block of
# wrn22-10-nc_1xb128_cifar100.py replaced by two convolutions.
# C3Net Table 1: 36.1M / 8.05G / 75.50 (params / FLOPs / top-1); counted
# here: 36.10M / 7.63G (the paper's FLOPs count ~11% more in the convs).
_base_ = ['./wrn22-10_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_convs}}))
