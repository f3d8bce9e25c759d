# + Convs (../_base_/cls/cifar_plugins.py): each NC block of
# resnet56-nc_1xb128_cifar100.py replaced by two convolutions.
_base_ = ['./resnet56_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_convs}}))
