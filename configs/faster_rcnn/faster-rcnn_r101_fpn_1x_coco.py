# The modern layout: ResNet-101 + FPN, NC/SE in backbone stage 4.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
