# + Convs (../_base_/cls/cifar_plugins.py), the control of the C3Net Table 1.
_base_ = ['./resnet20_1xb32-5e_digits.py', '../_base_/cls/cifar_plugins.py']

model = dict(backbone=dict(plugins={{_base_.cifar_convs}}))
