"""DeepLab-v2 decode head: atrous spatial pyramid pooling straight to logits.

Chen et al., *DeepLab: Semantic Image Segmentation with Deep Convolutional
Nets, Atrous Convolution, and Fully Connected CRFs*, TPAMI 2017,
https://arxiv.org/abs/1606.00915
"""
from typing import List, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmengine.registry import MODELS
from mmseg.models.decode_heads.decode_head import BaseDecodeHead


class ASPPv2(nn.ModuleList):
    """Parallel 3x3 atrous convolutions to class logits, summed.

    Args:
        in_channels (int): Channels of the input feature map.
        out_channels (int): Channels of the output (the number of classes).
        dilations (Sequence[int]): The atrous rate of each branch.
        conv_cfg (dict, optional): Config of the conv layers. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilations: Sequence[int],
                 conv_cfg: dict | None = None):
        super().__init__(
            build_conv_layer(
                conv_cfg, in_channels, out_channels, 3, padding=d,
                dilation=d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(conv(x) for conv in self)


@MODELS.register_module()
class ASPPv2Head(BaseDecodeHead):
    """DeepLab-v2 head: ASPP whose branches are the pixel classifier.

    DeepLab-v2 (Chen et al., TPAMI 2017, https://arxiv.org/abs/1606.00915,
    Sec. 3.2 and Fig. 4) feeds the last backbone feature map to parallel
    atrous branches and sums their class scores. With ResNet-101 each branch
    is a single 3x3 atrous convolution straight to the logits, at the rates
    of "ASPP-L", (6, 12, 18, 24). Unlike DeepLab-v3's ``ASPPHead`` there is
    no image pooling branch, no normalization and no projection.

    The branches are the classifier, so they replace ``BaseDecodeHead``'s
    1x1 ``conv_seg`` (which would otherwise get no gradient) and inherit its
    ``Normal(std=0.01)`` init, the init of the paper's classifier; loss and
    prediction are ``BaseDecodeHead``'s.

    Args:
        in_channels (int | list[int]): Channels of the input feature map
            (a list, summed, with ``input_transform='resize_concat'``).
        dilations (Sequence[int]): Atrous rates of the branches.
            Default: (6, 12, 18, 24).
        dropout_ratio (float): Dropout before the branches; DeepLab-v2 with
            ResNet-101 has none. Default: 0.
        **kwargs: ``BaseDecodeHead`` arguments (``num_classes``,
            ``in_index``, ``loss_decode``, ...). ``channels`` is the input's
            channel count and is set from ``in_channels``.
    """

    def __init__(self,
                 in_channels: Union[int, List[int]],
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 dropout_ratio: float = 0.,
                 **kwargs):
        if 'channels' in kwargs:
            raise ValueError(
                'ASPPv2Head: do not set "channels"; the atrous branches map '
                'the in_channels input straight to num_classes logits')
        if kwargs.get('norm_cfg') is not None:
            raise ValueError(
                'ASPPv2Head has no normalization (DeepLab-v2); set '
                'norm_cfg=None, or use ASPPHead for DeepLab-v3')
        if kwargs.get('input_transform') == 'multiple_select':
            raise ValueError('ASPPv2Head takes one feature map; '
                             "input_transform='multiple_select' is not "
                             'supported')
        if (not isinstance(dilations, (list, tuple)) or not dilations
                or not all(isinstance(d, int) and d > 0 for d in dilations)):
            raise ValueError(f'ASPPv2Head: dilations must be a non-empty '
                             f'sequence of positive ints, got {dilations!r}')
        channels = (sum(in_channels) if isinstance(in_channels, (list, tuple))
                    else in_channels)
        super().__init__(
            in_channels, channels, dropout_ratio=dropout_ratio, **kwargs)
        self.dilations = tuple(dilations)
        self.conv_seg = ASPPv2(self.channels, self.out_channels,
                               self.dilations, self.conv_cfg)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._transform_inputs(inputs))
