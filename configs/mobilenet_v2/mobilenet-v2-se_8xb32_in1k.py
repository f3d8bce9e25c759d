# + SE (Hu et al., https://arxiv.org/abs/1709.01507): ratio 16, FC layers
# without bias, in every inverted residual after the linear projection and
# its BN, before the residual addition.
# C3Net Table 2: 3.53M params / 0.32G FLOPs / 26.66 top-1 err / 8.86 top-5.
_base_ = './mobilenet-v2_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SEBlock', ratio=16, bias=False),
            position='after_linear')
    ]))
