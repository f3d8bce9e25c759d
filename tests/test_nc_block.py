"""NCBlock: the paper's formulation, the plugin contract, errors."""
import pytest
import torch
import torch.nn as nn
from mmcv import cnn
from mmengine.registry import DefaultScope

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, build_plugin_layer
from mmnc.testing import naive_nc

pytestmark = pytest.mark.classic


def random_block(*args, **kwargs) -> NCBlock:
    """A block whose decoder is not zero, as after some training."""
    torch.manual_seed(0)
    return NCBlock(*args, zero_init=False, **kwargs)


@pytest.mark.parametrize('shape,kwargs', [
    ((2, 64, 7, 7), dict(grid=7)),
    ((2, 64, 14, 10), dict(grid=7)),
    ((2, 32, 16, 16), dict(grid=(8, 4), reduction=4)),
    ((1, 1024, 7, 7), dict(grid=7)),  # two groups of 512
    ((2, 16, 32, 32), dict(grid=16, act_cfg=dict(type='ReLU'))),
])
def test_matches_naive_formulation(shape, kwargs):
    block = random_block(shape[1], **kwargs).double()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    out = block(x)
    ref = naive_nc(block, x)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    g, = torch.autograd.grad(out.square().sum(), x)
    g_ref, = torch.autograd.grad(ref.square().sum(), x)
    torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-9)


def test_fp32_matches_naive_within_1e5():
    block = random_block(256, grid=7)
    x = torch.randn(4, 256, 7, 7) * 3
    torch.testing.assert_close(block(x), naive_nc(block, x), rtol=1e-5,
                               atol=1e-5)


def test_permuting_channels_in_a_group_permutes_the_output():
    block = random_block(64, grid=4, reduction=2)
    x = torch.randn(2, 64, 4, 4)
    perm = torch.randperm(64)
    torch.testing.assert_close(block(x[:, perm]), block(x)[:, perm])


def test_channels_communicate_within_but_not_across_groups():
    block = random_block(1024, grid=2, reduction=1)  # groups of 512
    x = torch.randn(1, 1024, 2, 2)
    y = x.clone()
    y[:, 3] += 5.0
    diff = (block(y) - block(x)).abs().amax(dim=(0, 2, 3))
    assert diff[:3].min() > 1e-6 and diff[4:512].min() > 1e-6
    assert diff[512:].max() == 0


@pytest.mark.parametrize('hw', [(7, 7), (5, 9), (3, 3), (1, 1), (40, 23)])
def test_any_input_size(hw):
    block = random_block(32, grid=7)
    x = torch.randn(2, 32, *hw)
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, naive_nc(block, x))


@pytest.mark.parametrize('mode', ['nearest', 'bilinear', 'area'])
@pytest.mark.parametrize('hw', [(9, 6), (3, 2), (4, 4)])
def test_resize_modes_match_interpolate(mode, hw):
    """Resizes are folded into the block's first and last matmul."""
    block = random_block(16, grid=4, resize_mode=mode).double()
    x = torch.randn(2, 16, *hw, dtype=torch.float64, requires_grad=True)
    out, ref = block(x), naive_nc(block, x)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    g, = torch.autograd.grad(out.square().sum(), x)
    g_ref, = torch.autograd.grad(ref.square().sum(), x)
    torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-9)


def test_zero_init_is_identity_and_gradients_reach_parameters():
    x = torch.randn(2, 64, 7, 7)
    block = NCBlock(64, grid=7)
    assert torch.equal(block(x), x)  # as built
    nn.init.normal_(block.decoder[-1].weight)  # as a host's init_cfg might
    block.init_weights()
    assert torch.equal(block(x), x)
    # every parameter of a trained (non-zero) block gets a gradient
    block = random_block(64, grid=7)
    block(torch.randn(2, 64, 7, 7)).square().sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bf16_on_cpu():
    block = random_block(64, grid=7)
    x = torch.randn(2, 64, 7, 7)
    ref = block(x)
    out = block.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.1)


def test_state_dict_round_trip():
    a = random_block(64, grid=7)
    b = NCBlock(64, grid=7)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 64, 7, 7)
    assert torch.equal(a(x), b(x))
    assert set(a.state_dict()) == {
        f'{m}.{i}.{p}' for m in ('encoder', 'decoder') for i in (0, 2)
        for p in ('weight', 'bias')}


def test_parameter_count():
    # two MLPs S -> S/r -> S: the counts behind the seed's CIFAR tables
    block = NCBlock(16, grid=16, reduction=8)
    s, h = 256, 32
    count = sum(p.numel() for p in block.parameters())
    assert count == 2 * (2 * s * h + h + s)


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=64, grid=0), 'grid'),
    (dict(in_channels=64, grid=(7, )), 'grid'),
    (dict(in_channels=64, grid=(7, 7.5)), 'grid'),
    (dict(in_channels=64, grid=7, reduction=0), 'reduction'),
    (dict(in_channels=64, grid=2, reduction=5), 'reduction'),
    (dict(in_channels=1025, grid=7), 'equal groups'),
    (dict(in_channels=0), 'in_channels'),
    (dict(in_channels=64, resize_mode='cubic'), 'resize_mode'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NCBlock(**kwargs)


def test_wrong_input():
    block = NCBlock(8, grid=4)
    with pytest.raises(ValueError, match=r'\[N, 8, H, W\]'):
        block(torch.randn(8, 4, 4))
    with pytest.raises(ValueError, match=r'\[N, 8, H, W\]'):
        block(torch.randn(1, 9, 4, 4))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
@pytest.mark.parametrize('layer_type', ['NCBlock', NCBlock])
def test_build_plugin_layer_in_every_scope(scope, layer_type):
    with DefaultScope.overwrite_default_scope(scope):
        for postfix in ('', 1, '_a'):
            name, layer = cnn.build_plugin_layer(
                dict(type=layer_type, grid=3), postfix=postfix,
                in_channels=16)
            assert name == f'nc_block{postfix}'
            assert isinstance(layer, NCBlock) and layer.in_channels == 16


def test_unknown_type_names_the_known_blocks():
    """mmnc's hosts build plugins through mmnc's builder (mmcv's says
    "Cannot find None in registry")."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(KeyError, match="'NcBlock'. Did you mean "
                           "'NCBlock'.*NCBlock, SEBlock, ContextBlock"):
            build_plugin_layer(dict(type='NcBlock'), in_channels=16)


def test_message_gradients_across_chunks(monkeypatch):
    """The hand-written backward, with the batch split into several chunks."""
    from mmnc.layers import nc_block
    monkeypatch.setitem(nc_block._CHUNK_ELEMENTS, 'cpu', 2 * 24 * 24)
    torch.manual_seed(0)
    e = torch.randn(5, 24, 6, dtype=torch.float64, requires_grad=True)
    m = torch.randn(5, 24, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(nc_block._NCMessage.apply, (e, m))
    block = random_block(24, grid=3, reduction=1).double()
    x = torch.randn(5, 24, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(block(x), naive_nc(block, x))


def test_gradients_across_row_blocks(monkeypatch):
    """The residual and the encoder's hand-written passes, done a few
    uneven blocks of rows at a time: the output, the input's gradient and
    every parameter's gradient equal the naive formulation's, and the
    incoming gradient, which the residual's add also hands to ``c``, is
    left as it came."""
    from mmnc.layers import nc_block
    monkeypatch.setattr(nc_block, '_ROW_BYTES', 7 * 9 * 8)  # 7 of 30 rows
    block = random_block(10, grid=3, reduction=1).double()
    assert len(nc_block._row_blocks(torch.zeros(30, 9).double(), 2)) == 5
    x = torch.randn(3, 10, 3, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(3, 10, 3, 3, dtype=torch.float64, requires_grad=True)
    grads = []
    for fn in (block, lambda x: naive_nc(block, x)):
        block.zero_grad(set_to_none=True)
        c.grad = x.grad = None
        ((fn(x) + c) ** 2).sum().backward()
        grads.append([x.grad, c.grad] + [p.grad for p in block.parameters()])
    assert all(g is not None for g in grads[0])
    for g, ref in zip(*grads):
        torch.testing.assert_close(g, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('rows,inner,width', [
    (24, 16, 4),   # packed 4 rows a time against I_4 (x) W
    (24, 1, 6),    # packed 4 (6 * 4 >= 16)
    (26, 4, 4),    # 26 rows: not a multiple of 4, one plain product
    (24, 49, 6),   # inner width 49: 4 x 49 > 64, plain
    (24, 4, 1)])   # one column: plain
def test_thin_products_pack_rows_exactly(rows, inner, width):
    """``_thin_mm`` (rows packed against a block-diagonal weight, where it
    pays) gives ``x @ w + b`` to float64 rounding, also into a given
    ``out``, which it returns (not a view of another tensor)."""
    from mmnc.layers.nc_block import _thin_mm
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, inner, generator=gen, dtype=torch.float64)
    w = torch.randn(inner, width, generator=gen, dtype=torch.float64)
    b = torch.randn(width, generator=gen, dtype=torch.float64)
    ref = x @ w + b
    torch.testing.assert_close(_thin_mm(x, w, b), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(_thin_mm(x, w), x @ w, rtol=1e-12, atol=1e-12)
    out = torch.full((rows + 2, width), 7.0, dtype=torch.float64)
    got = _thin_mm(x, w, b, out=out[1:-1])
    assert got.data_ptr() == out[1:-1].data_ptr() and got._base is out
    torch.testing.assert_close(out[1:-1], ref, rtol=1e-12, atol=1e-12)
    assert (out[0] == 7).all() and (out[-1] == 7).all()
    fresh = _thin_mm(x, w, b)
    assert fresh._base is None


def test_flop_counter_counts_the_message():
    from mmengine.analysis import FlopAnalyzer
    block = NCBlock(64, grid=7)
    x = torch.randn(2, 64, 7, 7)
    flops = FlopAnalyzer(block, (x, )).unsupported_ops_warnings(False)
    rows, s, k = 2 * 64, 49, 49 // 8  # channel maps, grid cells, hidden
    ops = flops.by_operator()
    # traced, the block takes its graph path: each channel attends to its
    # 64 peers over k values + the normaliser, in one bmm
    assert ops['bmm'] == 2 * 64**2 * (k + 1)
    # encoder in (S -> k), keys and values (k -> 1 + k) and
    # the decoder's last layer (k -> S; its bias an addition), per channel map
    assert ops['linear'] == rows * (s * k + k + k * k + k * s)


def test_cuda_route_reads_nothing_on_the_host(monkeypatch):
    """On CUDA the message's path is chosen from shapes: with every host
    read of a tensor raising, the block still runs forward and backward
    (a ``float(spread)`` on that route turns this red)."""
    from mmnc.layers import nc_block

    def no_read(*args, **kwargs):
        raise AssertionError('a host read of a tensor on the CUDA route')

    block = random_block(1024, grid=7)  # groups of 512: the transform's size
    x = torch.randn(2, 1024, 7, 7, requires_grad=True)
    with torch.no_grad():
        ref = block(x)  # the CPU route (which may read the spread)
    monkeypatch.setattr(nc_block, '_on_cuda', lambda t: True)
    for name in ('item', 'tolist', '__float__', '__int__', '__bool__'):
        monkeypatch.setattr(torch.Tensor, name, no_read)
    out = block(x)
    out.square().sum().backward()
    monkeypatch.undo()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    torch.testing.assert_close(out.detach(), ref, rtol=1e-5, atol=1e-5)


def test_backward_recomputes_the_path_forward_took(monkeypatch):
    """The exchange is recomputed in backward (checkpointed): a forward
    under ``exact_message`` whose backward runs outside it still gets the
    exact path's gradients (not the transform's, nor a recomputation
    error), and the block's parameter gradients equal the plain form's."""
    from mmnc.layers import nc_block
    monkeypatch.setattr(nc_block, '_RECOMPUTE_BYTES', 0)
    torch.manual_seed(0)
    block = NCBlock(64, grid=4, reduction=4, zero_init=False).double()
    x = torch.randn(3, 64, 4, 4, dtype=torch.float64, requires_grad=True)
    calls = []
    real = nc_block._NCMessage.apply

    def spy(*args):
        calls.append(1)
        return real(*args)

    nc_block._NCMessage.apply = spy
    try:
        with nc_block.exact_message():
            out = block(x)
        out.square().sum().backward()
    finally:
        nc_block._NCMessage.apply = real
    assert len(calls) == 2  # forward and backward's recomputation
    got = [x.grad] + [p.grad for p in block.parameters()]
    x.grad = None
    block.zero_grad()
    naive_nc(block, x).square().sum().backward()
    want = [x.grad] + [p.grad for p in block.parameters()]
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-11)

