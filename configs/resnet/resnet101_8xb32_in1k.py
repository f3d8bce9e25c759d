# ResNet-101 on ImageNet: ResNet-50's config with depth 101 (44.55M params).
_base_ = './resnet50_8xb32_in1k.py'

model = dict(backbone=dict(depth=101))
