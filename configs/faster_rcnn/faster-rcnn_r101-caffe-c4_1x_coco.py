_base_ = [
    '../_base_/models/faster-rcnn_r101-caffe-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
