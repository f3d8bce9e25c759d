# Faster R-CNN, ResNet-101 (caffe) C4: stages 1-3 in the backbone, stage 4 is
# the RoI shared head -- the layout of the seed's detection results. mmnc's
# PluginResLayer is mmdet's ResLayer plus the backbone's `plugins` list.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)

pretrained = 'open-mmlab://detectron2/resnet101_caffe'
model = dict(
    backbone=dict(depth=101, init_cfg=dict(checkpoint=pretrained)),
    roi_head=dict(
        shared_head=dict(
            type='PluginResLayer',
            depth=101,
            init_cfg=dict(checkpoint=pretrained))))
