# + NC (the C3Net paper gives no ImageNet placement and its code none we could
# use): one NC block at the end of each of the stages 4-7 (the 14x14 and 7x7
# stages at 224x224), on a 7x7 grid, reduction 8 (#params and FLOPs: README).
# C3Net Table 2: 3.51M params / 0.32G FLOPs / 26.29 top-1 err / 9.09 top-5.
_base_ = './mobilenet-v2_8xb32_in1k.py'

model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NCBlock', grid=7, reduction=8),
            stages=(False, False, False, True, True, True, True),
            position='after_stage')
    ]))
