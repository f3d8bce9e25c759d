"""Training features the hosts offer, with NC inside: gradient checkpointing
(``with_cp=True``) and DDP without unused parameters (2-process gloo)."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.registry import MODELS, DefaultScope
from test_dist import free_port

import mmnc  # noqa: F401
from mmnc.layers import NCBlock

NC = dict(type='NCBlock', grid=7, zero_init=False)  # as after training
STAGE4 = dict(cfg=NC, stages=(False, False, False, True),
              position='after_conv3')
HOSTS = {
    # mmdet's ResNet (FPN detectors), mmseg's ResNetV1c at output stride 8
    # (DeepLab-v2), mmnc's C4 RoI head (Faster R-CNN C4)
    'mmdet-resnet': ('mmdet', dict(type='ResNet', depth=50,
                                      plugins=[STAGE4]), (2, 3, 64, 64)),
    'mmseg-resnetv1c-d8': ('mmseg', dict(
        type='ResNetV1c', depth=50, dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1), contract_dilation=True, plugins=[STAGE4]),
        (2, 3, 32, 32)),
    'c4-roi-head': ('mmdet', dict(type='PluginResLayer', depth=50,
                                     plugins=[STAGE4]), (2, 1024, 14, 14)),
}


@pytest.mark.classic
@pytest.mark.parametrize('host', list(HOSTS))
def test_with_cp_gives_the_same_gradients(host):
    scope, cfg, shape = HOSTS[host]
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        plain = MODELS.build(dict(cfg, with_cp=False))
        ckpt = MODELS.build(dict(cfg, with_cp=True))
    ckpt.load_state_dict(plain.state_dict())
    plain.train(), ckpt.train()  # mmdet's ResNet.train returns None
    assert any(isinstance(m, NCBlock) for m in ckpt.modules())
    assert any(getattr(m, 'with_cp', False) for m in ckpt.modules())
    x = torch.randn(shape)
    grads = []
    for model in (plain, ckpt):
        xi = x.clone().requires_grad_()
        out = model(xi)
        out = out if isinstance(out, torch.Tensor) else out[-1]
        # .backward(), not autograd.grad: mmdet/mmseg checkpoint with
        # use_reentrant=True, which supports only .backward()
        out.square().mean().backward()
        grads.append({'input': xi.grad, **{
            n: p.grad for n, p in model.named_parameters()
            if p.requires_grad}})
    assert grads[0].keys() == grads[1].keys()
    for name, ref in grads[0].items():
        got = grads[1][name]
        assert ref is not None and got is not None, name
        scale = max(1e-12, ref.abs().max().item())
        assert (got - ref).abs().max().item() <= 1e-5 * scale, name
    nc = [n for n in grads[1] if 'nc_block' in n]
    assert nc and all(grads[1][n].abs().sum() > 0 for n in nc)


def _classifier(zero_init: bool) -> torch.nn.Module:
    """ResNet-20 with the reference's NC placements and SE, GroupNorm (so
    that a batch split over processes computes what one process does)."""
    torch.manual_seed(0)
    nc = [dict(cfg=dict(type='NCBlock', grid=g, zero_init=zero_init),
               stages=s, position='before_stage')
          for g, s in ((16, (True, True, False)), (8, (False, False, True)))]
    se = [dict(cfg=dict(type='SEBlock', ratio=8), position='after_conv2')]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = _build_classifier(nc + se)
    model.init_weights()
    return model


def _build_classifier(plugins: list) -> torch.nn.Module:
    return MODELS.build(dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               num_classes=10, mean=[77.9] * 3,
                               std=[95.9] * 3),
        backbone=dict(type='CifarResNet', depth=20, plugins=plugins,
                      norm_cfg=dict(type='GN', num_groups=8)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10,
                  in_channels=64)))


def _batches(steps: int = 3, size: int = 8):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        imgs = torch.randint(0, 256, (size, 3, 16, 16), generator=g,
                             dtype=torch.uint8)
        labels = torch.randint(0, 10, (size, ), generator=g)
        yield list(imgs), [DataSample().set_gt_label(int(y)) for y in labels]


def _train(model, rank: int = 0, world: int = 1) -> list:
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1,
                                         momentum=0.9))
    losses = []
    for imgs, samples in _batches():
        n = len(imgs) // world
        part = slice(rank * n, (rank + 1) * n)
        log = model.train_step(dict(inputs=imgs[part],
                                    data_samples=samples[part]), optim)
        losses.append(float(log['loss']))
    return losses


def _ddp_worker(rank: int, world: int, port: int, zero_init: bool,
                out: str) -> None:
    from mmengine.model import MMDistributedDataParallel
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        ddp = MMDistributedDataParallel(
            module=_classifier(zero_init), device_ids=None,
            find_unused_parameters=False, broadcast_buffers=False)
        losses = _train(ddp, rank, world)
        torch.save(dict(losses=losses, state=ddp.module.state_dict()),
                   f'{out}.{rank}')
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('zero_init', [True, False], ids=['nc-zero-init',
                                                           'nc-trained'])
def test_ddp_without_unused_parameters(zero_init, tmp_path):
    """find_unused_parameters=False: DDP raises from the second step on if a
    parameter got no gradient. Two processes train as one does on the whole
    batch (GroupNorm, SGD)."""
    out = str(tmp_path / 'rank')
    mp.spawn(_ddp_worker, args=(2, free_port(), zero_init, out), nprocs=2)
    ranks = [torch.load(f'{out}.{r}', weights_only=False) for r in (0, 1)]
    one = _classifier(zero_init)
    losses = _train(one)
    assert all(torch.isfinite(torch.tensor(r['losses'])).all()
               for r in ranks)
    for key, value in one.state_dict().items():
        torch.testing.assert_close(ranks[0]['state'][key],
                                   ranks[1]['state'][key], rtol=0, atol=0)
        torch.testing.assert_close(ranks[0]['state'][key], value,
                                   rtol=1e-4, atol=1e-5)
    # each rank's loss is the mean over its half of the batch
    mean = [(a + b) / 2 for a, b in zip(ranks[0]['losses'],
                                        ranks[1]['losses'])]
    assert mean == pytest.approx(losses, rel=1e-4)
