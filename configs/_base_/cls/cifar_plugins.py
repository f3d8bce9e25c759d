# The C3Net reference placements on CIFAR, shared by the -nc / -se configs
# (as `plugins={{_base_.cifar_nc}}`; the names are new to their other base).
# NC: one block on the input of each stage, 16x16 grid before stages 1-2,
# 8x8 before stage 3, reduction 8; as the reference, which trains these
# networks from scratch, a ReLU after the addition and the decoder
# initialised like the other layers (not zeroed: there is no pretrained
# function to keep).
cifar_nc = [
    dict(cfg=dict(type='NCBlock', grid=16, reduction=8,
                  act_cfg=dict(type='ReLU'), zero_init=False),
         stages=(True, True, False), position='before_stage'),
    dict(cfg=dict(type='NCBlock', grid=8, reduction=8,
                  act_cfg=dict(type='ReLU'), zero_init=False),
         stages=(False, False, True), position='before_stage'),
]
# SE: ratio 8, FC layers without bias, in every block after the last BN,
# before the residual addition.
cifar_se = [
    dict(cfg=dict(type='SEBlock', ratio=8, bias=False),
         position='after_conv2')
]
