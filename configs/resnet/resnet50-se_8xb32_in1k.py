# + SE as in SE-Net (Hu et al., https://arxiv.org/abs/1709.01507): ratio 16,
# in every Bottleneck after the last BN, before the residual addition. The FC
# layers have no bias, as in the SE-ResNeXt the C3Net paper compares with.
_base_ = './resnet50_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16, bias=False),
            position='after_conv3')
    ]))
