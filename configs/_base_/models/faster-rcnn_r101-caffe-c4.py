# What the C4 detection configs change in mmdet's Faster R-CNN R-50 C4
# (`model = {{_base_.r101_c4}}` in a config that also inherits mmdet's
# model): ResNet-101, and stage 4 -- the RoI shared head, the layout of the
# seed's detection results -- built by mmnc's PluginResLayer, mmdet's
# ResLayer plus the backbone's `plugins` list.
#
# The protocol of the seed ("we add the SE blocks to the 4th residual stage
# and fix the lower layers in ResNet-101"), the same for detection and
# segmentation: stem and stages 1-3 frozen (here: the whole C4 backbone),
# stage 4 (where -se / -nc add their block) and the heads trained, every BN
# frozen (statistics and affine parameters) as in mmdet's caffe C4 models.
# ImageNet-pretrained (detectron2's caffe ResNet-101).
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

pretrained = 'open-mmlab://detectron2/resnet101_caffe'
r101_c4 = dict(
    backbone=dict(
        depth=101, frozen_stages=3, init_cfg=dict(checkpoint=pretrained)),
    roi_head=dict(
        shared_head=dict(
            type='PluginResLayer',
            depth=101,
            init_cfg=dict(checkpoint=pretrained))))
