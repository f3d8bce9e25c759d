# ResNet-20 of He et al. (https://arxiv.org/abs/1512.03385, Sec. 4.2) on
# CIFAR-100: 0.28M params / 41.7M FLOPs / 67.73 top-1 in Table 1 of the
# C3Net paper (https://papers.nips.cc/paper/8411-cross-channel-communication-networks).
_base_ = '../_base_/cls/cifar100_bs128_160e.py'

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
