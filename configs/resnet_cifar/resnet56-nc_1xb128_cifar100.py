# + NC as the C3Net reference on CIFAR (../_base_/cls/cifar_plugins.py).
_base_ = ['./resnet56_1xb128_cifar100.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_nc}}))
