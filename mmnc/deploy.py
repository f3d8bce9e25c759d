"""Export a module through one route and compare the exported artefact with
eager PyTorch (``tools/deployment/export_check.py`` and the tests).

Routes (:data:`ROUTES`): the TorchScript ONNX exporter (what mmdeploy uses),
the dynamo ONNX exporter, both run with onnxruntime; ``torch.export`` (the
exported program's module); ``torch.jit.trace``. The batch dimension is
exported dynamic, so one export serves any number of images or RoIs; the
spatial size is fixed at export (NC's resizes to its grid depend on it).
Needs ``pip install mmnc[deploy]`` (onnx, onnxscript, onnxruntime).
"""
import inspect
import os
import tempfile
from typing import Callable, List, Sequence

import torch
import torch.nn as nn

ROUTES = {
    'onnx-torchscript': 'torch.onnx.export(dynamo=False) + onnxruntime '
    '(the TorchScript exporter; mmdeploy uses it)',
    'onnx-dynamo': 'torch.onnx.export(dynamo=True) + onnxruntime',
    'torch-export': 'torch.export.export, run as ExportedProgram.module()',
    'jit-trace': 'torch.jit.trace, run as the traced module',
}
# mmdeploy's default opset for the TorchScript exporter
TORCHSCRIPT_OPSET = 11

Runner = Callable[..., List[torch.Tensor]]


class ExportMismatch(AssertionError):
    """An exported artefact's outputs differ from eager or are not finite."""


def _flat(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(_flat(o))
    return flat


def _has_dynamo_onnx() -> bool:
    return 'dynamo' in inspect.signature(torch.onnx.export).parameters


def _onnxruntime(path: str) -> Runner:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ImportError('the ONNX routes run the model with onnxruntime: '
                          'pip install "mmnc[deploy]"') from e
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    sess = ort.InferenceSession(path, opts,
                                providers=['CPUExecutionProvider'])
    names = [i.name for i in sess.get_inputs()]

    def run(*inputs: torch.Tensor) -> List[torch.Tensor]:
        feed = {n: x.detach().cpu().numpy() for n, x in zip(names, inputs)}
        return [torch.from_numpy(o) for o in sess.run(None, feed)]

    return run


def _check_available(route: str) -> None:
    """Raise, naming the routes that work, where this torch lacks one."""
    need = {'onnx-dynamo': ('torch.onnx.export(dynamo=True)', '2.5',
                            _has_dynamo_onnx()),
            'torch-export': ('torch.export.Dim', '2.2',
                             hasattr(torch.export, 'Dim'))}.get(route)
    if need and not need[2]:
        raise RuntimeError(
            f'route {route} needs {need[0]} (torch >= {need[1]}; this is '
            f'torch {torch.__version__}): use route onnx-torchscript (what '
            f'mmdeploy uses) or jit-trace')


def export(module: nn.Module, inputs: Sequence[torch.Tensor], route: str,
           work_dir: str | None = None) -> Runner:
    """Export ``module`` (in eval mode) called on ``inputs`` through
    ``route``, with the batch dimension dynamic; return a function that runs
    the exported artefact on new inputs and returns its outputs flat."""
    if route not in ROUTES:
        raise ValueError(f'unknown route {route!r}; routes: {list(ROUTES)}')
    _check_available(route)
    module = module.eval()
    inputs = tuple(inputs)
    names = [f'input{i}' for i in range(len(inputs))]
    if route in ('onnx-dynamo', 'torch-export'):
        batch = torch.export.Dim('batch')
        shapes = tuple({0: batch} for _ in inputs)
    if route == 'jit-trace':
        with torch.no_grad():
            traced = torch.jit.trace(module, inputs, check_trace=False)
        return lambda *x: _flat(traced(*x))
    if route == 'torch-export':
        program = torch.export.export(module, inputs, dynamic_shapes=shapes)
        runnable = program.module()
        return lambda *x: _flat(runnable(*x))
    work_dir = work_dir or tempfile.mkdtemp(prefix='mmnc-export-')
    path = os.path.join(work_dir, f'{route}.onnx')
    outputs = _flat(module(*inputs))
    out_names = [f'output{i}' for i in range(len(outputs))]
    if route == 'onnx-torchscript':
        kwargs = dict(dynamo=False) if _has_dynamo_onnx() else {}
        torch.onnx.export(
            module, inputs, path, input_names=names, output_names=out_names,
            dynamic_axes={n: {0: 'batch'} for n in names + out_names},
            opset_version=TORCHSCRIPT_OPSET, **kwargs)
    else:
        torch.onnx.export(module, inputs, path, input_names=names,
                          output_names=out_names, dynamic_shapes=shapes,
                          dynamo=True, verbose=False)
    return _onnxruntime(path)


def max_abs_diff(got: Sequence[torch.Tensor],
                 ref: Sequence[torch.Tensor]) -> float:
    """The largest ``|got - ref|`` over all outputs; inf if ``got`` has
    NaN/Inf where ``ref`` is finite or the shapes differ."""
    worst = 0.0
    if len(got) != len(ref):
        return float('inf')
    for g, r in zip(got, ref):
        if g.shape != r.shape:
            return float('inf')
        d = (g.double() - r.double()).abs()
        d[~torch.isfinite(d)] = float('inf')
        worst = max(worst, d.max().item() if d.numel() else 0.0)
    return worst


def check_route(module: nn.Module, inputs_list: Sequence[Sequence[
        torch.Tensor]], route: str, tol: float = 1e-5,
                work_dir: str | None = None) -> float:
    """Export ``module`` on the first inputs of ``inputs_list``, run the
    artefact on each and compare with eager: return the largest difference
    relative to ``max(1, max |eager output|)``, or raise
    :class:`ExportMismatch` (naming the route) above ``tol``."""
    module = module.eval()
    run = export(module, inputs_list[0], route, work_dir)
    worst = 0.0
    for inputs in inputs_list:
        with torch.no_grad():
            ref = _flat(module(*inputs))
        scale = max([1.0] + [r.abs().max().item() for r in ref if r.numel()])
        worst = max(worst, max_abs_diff(run(*inputs), ref) / scale)
    if not worst <= tol:
        raise ExportMismatch(
            f'{type(module).__name__} exported through {route} '
            f'({ROUTES[route]}) differs from eager by {worst:.3g} (relative '
            f'to max(1, max |output|); allowed {tol:g})')
    return worst


class DetectorTrunk(nn.Module):
    """A two-stage detector's image -> features and RPN outputs: backbone,
    neck, RPN head convolutions (anchors, proposal NMS, RoIAlign and box
    post-processing are mmcv/mmdet ops outside this part)."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, img: torch.Tensor):
        feats = self.detector.extract_feat(img)
        cls_scores, bbox_preds = self.detector.rpn_head(feats)
        return (*feats, *cls_scores, *bbox_preds)


class DetectorRoIHead(nn.Module):
    """A two-stage detector's RoI features -> class scores and box deltas:
    the shared head (a C4 detector's stage 4, where NC sits) and the box
    head."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.roi_head = detector.roi_head

    def forward(self, roi_feats: torch.Tensor):
        x = roi_feats
        if getattr(self.roi_head, 'with_shared_head', False):
            x = self.roi_head.shared_head(x)
        return self.roi_head.bbox_head(x)


class SegmentorLogits(nn.Module):
    """An mmseg segmentor's image -> logits (``mode='tensor'``: backbone and
    decode head, without resizing to the image and argmax)."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, img: torch.Tensor):
        return self.segmentor(img, mode='tensor')


def export_parts(model: nn.Module, shape: Sequence[int] = (64, 64),
                 num_rois: Sequence[int] = (2, 3),
                 batch: Sequence[int] = (2, 1)) -> dict:
    """The exportable parts of an mmdet two-stage detector or an mmseg
    segmentor, each with inputs to export on (the first) and check on (all):
    ``{name: (module, [inputs, ...])}``. Images are ``batch x 3 x shape``;
    RoI features ``num_rois x C x s x s`` as the RoI extractor makes them."""
    g = torch.Generator().manual_seed(0)

    def images():
        return [(torch.randn(n, 3, *shape, generator=g), ) for n in batch]

    if hasattr(model, 'roi_head') and hasattr(model, 'rpn_head'):
        extractor = model.roi_head.bbox_roi_extractor
        size = extractor.roi_layers[0].output_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        rois = [(torch.randn(k, extractor.out_channels, *size,
                             generator=g), ) for k in num_rois]
        return {'trunk': (DetectorTrunk(model), images()),
                'roi_head': (DetectorRoIHead(model), rois)}
    if hasattr(model, 'decode_head'):
        return {'segmentor': (SegmentorLogits(model), images())}
    raise TypeError(f'export_parts: {type(model).__name__} is neither a '
                    f'two-stage detector nor a segmentor')


def randomize_for_check(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give an untrained model weights under which every block matters: NC
    blocks' zero-initialised last layers (NC is then the identity) and the
    zero-initialised last BN of residual blocks drawn as a trained model's
    might be, BN statistics and affine parameters drawn near identity."""
    from mmnc.layers import NCBlock
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, NCBlock):
            m.decoder[-1].reset_parameters()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.affine:
                nn.init.uniform_(m.weight, 0.5, 1.0)
                nn.init.normal_(m.bias, std=0.1)
            if m.track_running_stats:
                nn.init.normal_(m.running_mean, std=0.1)
                nn.init.uniform_(m.running_var, 0.5, 2.0)
    return model
