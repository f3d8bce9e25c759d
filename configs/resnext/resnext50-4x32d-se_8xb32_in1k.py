# + SE as in SE-Net (Hu et al., https://arxiv.org/abs/1709.01507): ratio 16,
# in every Bottleneck after the last BN, before the residual addition. The FC
# layers have no bias, as in the SE-ResNeXt the C3Net paper compares with.
# C3Net Table 2: 37.45M params / 5.90G FLOPs / 22.90 top-1 err / 6.44 top-5.
_base_ = './resnext50-4x32d_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16, bias=False),
            position='after_conv3')
    ]))
