"""Deterministic tiny datasets in the real COCO, VOC and image-folder formats.

The detection and segmentation sets are synthetic: coloured squares, circles
and triangles on textured, noisy backgrounds, drawn by one helper
(:func:`draw_scene`). Image ``i`` of a split is
``draw_scene((seed, split_key, i), size)``, with ``split_key`` from
:data:`SPLIT_KEYS`, so the same seed and size give the same scenes in every
format (COCO ``train2017``, VOC2007 ``trainval`` and VOC segmentation
``train`` share them). The classification set is scikit-learn's copy of the
UCI handwritten digits (1,797 real 8x8 images).

Every ``make_*`` function writes a whole dataset directory: it is built in a
temporary sibling directory and renamed into place at the end, so the same
arguments give byte-identical files, a re-run replaces the old directory and
a crash leaves nothing half-written.
"""
import contextlib
import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PathLike = Union[str, 'os.PathLike[str]']

SHAPE_CLASSES = ('square', 'circle', 'triangle')
"""Class names of the COCO set; shape kind ``k`` is ``SHAPE_CLASSES[k]``."""

VOC_DET_CLASSES = ('aeroplane', 'bicycle', 'bird')
"""Real VOC class names given to the square, circle and triangle kinds."""

VOC_SEG_CLASS_IDS = (1, 2, 3)
"""VOC class indices (aeroplane, bicycle, bird) painted in the seg masks."""

DIGIT_CLASSES = tuple(str(d) for d in range(10))
"""Class (folder) names of the digits set."""

SPLIT_KEYS = {'train': 0, 'val': 1, 'extra': 2, 'crops_train': 3,
              'crops_val': 4, 'test': 5}
"""Seed keys of the scene splits (``extra`` is VOC2012 ``trainval``; the
``crops_*`` scenes give the classification crops, apart from the others;
``test`` is the held-out split the demo reports, never used to choose a
recipe or a threshold)."""

CROP_CLASSES = (*SHAPE_CLASSES, 'background')
"""Class (folder) names of the shape-crops classification set."""

IGNORE_INDEX = 255
"""Label of the ignored border band in the segmentation masks."""


def voc_palette() -> List[int]:
    """Return the 256-colour Pascal VOC palette as a flat RGB list.

    Returns:
        list[int]: 768 values, ``[r0, g0, b0, r1, ...]``; index 255 is the
        cream ``(224, 224, 192)`` of VOC's ignored borders.
    """
    palette = []
    for i in range(256):
        rgb = [0, 0, 0]
        for bit in range(8):
            for ch in range(3):
                rgb[ch] |= ((i >> (3 * bit + ch)) & 1) << (7 - bit)
        palette.extend(rgb)
    return palette


class Scene(NamedTuple):
    """One synthetic image with its ground truth.

    Attributes:
        image: ``(size, size, 3)`` uint8 RGB image.
        kinds: Shape kind (index into :data:`SHAPE_CLASSES`) per object.
        boxes: Tight pixel box per object, ``(x0, y0, x1, y1)`` with
            inclusive, 0-based ``x1``/``y1``.
        masks: ``(num_objects, size, size)`` bool masks; objects never
            overlap.
    """

    image: np.ndarray
    kinds: List[int]
    boxes: List[Tuple[int, int, int, int]]
    masks: np.ndarray


def _shape_mask(kind: int, cx: float, cy: float, side: float, angle: float,
                size: int) -> np.ndarray:
    """Rasterise one (rotated) square, circle or triangle as a bool mask."""
    canvas = Image.new('L', (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if kind == 1:
        r = side / 2
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1)
    else:
        n = 4 if kind == 0 else 3
        radius = side / np.sqrt(2) if n == 4 else side / np.sqrt(3)
        t = angle + 2 * np.pi * np.arange(n) / n
        draw.polygon(list(zip(cx + radius * np.cos(t),
                              cy + radius * np.sin(t))), fill=1)
    return np.asarray(canvas, dtype=bool)


def _smooth_noise(rng: np.random.Generator, size: int,
                  grid: Tuple[int, ...]) -> np.ndarray:
    """Upsample random bytes on a coarse ``grid`` to ``size`` px, minus 128."""
    coarse = Image.fromarray(rng.integers(0, 256, grid, dtype=np.uint8))
    fine = coarse.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(fine, dtype=float) - 128.0


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return a float RGB background: gradient, blotches and a few lines."""
    c0, c1 = rng.uniform(30, 225, (2, 3))
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None]
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-6)
    img = c0 + (c1 - c0) * ramp + _smooth_noise(rng, size, (6, 6, 3)) * 0.35
    lines = Image.new('L', (size, size), 0)
    draw = ImageDraw.Draw(lines)
    for _ in range(rng.integers(2, 6)):
        draw.line(list(rng.uniform(0, size, 4)), fill=1,
                  width=int(rng.integers(1, 3)))
    tone = rng.uniform(-60, 60, 3)
    return img + np.asarray(lines, dtype=float)[..., None] * tone


def draw_scene(seed: Sequence[int], size: int = 160,
               max_objects: int = 4) -> Scene:
    """Draw 1-``max_objects`` non-overlapping coloured shapes on a texture.

    Shapes are fully inside the image, at least 8 px apart, and every box
    side is at least ``min(20, size // 4)`` px.

    Args:
        seed: Entropy for ``numpy.random.default_rng``, e.g.
            ``(seed, SPLIT_KEYS['train'], index)``.
        size: Side of the square image in pixels.
        max_objects: Largest number of objects per image.

    Returns:
        Scene: The image and its per-object kinds, boxes and masks.

    Raises:
        ValueError: If ``size`` is below 32.
    """
    if size < 32:
        raise ValueError(f'size must be at least 32 px, got {size}')
    rng = np.random.default_rng(list(seed))
    img = _background(rng, size)
    min_box = min(20, size // 4)
    lo, hi = max(min_box * 1.2, size * 0.12), size * 0.42
    kinds, boxes, masks = [], [], []
    taken = np.zeros((size, size), dtype=bool)
    for _ in range(rng.integers(1, max_objects + 1)):
        for _attempt in range(30 if kinds else 1000):
            kind = int(rng.integers(len(SHAPE_CLASSES)))
            side = rng.uniform(lo, max(lo, hi))
            margin = side / np.sqrt(2) + 2
            cx, cy = rng.uniform(margin, size - 1 - margin, 2)
            mask = _shape_mask(kind, cx, cy, side, rng.uniform(0, np.pi),
                               size)
            ys, xs = np.nonzero(mask)
            box = (int(xs.min()), int(ys.min()), int(xs.max()),
                   int(ys.max()))
            if (min(box[2] - box[0], box[3] - box[1]) + 1 < min_box
                    or taken[max(box[1] - 8, 0):box[3] + 9,
                             max(box[0] - 8, 0):box[2] + 9].any()):
                continue
            under = img[mask].mean(axis=0)
            colours = rng.uniform(0, 255, (8, 3))
            colour = colours[np.abs(colours - under).sum(1).argmax()]
            shade = _smooth_noise(rng, size, (4, 4)) * 0.25
            img[mask] = colour + shade[mask][:, None]
            taken |= mask
            kinds.append(kind)
            boxes.append(box)
            masks.append(mask)
            break
    img += rng.normal(0, 10, img.shape)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Scene(image, kinds, boxes,
                 np.stack(masks) if masks else np.zeros((0, size, size),
                                                         dtype=bool))


@contextlib.contextmanager
def _atomic_dir(root: PathLike) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``root`` on success."""
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{root.name}.', suffix='.tmp',
                                dir=root.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if root.exists() or root.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f'.{root.name}.',
                                        suffix='.old', dir=root.parent))
            os.replace(root, old / 'data')
            os.replace(tmp, root)
            shutil.rmtree(old)
        else:
            os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _save_jpg(image: np.ndarray, path: Path) -> None:
    """Save an RGB array as a quality-95 JPEG, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=95)


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    """Write one line per item, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))


def _scenes(seed: int, split: str, num: int,
            size: int) -> Iterator[Tuple[int, Scene]]:
    """Yield ``(i, scene)`` for the first ``num`` scenes of a split."""
    for i in range(num):
        yield i, draw_scene((seed, SPLIT_KEYS[split], i), size)


def make_coco_det(root: PathLike, num_train: int = 16, num_val: int = 8,
                  size: int = 160, seed: int = 0,
                  num_test: int | None = None) -> Dict[str, int]:
    """Write a COCO-format detection set of shapes.

    Layout: ``root/annotations/instances_{train,val,test}2017.json`` and
    ``root/{train,val,test}2017/<12-digit image id>.jpg`` (``test2017`` is
    a labelled held-out split). Image ids are ``1..num_train`` (train), then
    val's, then test's; annotation ids
    start at 1 in each file; category ids are 1-based in
    :data:`SHAPE_CLASSES` order. Annotations carry ``bbox`` ``[x, y, w, h]``
    (tight pixel extent), ``area = w * h``, ``iscrowd = 0`` and no
    ``segmentation``, which is all ``bbox`` evaluation needs.

    Args:
        root: Dataset directory (replaced as a whole).
        num_train: Number of ``train2017`` images.
        num_val: Number of ``val2017`` images.
        size: Image side in pixels.
        seed: Random seed.
        num_test: Number of ``test2017`` images (default: ``num_val``).

    Returns:
        dict[str, int]: Image and instance counts per split.
    """
    num_test = num_val if num_test is None else num_test
    counts = {}
    categories = [dict(id=k + 1, name=name, supercategory='shape')
                  for k, name in enumerate(SHAPE_CLASSES)]
    with _atomic_dir(root) as tmp:
        for split, num, first_id in (
                ('train', num_train, 1), ('val', num_val, num_train + 1),
                ('test', num_test, num_train + num_val + 1)):
            images, anns = [], []
            for i, scene in _scenes(seed, split, num, size):
                img_id = first_id + i
                file_name = f'{img_id:012d}.jpg'
                _save_jpg(scene.image, tmp / f'{split}2017' / file_name)
                images.append(dict(id=img_id, file_name=file_name,
                                   width=size, height=size))
                for kind, (x0, y0, x1, y1) in zip(scene.kinds, scene.boxes):
                    w, h = x1 - x0 + 1, y1 - y0 + 1
                    anns.append(dict(id=len(anns) + 1, image_id=img_id,
                                     category_id=kind + 1,
                                     bbox=[x0, y0, w, h], area=w * h,
                                     iscrowd=0))
            ann_file = tmp / 'annotations' / f'instances_{split}2017.json'
            ann_file.parent.mkdir(parents=True, exist_ok=True)
            ann_file.write_text(json.dumps(dict(
                info=dict(description='mmnc tiny shapes', version='1.0',
                          year=2017),
                licenses=[], images=images, annotations=anns,
                categories=categories)))
            counts[f'{split}_images'] = num
            counts[f'{split}_instances'] = len(anns)
    return counts


def _voc_xml(folder: str, img_id: str, size: int, names: Sequence[str],
             boxes: Sequence[Tuple[int, int, int, int]]) -> bytes:
    """Return a VOC annotation XML with 1-based inclusive boxes."""
    ann = ET.Element('annotation')
    fields = [('folder', folder), ('filename', f'{img_id}.jpg')]
    for tag, text in fields:
        ET.SubElement(ann, tag).text = text
    ET.SubElement(ET.SubElement(ann, 'source'), 'database').text = \
        'mmnc tiny shapes'
    size_el = ET.SubElement(ann, 'size')
    for tag, value in (('width', size), ('height', size), ('depth', 3)):
        ET.SubElement(size_el, tag).text = str(value)
    ET.SubElement(ann, 'segmented').text = '0'
    for name, box in zip(names, boxes):
        obj = ET.SubElement(ann, 'object')
        for tag, text in (('name', name), ('pose', 'Unspecified'),
                          ('truncated', '0'), ('difficult', '0')):
            ET.SubElement(obj, tag).text = text
        bndbox = ET.SubElement(obj, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(bndbox, tag).text = str(value + 1)
    ET.indent(ann)
    return ET.tostring(ann, encoding='utf-8') + b'\n'


def make_voc_det(root: PathLike, num_train: int = 16, num_val: int = 8,
                 size: int = 160, seed: int = 0) -> Dict[str, int]:
    """Write a Pascal VOC detection set of shapes named as VOC classes.

    Layout under ``root/VOCdevkit/``: ``VOC2007/`` and ``VOC2012/``, each
    with ``Annotations/<id>.xml``, ``JPEGImages/<id>.jpg`` and
    ``ImageSets/Main/trainval.txt``; ``VOC2007`` also has
    ``ImageSets/Main/test.txt``. VOC2007 ids are ``000001``.. (trainval,
    then test); VOC2012 ids are ``2012_000001``.. (``num_train`` images).
    Boxes are 1-based and inclusive as in VOC; object names come from
    :data:`VOC_DET_CLASSES`, all with ``difficult`` 0.

    Args:
        root: Dataset directory (replaced as a whole).
        num_train: Images in each ``trainval`` split.
        num_val: Images in the VOC2007 ``test`` split.
        size: Image side in pixels.
        seed: Random seed.

    Returns:
        dict[str, int]: Image and instance counts per year and split.
    """
    counts = {}
    splits = (('VOC2007', 'trainval', 'train', num_train, '{:06d}', 1),
              ('VOC2007', 'test', 'val', num_val, '{:06d}', num_train + 1),
              ('VOC2012', 'trainval', 'extra', num_train, '2012_{:06d}', 1))
    with _atomic_dir(root) as tmp:
        for year, image_set, key, num, fmt, first in splits:
            sub = tmp / 'VOCdevkit' / year
            ids, instances = [], 0
            for i, scene in _scenes(seed, key, num, size):
                img_id = fmt.format(first + i)
                ids.append(img_id)
                _save_jpg(scene.image, sub / 'JPEGImages' / f'{img_id}.jpg')
                names = [VOC_DET_CLASSES[k] for k in scene.kinds]
                xml = _voc_xml(year, img_id, size, names, scene.boxes)
                (sub / 'Annotations').mkdir(exist_ok=True)
                (sub / 'Annotations' / f'{img_id}.xml').write_bytes(xml)
                instances += len(names)
            _write_lines(sub / 'ImageSets' / 'Main' / f'{image_set}.txt', ids)
            counts[f'{year}_{image_set}_images'] = num
            counts[f'{year}_{image_set}_instances'] = instances
    return counts


def _seg_label(scene: Scene, band: int) -> np.ndarray:
    """Paint class ids and a ``band``-px ignore border around each object."""
    size = scene.image.shape[0]
    label = np.zeros((size, size), dtype=np.uint8)
    for kind, mask in zip(scene.kinds, scene.masks):
        label[mask] = VOC_SEG_CLASS_IDS[kind]
        m = Image.fromarray(mask.astype(np.uint8))
        grow, shrink = (band + 1) // 2, band // 2
        outer = np.asarray(m.filter(ImageFilter.MaxFilter(2 * grow + 1)))
        inner = (np.asarray(m.filter(ImageFilter.MinFilter(2 * shrink + 1)))
                 if shrink else mask)
        label[outer.astype(bool) & ~inner.astype(bool)] = IGNORE_INDEX
    return label


def make_voc_seg(root: PathLike, num_train: int = 16, num_val: int = 8,
                 size: int = 128, seed: int = 0,
                 num_test: int | None = None) -> Dict[str, int]:
    """Write a Pascal VOC 2012 segmentation set of shapes.

    Layout under ``root/VOCdevkit/VOC2012/``: ``JPEGImages/<id>.jpg``,
    ``SegmentationClass/<id>.png`` and ``ImageSets/Segmentation/
    {train,val,test}.txt``; ids are ``2012_000001``.. (train, val, then
    test, a labelled held-out split). Masks
    are 8-bit 'P'-mode PNGs with the VOC palette holding class indices:
    0 background, :data:`VOC_SEG_CLASS_IDS` for the shapes and
    :data:`IGNORE_INDEX` on a 1-3 px band around every object, as in VOC.

    Args:
        root: Dataset directory (replaced as a whole).
        num_train: Number of ``train`` images.
        num_val: Number of ``val`` images.
        size: Image side in pixels.
        seed: Random seed.
        num_test: Number of ``test`` images (default: ``num_val``).

    Returns:
        dict[str, int]: Image and object counts per split.
    """
    num_test = num_val if num_test is None else num_test
    counts = {}
    palette = voc_palette()
    with _atomic_dir(root) as tmp:
        sub = tmp / 'VOCdevkit' / 'VOC2012'
        for split, num, first in (('train', num_train, 1),
                                  ('val', num_val, num_train + 1),
                                  ('test', num_test, num_train + num_val + 1)):
            ids, objects = [], 0
            for i, scene in _scenes(seed, split, num, size):
                img_id = f'2012_{first + i:06d}'
                ids.append(img_id)
                _save_jpg(scene.image, sub / 'JPEGImages' / f'{img_id}.jpg')
                band = 1 + (seed + SPLIT_KEYS[split] + i) % 3
                png = Image.fromarray(_seg_label(scene, band))
                png.putpalette(palette)  # 'L' -> 'P'
                (sub / 'SegmentationClass').mkdir(exist_ok=True)
                png.save(sub / 'SegmentationClass' / f'{img_id}.png')
                objects += len(scene.kinds)
            _write_lines(sub / 'ImageSets' / 'Segmentation' / f'{split}.txt',
                         ids)
            counts[f'{split}_images'] = num
            counts[f'{split}_objects'] = objects
    return counts


def _crop(scene: Scene, rng: np.random.Generator,
          size: int) -> Tuple[int, np.ndarray]:
    """A square crop of ``scene`` resized to ``size``: around one object
    (class: its kind) or of background only (class ``background``), half
    the time each (an object if no free square is found)."""
    full = scene.image.shape[0]
    if rng.random() < 0.5:
        taken = scene.masks.any(0)
        for _ in range(50):
            side = int(rng.integers(full // 6, full // 2))
            x, y = (int(v) for v in rng.integers(0, full - side, 2))
            if not taken[y:y + side, x:x + side].any():
                img = Image.fromarray(scene.image).crop(
                    (x, y, x + side, y + side))
                return len(SHAPE_CLASSES), np.asarray(
                    img.resize((size, size), Image.BILINEAR))
    return _object_crop(scene, rng, size)


def _object_crop(scene: Scene, rng: np.random.Generator,
                 size: int) -> Tuple[int, np.ndarray]:
    """A crop around one object that fills 50-75% of its side, jittered."""
    j = int(rng.integers(len(scene.kinds)))
    x0, y0, x1, y1 = scene.boxes[j]
    side = max(x1 - x0, y1 - y0) / rng.uniform(0.5, 0.75)
    cx = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * side
    cy = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * side
    box = tuple(int(round(v)) for v in (cx - side / 2, cy - side / 2,
                                         cx + side / 2, cy + side / 2))
    img = Image.fromarray(scene.image).crop(box)  # outside: black
    return scene.kinds[j], np.asarray(img.resize((size, size),
                                                 Image.BILINEAR))


def make_shape_crops(root: PathLike, num_train: int = 4000,
                     num_val: int = 800, size: int = 96, scene_size: int = 256,
                     seed: int = 0) -> Dict[str, int]:
    """Write an image-folder classification set of shape crops.

    The pretraining set of the mini protocol (the stand-in for ImageNet):
    crops of scenes drawn as the detection and segmentation sets draw
    theirs (from their own ``crops_*`` seeds), each around one object
    (class: its kind) or of background only (class ``background``). Layout:
    ``root/{train,val}/<class>/<index>.png`` with ``<class>`` in
    :data:`CROP_CLASSES`, RGB PNGs of ``size`` px (ImageNet's layout, read
    by mmpretrain's ``CustomDataset``).

    Args:
        root: Dataset directory (replaced as a whole).
        num_train: Number of ``train`` crops.
        num_val: Number of ``val`` crops.
        size: Crop side in pixels.
        scene_size: Side of the scenes the crops are taken from.
        seed: Random seed.

    Returns:
        dict[str, int]: Crop counts per split.
    """
    with _atomic_dir(root) as tmp:
        for split, num in (('train', num_train), ('val', num_val)):
            for c in CROP_CLASSES:
                (tmp / split / c).mkdir(parents=True)
            rng = np.random.default_rng([seed, SPLIT_KEYS[f'crops_{split}']])
            for i, scene in _scenes(seed, f'crops_{split}', num, scene_size):
                kind, img = _crop(scene, rng, size)
                Image.fromarray(img).save(
                    tmp / split / CROP_CLASSES[kind] / f'{i:05d}.png')
    return {'train_images': num_train, 'val_images': num_val}


def make_digits(root: PathLike, val_fraction: float = 0.125,
                seed: int = 0,
                test_fraction: float | None = None) -> Dict[str, int]:
    """Export scikit-learn's UCI digits as a stratified image-folder set.

    Layout: ``root/{train,val,test}/<digit>/<index>.png`` where ``<digit>``
    is one of :data:`DIGIT_CLASSES` and ``<index>`` the 4-digit position in
    ``sklearn.datasets.load_digits()``. Images are 8x8 grayscale ('L')
    PNGs, the 0..16 values scaled to 0..255. In each class,
    ``round(n * val_fraction)`` images, chosen with ``seed``, go to ``val``
    and the next ``round(n * test_fraction)`` to ``test`` (held out).

    Args:
        root: Dataset directory (replaced as a whole).
        val_fraction: Fraction of each class put in ``val``.
        seed: Random seed of the split.
        test_fraction: Fraction of each class put in ``test`` (default:
            ``val_fraction``).

    Returns:
        dict[str, int]: Image counts per split.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    test_fraction = val_fraction if test_fraction is None else test_fraction
    if not (0 <= val_fraction and 0 <= test_fraction
            and val_fraction + test_fraction < 1):
        raise ValueError(
            f'make_digits: val_fraction ({val_fraction}) and test_fraction '
            f'({test_fraction}) must be >= 0 and leave images to train on '
            f'(sum < 1); test_fraction defaults to val_fraction')
    rng = np.random.default_rng(seed)
    split_of = np.full(len(digits.target), 'train', dtype=object)
    for c in range(len(DIGIT_CLASSES)):
        idx = rng.permutation(np.flatnonzero(digits.target == c))
        n_val = int(round(len(idx) * val_fraction))
        n_test = int(round(len(idx) * test_fraction))
        split_of[idx[:n_val]] = 'val'
        split_of[idx[n_val:n_val + n_test]] = 'test'
    splits = ('train', 'val', 'test')
    with _atomic_dir(root) as tmp:
        for c in DIGIT_CLASSES:
            for split in splits:
                (tmp / split / c).mkdir(parents=True)
        for i, (img, target) in enumerate(zip(pixels, digits.target)):
            Image.fromarray(img).save(
                tmp / split_of[i] / DIGIT_CLASSES[target] / f'{i:04d}.png')
    return {f'{s}_images': int((split_of == s).sum()) for s in splits}
