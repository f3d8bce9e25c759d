"""ASPPv2Head: the DeepLab-v2 head inside mmseg's decode-head machinery."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmnc  # noqa: F401
from mmnc.models.seg import ASPPv2Head

RATES = (6, 12, 18, 24)


def build_head(**kwargs) -> ASPPv2Head:
    cfg = dict(type='ASPPv2Head', in_channels=16, num_classes=5, **kwargs)
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = MODELS.build(cfg)
    head.init_weights()
    return head


def plain_aspp_v2(x: torch.Tensor, weights, biases, rates) -> torch.Tensor:
    """DeepLab-v2's ASPP: sum_r conv3x3_r(x), each branch to the logits."""
    return sum(
        F.conv2d(x, w, b, padding=r, dilation=r)
        for w, b, r in zip(weights, biases, rates))


def test_builds_from_the_mmseg_scope_with_the_paper_rates():
    head = build_head()
    assert isinstance(head, ASPPv2Head)
    assert head.dilations == RATES
    assert [c.dilation for c in head.conv_seg] == [(r, r) for r in RATES]
    assert [c.padding for c in head.conv_seg] == [(r, r) for r in RATES]
    assert all(c.kernel_size == (3, 3) and c.in_channels == 16
               and c.out_channels == 5 for c in head.conv_seg)
    assert head.dropout is None  # DeepLab-v2 with ResNet has no dropout
    # the branches are the classifier: nothing else holds parameters
    assert sorted(n for n, _ in head.named_parameters()) == sorted(
        f'conv_seg.{i}.{p}' for i in range(4) for p in ('weight', 'bias'))
    # the paper's (and BaseDecodeHead's) classifier init
    weight = torch.cat([c.weight.flatten() for c in head.conv_seg])
    assert abs(weight.std().item() - 0.01) < 1e-3
    assert all(c.bias.abs().sum() == 0 for c in head.conv_seg)


@pytest.mark.parametrize('size', [(9, 11), (41, 41)])
def test_matches_plain_aspp_v2(size):
    torch.manual_seed(0)
    head = build_head().eval()
    for conv in head.conv_seg:  # non-zero biases, so they are checked too
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(2, 16, *size)
    out = head([torch.randn(2, 8, 3, 3), x])  # in_index=-1: the last map
    expected = plain_aspp_v2(x, [c.weight for c in head.conv_seg],
                             [c.bias for c in head.conv_seg], RATES)
    assert out.shape == (2, 5, *size)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_loss_reaches_every_parameter_and_predict_upsamples():
    torch.manual_seed(0)
    head = build_head(dilations=(1, 2))
    feats = [torch.randn(2, 16, 8, 8)]
    samples = []
    for _ in range(2):
        label = torch.randint(0, 5, (1, 64, 64))
        label[:, :4] = 255
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=label)))
    losses = head.loss(feats, samples, train_cfg={})
    losses['loss_ce'].backward()
    assert torch.isfinite(losses['loss_ce'])
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in head.parameters())

    logits = head.predict(feats, [dict(img_shape=(64, 64))] * 2, {})
    assert logits.shape == (2, 5, 64, 64)


@pytest.mark.parametrize('kwargs, match', [
    (dict(channels=512), 'do not set "channels"'),
    (dict(norm_cfg=dict(type='BN')), 'no normalization'),
    (dict(dilations=()), 'dilations'),
    (dict(dilations=(6, 0)), 'dilations'),
])
def test_user_errors_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_head(**kwargs)
