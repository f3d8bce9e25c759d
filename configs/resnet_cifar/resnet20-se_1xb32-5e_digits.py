# + SE as the C3Net reference on CIFAR (../_base_/cls/cifar_plugins.py).
_base_ = ['./resnet20_1xb32-5e_digits.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_se}}))
