"""NC and SE through every export route, compiled, and the whole models.

Every route exports at batch 2 and is checked at batches 2 and 1 (the batch
is dynamic) against eager, within 1e-5 relative to max(1, max |output|);
NaN counts as a mismatch. C = 2048: four groups of 512 channels; inputs on
the grid (7x7) and off it (5x9, folded resizes).
"""
import warnings

import pytest
import torch
from toolrun import ROOT

import mmnc  # noqa: F401
from mmnc import deploy
from mmnc.deploy import ROUTES, ExportMismatch, check_route, export_parts
from mmnc.layers import NCBlock, SEBlock, nc_block

warnings.filterwarnings('ignore')
CLASSIC_ROUTES = ('onnx-torchscript', 'jit-trace')  # work on torch 2.1 too
ROUTE_PARAMS = [
    pytest.param(r, marks=pytest.mark.classic) if r in CLASSIC_ROUTES else r
    for r in ROUTES
]
BLOCKS = {
    'nc': lambda: NCBlock(2048, grid=7, zero_init=False),
    'se': lambda: SEBlock(2048),
}


def assert_close_scaled(got, ref, tol):
    """``max |got - ref| <= tol * max(1, max |ref|)``, and finite."""
    assert torch.isfinite(got).all()
    scale = max(1.0, ref.abs().max().item())
    assert (got - ref).abs().max().item() <= tol * scale


def block_inputs(hw, batches=(2, 1)):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(n, 2048, *hw, generator=g) * 2, ) for n in batches]


@pytest.mark.parametrize('hw', [(7, 7), (5, 9)], ids=['grid', 'resized'])
@pytest.mark.parametrize('block', list(BLOCKS))
@pytest.mark.parametrize('route', ROUTE_PARAMS)
def test_block_export_equals_eager(route, block, hw, tmp_path):
    torch.manual_seed(0)
    module = BLOCKS[block]()
    assert check_route(module, block_inputs(hw), route, 1e-5,
                       str(tmp_path)) <= 1e-5


@pytest.mark.classic
def test_the_check_fails_on_the_function_exported(monkeypatch, tmp_path):
    """The check can fail: with the eager-only Function recorded (as before
    the graph path existed), the TorchScript ONNX model outputs NaN and the
    exported program refuses grad mode. (The exact Function: the fast Gauss
    transform's plan is not even traceable.)"""
    monkeypatch.setattr(nc_block, 'recording_graph', lambda: False)
    monkeypatch.setattr(nc_block, '_FAST_MESSAGE', [False])
    torch.manual_seed(0)
    module = BLOCKS['nc']()
    with pytest.raises(ExportMismatch, match='onnx-torchscript'):
        check_route(module, block_inputs((7, 7)), 'onnx-torchscript',
                    work_dir=str(tmp_path))
    if hasattr(torch.export, 'Dim'):  # its chunk loop fixes the batch, and
        # with a fixed batch, grad mode fails
        with pytest.raises(Exception, match='specialized it to be a const'):
            check_route(module, block_inputs((7, 7)), 'torch-export')
        with pytest.raises(RuntimeError, match='out='):
            torch.export.export(module, block_inputs((7, 7))[0]).module()(
                *block_inputs((7, 7))[0])


@pytest.mark.skipif(not hasattr(torch.export, 'Dim'),
                    reason='torch.export with dynamic shapes: torch >= 2.2')
@pytest.mark.parametrize('block', list(BLOCKS))
def test_torch_export_in_no_grad(block):
    """torch.export also records (and its program runs) under no_grad, as
    inference code calls it."""
    module = BLOCKS[block]().eval()
    with torch.no_grad():
        check_route(module, block_inputs((7, 7)), 'torch-export')


@pytest.mark.classic
def test_a_route_this_torch_lacks_names_the_ones_to_use():
    if deploy._has_dynamo_onnx():
        pytest.skip('this torch has every route')
    with pytest.raises(RuntimeError, match='use route onnx-torchscript'):
        check_route(SEBlock(8, ratio=2), [(torch.randn(2, 8, 3, 3), )],
                    'onnx-dynamo')


@pytest.mark.parametrize('block', list(BLOCKS))
def test_compile_fullgraph_fwd_bwd_equals_eager(block):
    """One compile (dynamic batch) serves batches 2 and 3; outputs and the
    gradients of input and parameters equal eager's."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    module = BLOCKS[block]() if block == 'se' else NCBlock(
        1024, grid=7, zero_init=False)
    compiled = torch.compile(module, fullgraph=True, dynamic=True)
    for n in (2, 3):
        x = torch.randn(n, module.in_channels, 5, 9)
        results = []
        for fn in (module, compiled):
            xi = x.clone().requires_grad_()
            out = fn(xi)
            grads = torch.autograd.grad(out.square().sum(),
                                        [xi, *module.parameters()])
            results.append((out, *grads))
        for ref, got in zip(*results):
            assert_close_scaled(got, ref, 1e-5)
    assert counters['stats']['unique_graphs'] == 1


AUTOCAST = [pytest.param(torch.bfloat16, marks=pytest.mark.classic),
            torch.float16]


@pytest.mark.parametrize('block', list(BLOCKS))
@pytest.mark.parametrize('dtype', AUTOCAST, ids=['bf16', 'fp16'])
def test_cpu_autocast_fwd_bwd(block, dtype):
    """Output and every gradient within the stated tolerance of fp32,
    relative to the fp32 result's own scale (max |ref|, which must be far
    from 0): fp16 0.2% for all; bf16 1% for the output and the input's
    gradient, 6% for parameter gradients (measured: NC's first encoder
    layer 4.9%, a sum over every channel map of bf16-rounded products; the
    others <= 0.8%). NC's message itself is computed in fp32 under autocast.
    The loss weighs each output by a fixed random sign, so every gradient
    is O(1), not O(1/numel). (mmengine's ``autocast`` wrapper takes only
    bf16 on CPU; torch's takes both.)"""
    torch.manual_seed(0)
    module = BLOCKS[block]()
    x = torch.randn(2, 2048, 7, 7)
    weight = torch.randn(x.shape).sign()
    results = []
    for enabled in (False, True):
        xi = x.clone().requires_grad_()
        with torch.autocast('cpu', dtype=dtype, enabled=enabled):
            out = module(xi)
            loss = (out.float() * weight).sum()
        grads = torch.autograd.grad(loss, [xi, *module.parameters()])
        results.append((out.float(), *grads))
    bf16 = dtype == torch.bfloat16
    for i, (ref, got) in enumerate(zip(*results)):
        tol = (1e-2 if i < 2 else 6e-2) if bf16 else 2e-3
        scale = ref.abs().max().item()
        assert scale > 0.1, f'result {i}: reference scale {scale}'
        assert torch.isfinite(got).all(), i
        err = (got - ref).abs().max().item()
        assert err <= tol * scale, f'result {i}: {err} > {tol} * {scale}'


@pytest.mark.classic
def test_autocast_message_runs_in_float32():
    v, m = torch.randn(2, 64, 6), torch.randn(2, 64)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = nc_block.nc_message(v, m)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, nc_block.nc_message(v, m))


def _nc_matters(module, inputs):
    """The output changes when every NC block is zeroed (identity)."""
    with torch.no_grad():
        ref = module(*inputs[0])
        ref = ref if isinstance(ref, torch.Tensor) else ref[0]
        saved = []
        for m in module.modules():
            if isinstance(m, NCBlock):
                saved.append((m, m.decoder[-1].weight.clone()))
                m.decoder[-1].weight.zero_()
        out = module(*inputs[0])
        out = out if isinstance(out, torch.Tensor) else out[0]
        for m, w in saved:
            m.decoder[-1].weight.copy_(w)
    return saved and not torch.allclose(out, ref)


@pytest.fixture(scope='module')
def whole_models():
    from deployment.export_check import build_model
    return {
        'faster-rcnn-c4-nc': build_model(
            str(ROOT / 'configs/faster_rcnn/'
                'faster-rcnn_r101-caffe-c4-nc_1x_coco.py'), None, None),
        'deeplabv2-nc': build_model(
            str(ROOT / 'configs/deeplabv2/'
                'deeplabv2_r101-d8-nc_4xb4-20k_voc12aug-321x321.py'), None,
            None),
    }


@pytest.mark.parametrize('route', ROUTE_PARAMS)
def test_whole_models_export_equals_eager(whole_models, route, tmp_path):
    """Faster R-CNN C4 +NC (trunk: image -> features and RPN outputs; RoI
    head: stage 4 with NC + box head) and DeepLab-v2 +NC (image ->
    logits), 64x64 images, random weights under which NC matters."""
    for name, model in whole_models.items():
        for part, (module, inputs) in export_parts(model, (64, 64)).items():
            if part != 'trunk':
                assert _nc_matters(module, inputs), (name, part)
            work = tmp_path / f'{name}-{part}'
            work.mkdir()
            assert check_route(module, inputs, route, 1e-5, str(work)) \
                <= 1e-5, (name, part)


def test_gpu_check_without_cuda_says_so(capsys):
    from analysis import gpu_check
    if torch.cuda.is_available():
        pytest.skip('a GPU is here')
    assert gpu_check.main([]) == 2
    assert 'no CUDA device' in capsys.readouterr().err


def test_gpu_check_runs_on_cpu(capsys):
    """The script itself, at small shapes on the CPU (exactness rows pass;
    AmpOptimWrapper refuses the CPU, which is reported, not failed)."""
    from analysis import gpu_check
    assert gpu_check.main(['--device', 'cpu', '--quick', '--repeat',
                           '1']) == 0
    out = capsys.readouterr().out
    assert out.count('| ok |') == 24 and 'FAILED |' in out
    assert 'only available training on gpu' in out


SEG_MINI = ('configs/mini/deeplabv2_r50-w16-d8{}_1xb8-400i_voc-shapes-'
            '128x128.py')


def test_export_check_checkpoint_is_strict_but_for_nc_and_says_identity(
        tmp_path, capsys):
    """--checkpoint: a baseline's checkpoint loads into +NC (NC's keys
    missing) and the check says NC is the identity; a checkpoint missing
    any other key fails, naming it."""
    from deployment import export_check
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(str(ROOT / SEG_MINI.format('')))
    init_default_scope('mmseg')
    cfg.model.backbone.init_cfg = None
    state = MODELS.build(cfg.model).state_dict()
    good = tmp_path / 'base.pth'
    torch.save(dict(state_dict=state), good)
    nc_config = str(ROOT / SEG_MINI.format('-nc'))
    model = export_check.build_model(nc_config, str(good), None)
    assert len(export_check.identity_nc_blocks(model)) == 3
    torch.save(dict(state_dict={k: v for k, v in state.items()
                                if 'layer4.0.conv1' not in k}),
               tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r'missing.*layer4\.0\.conv1'):
        export_check.build_model(nc_config, str(tmp_path / 'bad.pth'), None)
    export_check.main([nc_config, '--checkpoint', str(good), '--routes',
                       'jit-trace', '--shape', '32', '32'])
    assert 'NC block(s) are the identity' in capsys.readouterr().out
