# What the small-data detection configs (tests, demo) change in the real ones:
# 160 px images, fewer RoIs (on a CPU the RoI count, not the image, dominates
# the cost), no pretrained download, short schedules. Leaves use the names
# as `{{_base_.tiny_model}}` etc. (each name is new to their other base).
tiny_model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        shared_head=dict(init_cfg=None), bbox_head=dict(num_classes=3)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=256, max_per_img=64),
        rcnn=dict(sampler=dict(num=32))),
    # keep every box: a barely trained model may score none above 0.05, and
    # COCO/VOC metrics of an empty result are not reported at all
    test_cfg=dict(rpn=dict(nms_pre=256, max_per_img=32),
                  rcnn=dict(score_thr=0.0)))
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)
]
tiny_optim_wrapper = dict(
    optimizer=dict(lr=0.0025), clip_grad=dict(max_norm=10, norm_type=2))
tiny_runtime = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
