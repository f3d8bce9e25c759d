"""What trained NC / SE / Convs blocks do to channel responses.

The library of ``tools/analysis/channel_analysis.py``. Per test image (so
that :mod:`.paired_stats`' bootstrap over images and seeds applies):

* **redundancy** of a channel x position response matrix ``R`` ``[C, P]``
  (the positions of all samples of the image: its one feature map, or all
  its RoIs' maps), each channel centred over the positions:
  :func:`mean_abs_correlation` (mean ``|corr|`` over channel pairs, in
  [0, 1]; 1: all channels carry one signal) and :func:`effective_rank`
  (``exp`` of the entropy of the normalised singular values, Roy & Vetterli
  2007, in [1, min(C, P)]; lower: fewer independent signals). Measured on a
  block's input and output, and on the output of the module that holds the
  block (a *place*: the same module exists in the baseline and the other
  variants, so variants are compared there);
* **how much a block changes its input**: :func:`relative_residual`,
  ``||out - in|| / ||in||`` (0: the identity);
* **NC's communication**: the channel keys (:func:`nc_keys`), the softmax
  affinity over them (:func:`affinity`), its row entropy over log of the
  group size (:func:`affinity_entropy`; 0: each channel hears only itself,
  1: all channels of its group alike) and the keys' spread
  (:func:`key_spread`, their std; the kernel ``exp(-d^2)`` weighs a partner
  at distance 1 by 1/e).

:class:`ChannelRecorder` hooks a model and makes these per-image values;
:func:`summarize_run` and :func:`compare_variants` give the 95% intervals
and verdicts in :func:`.paired_stats.verdict`'s words.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmnc.layers import ConvsBlock, NCBlock, SEBlock

from . import paired_stats

BLOCK_TYPES = (NCBlock, SEBlock, ConvsBlock)
TASK = 'per_image_mean'  # paired_stats' task of per-image values
BLOCK_STATS = ('corr_before', 'corr_after', 'erank_before', 'erank_after',
               'residual')
NC_STATS = ('entropy', 'key_spread')
PLACE_STATS = ('corr', 'erank')
ALL_BLOCKS, ALL_PLACES = 'blocks', 'places'  # per image: mean over them
DESCRIPTION = {
    'corr': 'mean |correlation| of channel pairs',
    'erank': 'effective rank of channels x positions',
    'residual': '||out - in|| / ||in||',
    'entropy': 'affinity entropy / log(group size)',
    'key_spread': 'std of channel keys',
}
# a channel whose variance over positions is below this fraction of the
# largest channel's is constant: it has no correlation
CONSTANT = 1e-10


def response_matrix(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[C, P]`` float64: channel ``c``'s responses at every position of
    every sample of ``maps`` (tensors ``[N_k, C, H_k, W_k]``, e.g. the calls
    of a hooked module on one image), each row centred.

    Raises:
        ValueError: No maps, or maps of different channel counts.
    """
    if not maps or len({m.shape[1] for m in maps}) != 1:
        raise ValueError('response_matrix needs maps [N, C, H, W] of one C, '
                         f'got shapes {[list(m.shape) for m in maps]}')
    r = torch.cat([m.detach().double().transpose(0, 1).reshape(
        m.shape[1], -1) for m in maps], dim=1)
    return r - r.mean(1, keepdim=True)


def _gram(r: torch.Tensor) -> torch.Tensor:
    return r @ r.t()


def mean_abs_correlation(r: torch.Tensor,
                         gram: torch.Tensor | None = None) -> float:
    """Mean ``|corr(r_i, r_j)|`` over pairs ``i < j`` of the rows of a
    centred ``r`` ``[C, P]`` (:func:`response_matrix`), in [0, 1]; NaN when
    fewer than 2 rows vary (constant rows, variance below
    :data:`CONSTANT` x the largest, are left out) or ``P < 2``."""
    g = _gram(r) if gram is None else gram
    var = g.diagonal()
    keep = var > CONSTANT * var.max() if r.shape[1] > 1 else var < 0
    k = int(keep.sum())
    if k < 2:
        return math.nan
    g = g[keep][:, keep]
    sd = g.diagonal().sqrt()
    corr = (g / sd[:, None] / sd[None]).abs().clamp(max=1)
    return float((corr.sum() - corr.diagonal().sum()) / (k * (k - 1)))


def effective_rank(r: torch.Tensor, gram: torch.Tensor | None = None
                   ) -> float:
    """``exp(-sum p log p)`` with ``p = s / sum(s)``, ``s`` the singular
    values of ``r`` ``[C, P]``: in [1, min(C, P)] (1: one signal; ``k``
    equal singular values: ``k``); NaN for an all-zero ``r``."""
    g = _gram(r) if gram is None else gram
    s = torch.linalg.eigvalsh(g).clamp(min=0).sqrt()
    if float(s.sum()) == 0:
        return math.nan
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def redundancy(maps: Sequence[torch.Tensor]) -> Tuple[float, float]:
    """(:func:`mean_abs_correlation`, :func:`effective_rank`) of the
    :func:`response_matrix` of ``maps``, from one Gram matrix."""
    r = response_matrix(maps)
    g = _gram(r)
    return mean_abs_correlation(r, g), effective_rank(r, g)


def relative_residual(x: Sequence[torch.Tensor],
                      y: Sequence[torch.Tensor]) -> float:
    """``||y - x|| / ||x||`` (Frobenius, over all pairs of tensors): 0 for
    the identity; NaN when ``x`` is all zero."""
    num = sum(float((b.double() - a.double()).square().sum())
              for a, b in zip(x, y))
    den = sum(float(a.double().square().sum()) for a in x)
    return math.sqrt(num / den) if den else math.nan


def nc_keys(block: NCBlock, x: torch.Tensor) -> torch.Tensor:
    """NC's channel keys for input ``x`` ``[N, C, H, W]``: ``[N * G, C / G]``
    (``G = block.num_groups``), each key the mean of the channel's encoding.

    The one place that reads NC's internals, recomputed from the block's
    public parameters the way the paper writes the block (as
    :func:`mmnc.testing.naive_nc.naive_nc`): each response map resized to
    ``block.grid`` with ``block.resize_mode``, encoded by the MLP
    ``block.encoder`` over the grid's positions, averaged. If NCBlock's
    internals change, adapt this function (its test checks it against the
    block's own output).
    """
    n, c = x.shape[:2]
    mode = block.resize_mode
    align = False if mode == 'bilinear' else None
    g = F.interpolate(x.detach(), size=block.grid, mode=mode,
                      align_corners=align)
    e = block.encoder(g.reshape(n * c, -1))  # [N * C, S]
    return e.mean(-1).view(n * block.num_groups, c // block.num_groups)


def affinity(keys: torch.Tensor) -> torch.Tensor:
    """``a[b, j, i] = softmax_i(-(m_i - m_j)^2)`` for keys ``m`` ``[B, C]``:
    ``[B, C, C]``, rows sum to 1 (what channel ``j`` takes from ``i``)."""
    k = keys.double()
    return torch.softmax(-(k.unsqueeze(1) - k.unsqueeze(2)).square(), -1)


def affinity_entropy(a: torch.Tensor) -> torch.Tensor:
    """``[B]``: the mean over rows of ``-sum_i a_ji log a_ji / log C`` of
    affinities ``a`` ``[B, C, C]`` (C >= 2): 0 when each channel takes only
    from itself, 1 for uniform rows."""
    if a.shape[-1] < 2:
        raise ValueError('affinity_entropy needs groups of >= 2 channels')
    h = -(a * a.clamp(min=1e-300).log()).sum(-1)
    return h.mean(-1) / math.log(a.shape[-1])


def key_spread(keys: torch.Tensor) -> torch.Tensor:
    """``[B]``: the standard deviation (population) of each row of keys
    ``[B, C]``."""
    return keys.double().std(-1, unbiased=False)


def find_blocks(model: nn.Module) -> Dict[str, nn.Module]:
    """The NC / SE / Convs blocks of ``model`` by module name."""
    return {n: m for n, m in model.named_modules()
            if isinstance(m, BLOCK_TYPES)}


def parent(name: str) -> str:
    """``'a.b.nc_block'`` -> ``'a.b'`` (``''``: the model itself)."""
    return name.rpartition('.')[0]


def stage_places(model: nn.Module) -> List[str]:
    """Modules named ``layer<k>`` (the ResNet stages of every host): the
    places of a model that has no block and whose task has none."""
    return [n for n, _ in model.named_modules()
            if n.rpartition('.')[2][:5] == 'layer'
            and n.rpartition('.')[2][5:].isdigit()]


@dataclass
class _Calls:
    inputs: List[torch.Tensor] = field(default_factory=list)
    outputs: List[torch.Tensor] = field(default_factory=list)


class ChannelRecorder:
    """Forward hooks on a model's blocks and places; per-image statistics.

    Use: ``with ChannelRecorder(model, places) as rec:`` then, per test
    image, run the model on that image alone and call
    ``rec.image_done(image_id)``; afterwards :meth:`per_image` gives the
    values, ``rec.heat_keys`` the first NC block's keys of the first
    ``heat_images`` images (first sample, first group) and ``rec.spreads``
    every NC block's key spreads (one per sample and group).

    Per-image keys are ``'<module>:<stat>'`` with the stats
    :data:`BLOCK_STATS` (+ :data:`NC_STATS` for NC) of each block and
    :data:`PLACE_STATS` of each place, and the means over the image's
    blocks / places ``'blocks:<stat>'`` / ``'places:<stat>'``.

    Args:
        model: A model in eval mode.
        places: Names of modules whose outputs are measured (missing
            ones are skipped).
        heat_images: How many images' keys to keep for the heat map.
    """

    def __init__(self, model: nn.Module, places: Sequence[str],
                 heat_images: int = 3):
        self.blocks = find_blocks(model)
        modules = dict(model.named_modules())
        self.places = [p for p in places if p in modules]
        self.heat_images = heat_images
        self.heat_block = next((n for n, b in self.blocks.items()
                                if isinstance(b, NCBlock)), None)
        self.heat_keys: List[np.ndarray] = []
        self.spreads: Dict[str, List[float]] = {
            n: [] for n, b in self.blocks.items() if isinstance(b, NCBlock)}
        self.ids: List[object] = []
        self.values: Dict[str, List[float]] = {}
        self._calls: Dict[str, _Calls] = {}
        self._handles = [modules[n].register_forward_hook(self._hook(n))
                         for n in [*self.blocks, *self.places]]

    def _hook(self, name: str):
        def hook(module, args, output):
            if not torch.is_tensor(output) or output.dim() != 4:
                return
            calls = self._calls.setdefault(name, _Calls())
            # clones: hosts change outputs in place later (out += identity)
            calls.outputs.append(output.detach().clone())
            if name in self.blocks:
                calls.inputs.append(args[0].detach().clone())
        return hook

    def __enter__(self) -> 'ChannelRecorder':
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def _add(self, key: str, value: float) -> None:
        got = self.values.setdefault(key, [math.nan] * (len(self.ids) - 1))
        got.append(value)

    def image_done(self, image_id: object) -> None:
        """Turn the calls since the last image into that image's values.

        Raises:
            RuntimeError: A block or place ran on no tensor for the image.
        """
        missing = [n for n in [*self.blocks, *self.places]
                   if n not in self._calls]
        if missing:
            raise RuntimeError(f'no 4-D input reached {", ".join(missing)} '
                               f'for image {image_id!r}')
        self.ids.append(image_id)
        means: Dict[str, List[float]] = {}
        for name, block in self.blocks.items():
            calls = self._calls[name]
            c0, e0 = redundancy(calls.inputs)
            c1, e1 = redundancy(calls.outputs)
            stats = dict(corr_before=c0, corr_after=c1, erank_before=e0,
                         erank_after=e1, residual=relative_residual(
                             calls.inputs, calls.outputs))
            if isinstance(block, NCBlock):
                with torch.no_grad():
                    keys = torch.cat([nc_keys(block, x)
                                      for x in calls.inputs])
                spread = key_spread(keys)
                stats.update(entropy=float(affinity_entropy(
                    affinity(keys)).mean()), key_spread=float(spread.mean()))
                self.spreads[name] += spread.tolist()
                if name == self.heat_block and \
                        len(self.heat_keys) < self.heat_images:
                    self.heat_keys.append(keys[0].double().numpy())
            for stat, v in stats.items():
                self._add(f'{name}:{stat}', v)
                means.setdefault(f'{ALL_BLOCKS}:{stat}', []).append(v)
        for name in self.places:
            corr, erank = redundancy(self._calls[name].outputs)
            for stat, v in dict(corr=corr, erank=erank).items():
                self._add(f'{name}:{stat}', v)
                means.setdefault(f'{ALL_PLACES}:{stat}', []).append(v)
        for key, vs in means.items():
            self._add(key, float(np.nanmean(vs)) if not np.isnan(vs).all()
                       else math.nan)
        self._calls = {}

    def per_image(self) -> paired_stats.PerImage:
        """The values so far as :class:`.paired_stats.PerImage` (ids sorted:
        the bootstrap pairs images by id).

        Raises:
            ValueError: No image was recorded.
        """
        if not self.ids:
            raise ValueError('no image was recorded')
        order = np.argsort(np.array(self.ids), kind='stable')
        return paired_stats.PerImage(TASK, np.array(self.ids)[order], {
            k: np.array(v, float)[order] for k, v in self.values.items()})


def _one(per_image: paired_stats.PerImage, key: str
         ) -> paired_stats.PerImage:
    """The run's values of ``key`` under the key ``'x'``."""
    return paired_stats.PerImage(TASK, per_image.ids,
                                 {'x': per_image.arrays[key]})


def _row(kind: str, module: str, stat: str, d: paired_stats.Interval,
         **extra) -> dict:
    return dict(kind=kind, module=module, stat=stat, mean=d.mean,
                low=d.low, high=d.high, images=d.images, seeds=d.seeds,
                se_images=d.se_images, **extra)


def split_key(key: str) -> Tuple[str, str, str]:
    """``'a.b:corr'`` -> (kind, module, stat) with kind ``'block'``,
    ``'place'`` or ``'mean'`` (the means over blocks / places)."""
    module, _, stat = key.rpartition(':')
    kind = 'mean' if module in (ALL_BLOCKS, ALL_PLACES) else (
        'place' if stat in PLACE_STATS else 'block')
    return kind, module, stat


def summarize_run(per_image: paired_stats.PerImage,
                  n_boot: int = paired_stats.N_BOOT) -> List[dict]:
    """One row per module and statistic of one run: its mean over the
    images with a 95% interval (bootstrap over the images); and per block
    the ``after - before`` differences of ``corr`` and ``erank`` (paired
    by image) with their verdicts.

    Returns:
        list[dict]: Keys ``kind, module, stat, mean, low, high, images,
        seeds, se_images, verdict`` (verdict: '' for a mean).
    """
    rows = []
    for key in per_image.arrays:
        kind, module, stat = split_key(key)
        d = paired_stats.variant_interval({0: _one(per_image, key)}, 'x',
                                          n_boot)
        rows.append(_row(kind, module, stat, d, verdict=''))
        if stat in ('corr_after', 'erank_after'):
            base = stat.replace('after', 'before')
            values, images = paired_stats.bootstrap_values(
                {'after': {0: _one(per_image, key)},
                 'before': {0: _one(per_image, f'{module}:{base}')}}, 'x',
                n_boot)
            d = paired_stats.difference(values['after'], values['before'],
                                        images)
            name = f'{stat.split("_")[0]} after vs before'
            rows.append(_row(kind, module, name, d, verdict=paired_stats
                             .verdict(f'{module} {name}', d)))
    return rows


def by_seed(runs: Sequence[Tuple[object, paired_stats.PerImage]]
            ) -> Dict[object, paired_stats.PerImage]:
    """``(seed, values)`` of a variant's runs by seed; a run of unknown
    (None) or repeated seed under a key of its own (paired with none), as
    :func:`.compare.by_seed` does."""
    out: Dict[object, paired_stats.PerImage] = {}
    for i, (seed, values) in enumerate(runs):
        out[seed if seed is not None and seed not in out else
            f'run {i}'] = values
    return out


def compare_variants(variants: Dict[str, Dict[object, paired_stats.PerImage]],
                     n_boot: int = paired_stats.N_BOOT) -> List[dict]:
    """The variants' differences (:data:`.paired_stats.COMPARISONS`, e.g.
    +NC vs baseline, +NC vs +SE) of every place statistic (and their means
    over places) all runs have, paired over images and seeds.

    Args:
        variants: Per-image values by variant, then seed (:func:`by_seed`).
        n_boot: Bootstrap replicates.

    Returns:
        list[dict]: Keys ``kind, module, stat, comparison, mean, low, high,
        images, seeds, se_images, se_seeds, resolved, verdict`` (the
        verdict as :func:`.paired_stats.verdict` words it, e.g. ``+NC vs
        +SE: -0.02 [-0.05, +0.01], not resolved (...)``).
    """
    runs = [r for g in variants.values() for r in g.values()]
    if not runs:
        return []
    keys = [k for k in runs[0].arrays if split_key(k)[2] in PLACE_STATS
            and all(k in r.arrays for r in runs)]
    rows = []
    for key in keys:
        kind, module, stat = split_key(key)
        values, images = paired_stats.bootstrap_values(
            {v: {s: _one(r, key) for s, r in g.items()}
             for v, g in variants.items() if g}, 'x', n_boot)
        for b, a in paired_stats.COMPARISONS:
            if a in values and b in values:
                d = paired_stats.difference(values[b], values[a], images)
                name = f'{b} vs {a}'
                rows.append(_row(
                    kind, module, stat, d, comparison=name,
                    se_seeds=d.se_seeds, resolved=d.resolved,
                    verdict=paired_stats.verdict(name, d)))
    return rows


def variant_means(variants: Dict[str, Dict[object, paired_stats.PerImage]],
                  keys: Sequence[str], n_boot: int = paired_stats.N_BOOT
                  ) -> Dict[Tuple[str, str], paired_stats.Interval]:
    """``{(variant, key): interval}``: each variant's mean of each of
    ``keys`` it has (over its seeds and the images all its runs saw)."""
    out = {}
    for v, g in variants.items():
        for key in keys:
            if g and all(key in r.arrays for r in g.values()):
                out[v, key] = paired_stats.variant_interval(
                    {s: _one(r, key) for s, r in g.items()}, 'x', n_boot)
    return out
