"""The channel statistics of mmnc.analysis.channels, and
tools/analysis/channel_analysis.py on tiny runs.

Hand cases (orthogonal, duplicated, equicorrelated channels), NC blocks
made to be the identity or to communicate uniformly, the intervals'
coverage on simulated per-image values, and the tool end to end on
ResNet-20 work dirs made in the test (weights from ``init_weights()``,
not trained: the tool reads any checkpoint that fits its config; training
would only cost time) with its errors on bad input.
"""
import importlib.util
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from PIL import Image
from toolrun import ROOT

from mmnc.analysis import channels as ch
from mmnc.analysis import paired_stats as ps
from mmnc.layers import NCBlock, SEBlock
from mmnc.testing.naive_nc import naive_nc

pytestmark = pytest.mark.usefixtures('one_thread')
CONFIG = 'configs/resnet_cifar/resnet20{}_1xb32-5e_digits.py'
PNG = b'\x89PNG\r\n\x1a\n'


def maps(rows) -> list:
    """A ``[C, P]`` array as one map ``[1, C, 1, P]``."""
    return [torch.as_tensor(np.asarray(rows, float))[None, :, None]]


def test_orthogonal_and_duplicated_channels():
    a, b = [1, -1, 1, -1], [1, 1, -1, -1]  # centred, orthogonal
    assert ch.redundancy(maps([a, b])) == pytest.approx((0, 2), abs=1e-12)
    assert ch.redundancy(maps([a, a])) == pytest.approx((1, 1), abs=1e-12)
    corr, _ = ch.redundancy(maps([a, [-x for x in a]]))
    assert corr == pytest.approx(1)  # |corr|: anti-correlated is redundant
    # a constant channel has no correlation: left out, not counted as 0
    assert ch.redundancy(maps([a, b, [3] * 4]))[0] == pytest.approx(0)
    assert math.isnan(ch.mean_abs_correlation(ch.response_matrix(
        maps([a, [3] * 4]))))
    # maps of several samples: their positions are pooled
    two = [torch.tensor([[[a[:2]], [b[:2]]]], dtype=torch.float64),
           torch.tensor([[[a[2:]], [b[2:]]]], dtype=torch.float64)]
    assert ch.redundancy(two) == pytest.approx((0, 2), abs=1e-12)


def test_equicorrelated_channels():
    """Channels ``sqrt(rho) z + sqrt(1 - rho) e_c``: pairwise correlation
    rho; covariance eigenvalues ``1 + (C - 1) rho`` once and ``1 - rho``
    C - 1 times (singular values: their square roots)."""
    rng = np.random.default_rng(0)
    c, p, rho = 8, 40000, 0.5
    r = math.sqrt(rho) * rng.normal(size=(1, p)) + math.sqrt(
        1 - rho) * rng.normal(size=(c, p))
    corr, erank = ch.redundancy(maps(r))
    s = np.sqrt([1 + (c - 1) * rho] + [1 - rho] * (c - 1))
    q = s / s.sum()
    assert corr == pytest.approx(rho, abs=0.02)
    assert erank == pytest.approx(math.exp(-(q * np.log(q)).sum()), rel=0.02)


def test_duplicated_channels_raise_redundancy():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(16, 500))
    dup = np.concatenate([r[:8], r[:8]])
    (c0, e0), (c1, e1) = ch.redundancy(maps(r)), ch.redundancy(maps(dup))
    assert c1 > c0 + 0.05 and e1 < 0.7 * e0


def test_relative_residual():
    x = [torch.ones(2, 3, 4, 4)]
    assert ch.relative_residual(x, x) == 0
    assert ch.relative_residual(x, [2 * x[0]]) == pytest.approx(1)
    assert math.isnan(ch.relative_residual([0 * x[0]], x))


def test_affinity_entropy_bounds():
    flat = ch.affinity(torch.zeros(2, 5))
    assert torch.allclose(flat, torch.full_like(flat, 0.2))
    assert ch.affinity_entropy(flat).tolist() == pytest.approx([1, 1])
    far = ch.affinity(torch.arange(5.)[None] * 100)  # each hears itself
    assert ch.affinity_entropy(far).item() == pytest.approx(0, abs=1e-12)
    assert ch.key_spread(torch.tensor([[1., 3.]])).item() == 1


def test_nc_keys_are_the_blocks_keys():
    """:func:`nc_keys` with the block's encoder and decoder rebuilds the
    block's output (so they are the keys the block uses)."""
    torch.manual_seed(0)
    block = NCBlock(8, grid=4, reduction=2, group_size=4, zero_init=False)
    x = torch.randn(3, 8, 6, 6)
    keys = ch.nc_keys(block, x)  # [3 * 2, 4]
    assert keys.shape == (6, 4)
    g = nn.functional.interpolate(x, size=(4, 4), mode='nearest')
    v = block.encoder(g.reshape(6, 4, 16))  # [B, C', S]
    msg = ch.affinity(keys).float() @ v  # [B, C'(j), S]
    delta = nn.functional.interpolate(block.decoder(msg).view(3, 8, 4, 4),
                                      size=(6, 6), mode='nearest')
    with torch.no_grad():
        assert torch.allclose(x + delta, block(x), atol=1e-5)
        assert torch.allclose(block(x), naive_nc(block, x), atol=1e-5)


class Net(nn.Module):
    def __init__(self, block: nn.Module):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.stage = nn.Sequential(block, nn.ReLU())

    def forward(self, x):
        return self.stage(self.conv(x))


def record(block: nn.Module, images: int = 4) -> ps.PerImage:
    torch.manual_seed(0)
    net = Net(block).eval()
    with ch.ChannelRecorder(net, ['stage']) as rec, torch.no_grad():
        for i in range(images):
            net(torch.randn(2, 3, 6, 6))  # two samples an image (as RoIs)
            rec.image_done(i)
    return rec, rec.per_image()


def test_recorder_zero_decoder_is_the_identity():
    rec, pi = record(NCBlock(8, grid=4, reduction=2, zero_init=True))
    a = pi.arrays
    assert (a['stage.0:residual'] == 0).all()
    assert (a['stage.0:corr_after'] == a['stage.0:corr_before']).all()
    assert (a['stage.0:erank_after'] == a['stage.0:erank_before']).all()
    assert list(pi.ids) == [0, 1, 2, 3] and len(rec.heat_keys) == 3
    assert len(rec.spreads['stage.0']) == 4 * 2  # images x samples
    assert {'places:corr', 'blocks:entropy', 'stage:erank'} <= set(a)
    # the hooks are gone after the with block
    assert not rec._handles


def test_recorder_constant_keys_give_uniform_affinity():
    block = NCBlock(8, grid=4, reduction=2, zero_init=False)
    nn.init.zeros_(block.encoder[2].weight)
    nn.init.constant_(block.encoder[2].bias, 0.3)
    _, pi = record(block)
    assert pi.arrays['stage.0:entropy'] == pytest.approx(1, abs=1e-12)
    assert pi.arrays['stage.0:key_spread'] == pytest.approx(0, abs=1e-12)
    assert (pi.arrays['stage.0:residual'] > 0).all()


def test_recorder_se_block_has_no_affinity():
    _, pi = record(SEBlock(8, ratio=2))
    assert 'stage.0:residual' in pi.arrays
    assert 'stage.0:entropy' not in pi.arrays


def test_intervals_cover_the_mean_at_about_95_percent():
    """Per-image values N(mu, 1) of 40 images; the run's 95% interval of
    the mean, and of a paired difference of two runs, over 200 trials."""
    rng = np.random.default_rng(0)
    hits = dict(mean=0, diff=0)
    trials, n = 200, 40
    for _ in range(trials):
        x = rng.normal(2.0, 1.0, n)
        y = x + rng.normal(0.5, 0.5, n)  # paired: shares x's image effect
        pi = ps.PerImage(ch.TASK, np.arange(n), {'a:corr': x, 'b:corr': y})
        rows = {r['module']: r for r in ch.summarize_run(pi, 200)}
        hits['mean'] += rows['a']['low'] <= 2.0 <= rows['a']['high']
        d = ch.compare_variants({
            'baseline': {0: ps.PerImage(ch.TASK, pi.ids, {'p:corr': x})},
            '+NC': {0: ps.PerImage(ch.TASK, pi.ids, {'p:corr': y})}}, 200)
        hits['diff'] += d[0]['low'] <= 0.5 <= d[0]['high']
        assert d[0]['comparison'] == '+NC vs baseline'
    for k, h in hits.items():
        assert 0.88 <= h / trials <= 0.99, (k, h)


def test_summarize_run_after_vs_before():
    n = 30
    before = np.linspace(0.2, 0.4, n)
    pi = ps.PerImage(ch.TASK, np.arange(n), {
        'b:corr_before': before, 'b:corr_after': before - 0.1})
    row = next(r for r in ch.summarize_run(pi, 100)
               if r['stat'] == 'corr after vs before')
    assert row['mean'] == pytest.approx(-0.1)
    assert row['verdict'].startswith('b corr after vs before: -0.10 ')
    assert ', resolved (' in row['verdict']


# -- the tool on tiny work dirs ---------------------------------------------

def load_tool():
    spec = importlib.util.spec_from_file_location(
        'channel_analysis', ROOT / 'tools' / 'analysis' /
        'channel_analysis.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_data(root, images: int = 6):
    for i in range(images):
        folder = root / 'test' / str(i % 2)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(i).integers(
            0, 255, (8, 8), np.uint8), 'L').save(folder / f'{i:04d}.png')
    return root


def make_run(work, variant: str, data, seed: int = 0, ckpt_variant=None):
    """A work dir as tools/train.py + test.py leave it: config dumps,
    test metrics, a checkpoint named by ``last_checkpoint``."""
    config = CONFIG.format(variant)
    cfg = Config.fromfile(str(ROOT / config))
    cfg.test_dataloader.dataset.data_root = str(data)
    cfg.randomness = dict(seed=seed)
    ts = work / '20261207_000000'
    (ts / 'vis_data').mkdir(parents=True)
    cfg.dump(str(ts / 'vis_data' / 'config.py'))
    cfg.dump(str(work / config.split('/')[-1]))
    (ts / f'{ts.name}.json').write_text(json.dumps({'accuracy/top1': 50.0}))
    init_default_scope('mmpretrain')
    model_cfg = cfg.model if ckpt_variant is None else Config.fromfile(
        str(ROOT / CONFIG.format(ckpt_variant))).model
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}},
               work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    return work


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('channels')
    data = make_data(tmp / 'digits')
    root = tmp / 'runs'
    for name, variant, seed in (('base', '', 0), ('se', '-se', 0),
                                ('nc', '-nc', 0), ('nc-s1', '-nc', 1)):
        make_run(root / 'digits' / name, variant, data, seed)
    return root


def test_tool_end_to_end(tool, runs, tmp_path, capsys):
    out = tmp_path / 'out'
    tool.main([str(runs), '--out-dir', str(out), '--max-images', '4',
               '--bootstrap', '100', '--heat-images', '2'])
    text = capsys.readouterr().out
    assert 'image 4/4' in text
    assert '### channels: resnet20_1xb32-5e_digits' in text
    table = text.split('### channels:')[1]
    assert '| statistic | baseline | +SE | +NC |' in table
    rows = [r for r in table.splitlines() if r.startswith('| ')]
    assert len(rows) == 2 + 5  # head, rule, 2 place and 3 block statistics
    assert {r.replace('\\|', '').count('|') for r in rows} == {5}
    assert '(places): +NC vs baseline: ' in table
    assert '(places): +NC vs +SE: ' in table
    assert '2 paired seeds' not in table  # nc has 2 seeds, the others 1
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([
        'base.csv', 'se.csv', 'nc.csv', 'nc-s1.csv', 'differences.csv',
        'resnet20_1xb32-5e_digits_redundancy.png',
        'resnet20_1xb32-5e_digits_affinity.png',
        'resnet20_1xb32-5e_digits_key_spread.png'])
    for png in out.glob('*.png'):
        assert png.read_bytes()[:8] == PNG
    import csv
    nc = list(csv.DictReader(open(out / 'nc.csv')))
    stats = {(r['module'], r['stat']) for r in nc}
    # the C3Net CIFAR placement: one NC block before each stage
    for s in ('corr_before', 'erank_after', 'residual', 'entropy',
              'key_spread', 'corr after vs before'):
        assert ('backbone.layer1.nc_block', s) in stats, s
    assert ('backbone.layer1.0', 'corr') in stats  # SE's place
    for r in nc:
        if r['stat'] == 'entropy':
            assert 0 <= float(r['low']) <= float(r['mean']) <= float(
                r['high']) <= 1
        assert r['images'] == '4'
    base = list(csv.DictReader(open(out / 'base.csv')))
    assert {r['kind'] for r in base} == {'place', 'mean'}
    diffs = list(csv.DictReader(open(out / 'differences.csv')))
    assert {d['comparison'] for d in diffs} == {
        '+SE vs baseline', '+NC vs baseline', '+NC vs +SE'}


def test_tool_baseline_only_says_so(tool, runs, tmp_path, capsys):
    out = tmp_path / 'out'
    tool.main([str(runs / 'digits' / 'base'), '--out-dir', str(out),
               '--max-images', '2', '--bootstrap', '50'])
    text = capsys.readouterr().out
    assert 'no NC / SE / Convs block in any run; redundancy at the stage ' \
        'outputs only' in text
    assert 'no NC run; no affinity or key-spread figure' in text
    assert sorted(p.name for p in out.iterdir()) == [
        'base.csv', 'differences.csv',
        'resnet20_1xb32-5e_digits_redundancy.png']


@pytest.mark.parametrize('case', ['missing', 'mismatch', 'empty'])
def test_tool_bad_input(tool, tmp_path, case):
    out = tmp_path / 'out'
    data = make_data(tmp_path / 'digits', 2)
    if case == 'missing':
        target, named = tmp_path / 'nope', str(tmp_path / 'nope')
    elif case == 'mismatch':  # an SE checkpoint beside an NC config
        target = make_run(tmp_path / 'nc', '-nc', data, ckpt_variant='-se')
        named = str(target / 'epoch_1.pth')
    else:
        for png in (data / 'test').rglob('*.png'):
            png.unlink()
        target = make_run(tmp_path / 'nc', '-nc', data)
        named = 'test split'
    with pytest.raises(SystemExit) as e:
        tool.main([str(target), '--out-dir', str(out)])
    assert str(e.value).startswith('channel_analysis: error: ')
    assert named in str(e.value)
    assert not out.exists()  # nothing written


def test_tool_help(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(['--help'])
    text = capsys.readouterr().out
    for option in ('--out-dir', '--max-images', '--bootstrap',
                   '--heat-images'):
        assert option in text
