# The Wide-ResNet of Table 1 of the C3Net paper (https://papers.nips.cc/paper/8411-cross-channel-communication-networks):
# 26.9M params / 3.84G FLOPs / 77.96 top-1. It is the reference code's
# `wresnet20`: 3 post-activation BasicBlocks per stage, widen factor 10, i.e.
# CifarResNet depth 20 (6n + 2); Zagoruyko & Komodakis
# (https://arxiv.org/abs/1605.07146), who also count the three projection
# shortcuts (6n + 4), call it WRN-22-10.
_base_ = '../resnet_cifar/resnet20_1xb128_cifar100.py'

model = dict(
    backbone=dict(depth=20, widen_factor=10), head=dict(in_channels=640))
