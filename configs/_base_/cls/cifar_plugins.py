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
# +Convs, the control of Table 1's bottom row: each NC block replaced by two
# 3x3 convolutions (hidden width 4x, BN, ReLU, residual) on the input of
# every stage, as NC. #params match Table 1 (R-20 0.39M, R-110 1.85M,
# WRN 36.10M); the FLOPs the convs add are 90% of the table's in all three
# (README, CIFAR).
cifar_convs = [
    dict(cfg=dict(type='ConvsBlock', expansion=4, kernel_size=3),
         stages=(True, True, True), position='before_stage'),
]
