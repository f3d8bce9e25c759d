"""The tiny datasets are deterministic and load with the real loaders."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from mmnc.datasets import synthetic as td

REPO = Path(__file__).resolve().parents[1]
SMALL = dict(num_train=3, num_val=2, size=96)


def _tree(root: Path) -> dict:
    """Map every file under ``root`` (relative path) to its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


def _jpg(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'), dtype=float)


def _morph(mask: np.ndarray, filt: ImageFilter.Filter) -> np.ndarray:
    img = Image.fromarray(mask.astype(np.uint8))
    return np.asarray(img.filter(filt)).astype(bool)


@pytest.fixture(scope='module')
def coco(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp('data') / 'coco_tiny'
    return root, td.make_coco_det(root)


@pytest.fixture(scope='module')
def voc(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp('data') / 'voc_tiny'
    return root, td.make_voc_det(root)


@pytest.fixture(scope='module')
def vocseg(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp('data') / 'vocseg_tiny'
    return root, td.make_voc_seg(root)


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp('data') / 'digits'
    return root, td.make_digits(root)


@pytest.mark.parametrize('make', [td.make_coco_det, td.make_voc_det,
                                  td.make_voc_seg, td.make_shape_crops])
def test_same_seed_same_bytes_and_clean_rerun(tmp_path, make):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    make(a, **SMALL)
    (a / 'stale.txt').write_text('left over')
    make(a, **SMALL)  # a re-run replaces the whole directory
    make(b, **SMALL)
    make(c, seed=1, **SMALL)
    tree_a, tree_c = _tree(a), _tree(c)
    assert tree_a and tree_a == _tree(b)
    if make is not td.make_shape_crops:  # its class folders follow the seed
        assert tree_a.keys() == tree_c.keys()
    changed = [k for k in tree_a if tree_a[k] != tree_c.get(k)]
    assert any(k.endswith(('.jpg', '.png')) for k in changed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a', 'b', 'c']


def test_crash_leaves_old_dataset_and_no_temp_dir(tmp_path, monkeypatch):
    root = tmp_path / 'coco_tiny'
    td.make_coco_det(root, **SMALL)
    before = _tree(root)
    calls = []

    def failing_save(image, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError('disk full')
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'partial')

    monkeypatch.setattr(td, '_save_jpg', failing_save)
    with pytest.raises(OSError, match='disk full'):
        td.make_coco_det(root, seed=5, **SMALL)
    assert _tree(root) == before
    assert [p.name for p in tmp_path.iterdir()] == ['coco_tiny']


def test_draw_scene_boxes_are_tight_and_apart():
    for i in range(12):
        scene = td.draw_scene((0, 0, i), 160)
        assert scene.image.shape == (160, 160, 3)
        assert scene.image.dtype == np.uint8
        assert 1 <= len(scene.kinds) <= 4
        assert scene.masks.sum(0).max() == 1  # no overlap
        for kind, (x0, y0, x1, y1), mask in zip(scene.kinds, scene.boxes,
                                                scene.masks):
            assert kind in range(len(td.SHAPE_CLASSES))
            assert 0 <= x0 < x1 < 160 and 0 <= y0 < y1 < 160
            assert min(x1 - x0, y1 - y0) + 1 >= 20
            ys, xs = np.nonzero(mask)
            assert (xs.min(), ys.min(), xs.max(), ys.max()) == (x0, y0, x1,
                                                                y1)


def test_coco_json_is_valid(coco):
    root, counts = coco
    for split in ('train', 'val'):
        data = json.loads(
            (root / 'annotations' / f'instances_{split}2017.json').read_text())
        images = {img['id']: img for img in data['images']}
        assert len(images) == len(data['images']) == counts[f'{split}_images']
        assert [c['name'] for c in data['categories']] == list(
            td.SHAPE_CLASSES)
        cat_ids = {c['id'] for c in data['categories']}
        anns = data['annotations']
        assert len(anns) == counts[f'{split}_instances']
        assert len({a['id'] for a in anns}) == len(anns)
        assert {a['image_id'] for a in anns} == set(images)
        for ann in anns:
            img = images[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert x >= 0 and y >= 0 and w >= 20 and h >= 20
            assert x + w <= img['width'] and y + h <= img['height']
            assert ann['area'] == w * h and ann['iscrowd'] == 0
            assert ann['category_id'] in cat_ids
        for img in images.values():
            path = root / f'{split}2017' / img['file_name']
            assert Image.open(path).size == (img['width'], img['height'])


def test_coco_loads_with_mmdet_and_evaluates(coco):
    import torch
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric

    root, counts = coco
    ds = CocoDataset(
        data_root=str(root), ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        metainfo=dict(classes=td.SHAPE_CLASSES), pipeline=[])
    assert len(ds) == counts['train_images'] == 16
    assert sum(len(ds[i]['instances'])
               for i in range(len(ds))) == counts['train_instances']
    for i in range(len(ds)):
        info = ds[i]
        assert Path(info['img_path']).is_file()
        scene = td.draw_scene((0, td.SPLIT_KEYS['train'], i), 160)
        assert np.abs(_jpg(info['img_path']) - scene.image).mean() < 12
        got = [(inst['bbox_label'], inst['bbox'], inst['ignore_flag'])
               for inst in info['instances']]
        want = [(k, [x0, y0, x1 + 1, y1 + 1], 0)
                for k, (x0, y0, x1, y1) in zip(scene.kinds, scene.boxes)]
        assert got == want

    # Ground-truth boxes as predictions must score a perfect bbox mAP.
    val = CocoDataset(
        data_root=str(root), ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        metainfo=dict(classes=td.SHAPE_CLASSES), pipeline=[],
        test_mode=True)
    metric = CocoMetric(ann_file=str(root / val.ann_file), metric='bbox')
    metric.dataset_meta = val.metainfo
    samples = []
    for i in range(len(val)):
        info = val[i]
        insts = info['instances']
        samples.append(dict(
            img_id=info['img_id'], ori_shape=(info['height'], info['width']),
            pred_instances=dict(
                bboxes=torch.tensor([b['bbox'] for b in insts],
                                    dtype=torch.float32),
                scores=torch.ones(len(insts)),
                labels=torch.tensor([b['bbox_label'] for b in insts]))))
    metric.process({}, samples)
    results = metric.evaluate(size=len(samples))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)


@pytest.mark.parametrize('year,image_set,key,num', [
    ('VOC2007', 'trainval', 'train', 16),
    ('VOC2007', 'test', 'val', 8),
    ('VOC2012', 'trainval', 'extra', 16),
])
def test_voc_loads_with_mmdet(voc, year, image_set, key, num):
    from mmdet.datasets import VOCDataset

    root, counts = voc
    assert counts[f'{year}_{image_set}_images'] == num
    sub = root / 'VOCdevkit' / year
    ids = (sub / 'ImageSets' / 'Main' / f'{image_set}.txt').read_text()
    assert len(ids.split()) == num
    kwargs = dict(data_root=str(root / 'VOCdevkit'),
                  ann_file=f'{year}/ImageSets/Main/{image_set}.txt',
                  data_prefix=dict(sub_data_root=f'{year}/'), pipeline=[],
                  test_mode=image_set == 'test')
    ours = VOCDataset(metainfo=dict(classes=td.VOC_DET_CLASSES), **kwargs)
    full = VOCDataset(**kwargs)  # mmdet's 20 VOC classes
    assert len(ours) == len(full) == num
    assert ours.metainfo['dataset_type'] == year
    total = 0
    for i in range(num):
        scene = td.draw_scene((0, td.SPLIT_KEYS[key], i), 160)
        info, info_full = ours[i], full[i]
        assert (info['width'], info['height']) == (160, 160)
        assert np.abs(_jpg(info['img_path']) - scene.image).mean() < 12
        # mmdet subtracts 1 from VOC's 1-based inclusive corners.
        want = [(k, list(box), 0) for k, box in zip(scene.kinds, scene.boxes)]
        for ds_info, classes in ((info, td.VOC_DET_CLASSES),
                                 (info_full, full.metainfo['classes'])):
            got = [(td.VOC_DET_CLASSES.index(classes[inst['bbox_label']]),
                    inst['bbox'], inst['ignore_flag'])
                   for inst in ds_info['instances']]
            assert got == want
        total += len(want)
    assert total == counts[f'{year}_{image_set}_instances']
    if year == 'VOC2012':
        assert not (sub / 'ImageSets' / 'Main' / 'test.txt').exists()


def test_voc_seg_pngs(vocseg):
    root, counts = vocseg
    sub = root / 'VOCdevkit' / 'VOC2012'
    palette = td.voc_palette()
    assert palette[:6] == [0, 0, 0, 128, 0, 0]
    assert palette[-3:] == [224, 224, 192]
    allowed = {0, 255, *td.VOC_SEG_CLASS_IDS}
    for split, key in (('train', 'train'), ('val', 'val')):
        ids = (sub / 'ImageSets' / 'Segmentation' /
               f'{split}.txt').read_text().split()
        assert len(ids) == counts[f'{split}_images']
        for i, img_id in enumerate(ids):
            png = Image.open(sub / 'SegmentationClass' / f'{img_id}.png')
            assert png.mode == 'P' and png.getpalette() == palette
            label = np.asarray(png)
            assert set(np.unique(label)) <= allowed
            assert (label == 255).any() and (label == 0).any()
            # Background never touches an object: a 255 band lies between.
            for a, b in ((label[1:], label[:-1]), (label[:, 1:],
                                                   label[:, :-1])):
                obj_a = (a != 0) & (a != 255)
                obj_b = (b != 0) & (b != 255)
                assert not (obj_a & (b == 0)).any()
                assert not (obj_b & (a == 0)).any()
            scene = td.draw_scene((0, td.SPLIT_KEYS[key], i), 128)
            for kind, mask in zip(scene.kinds, scene.masks):
                cls = td.VOC_SEG_CLASS_IDS[kind]
                assert set(np.unique(label[mask])) <= {cls, 255}
                assert (label[mask] == cls).mean() > 0.5
            drawn = np.isin(label, td.VOC_SEG_CLASS_IDS)
            assert not (drawn & ~scene.masks.any(0)).any()
            # The band is 1-3 px wide: at most 1 px inside an object and
            # 2 px outside.
            for mask in scene.masks:
                core = _morph(mask, ImageFilter.MinFilter(5))
                assert (label[core] != 255).all()
            near = _morph(scene.masks.any(0), ImageFilter.MaxFilter(5))
            assert not ((label == 255) & ~near).any()


def test_voc_seg_loads_with_mmseg(vocseg):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets import PascalVOCDataset
    from mmseg.datasets.transforms import LoadAnnotations

    root, counts = vocseg
    for split in ('train', 'val'):
        ds = PascalVOCDataset(
            data_root=str(root / 'VOCdevkit' / 'VOC2012'),
            data_prefix=dict(img_path='JPEGImages',
                             seg_map_path='SegmentationClass'),
            ann_file=f'ImageSets/Segmentation/{split}.txt',
            pipeline=[LoadImageFromFile(), LoadAnnotations()])
        assert len(ds) == counts[f'{split}_images']
        assert len(ds.metainfo['classes']) == 21
        for i in (0, len(ds) - 1):
            out = ds[i]
            assert out['img'].shape == (128, 128, 3)
            seg = out['gt_seg_map']
            assert seg.shape == (128, 128)
            png = np.asarray(Image.open(ds.get_data_info(i)['seg_map_path']))
            np.testing.assert_array_equal(seg, png)


def test_digits_split_and_mmpretrain(digits):
    from mmpretrain.datasets import CustomDataset
    from sklearn.datasets import load_digits

    root, counts = digits
    data = load_digits()
    assert sum(counts[f'{s}_images'] for s in ('train', 'val', 'test')) \
        == 1797
    seen = {}
    for split in ('train', 'val', 'test'):
        assert sorted(p.name for p in (root / split).iterdir()) == list(
            td.DIGIT_CLASSES)
        for path in (root / split).glob('*/*.png'):
            seen.setdefault(int(path.stem), []).append(split)
            assert data.target[int(path.stem)] == int(path.parent.name)
    assert sorted(seen) == list(range(1797))  # every image exactly once
    assert all(len(v) == 1 for v in seen.values())
    for c in range(10):
        n = int((data.target == c).sum())
        for split in ('val', 'test'):
            got = len(list((root / split / str(c)).glob('*.png')))
            assert got == round(n * 0.125), (split, c)
    img = np.asarray(Image.open(next((root / 'val' / '3').glob('*.png'))))
    assert img.shape == (8, 8) and img.dtype == np.uint8 and img.max() > 200
    first = root / seen[0][0] / '0'
    np.testing.assert_array_equal(
        np.asarray(Image.open(first / '0000.png')),
        np.rint(data.images[0] * 255 / 16).astype(np.uint8))

    for split in ('train', 'val', 'test'):
        ds = CustomDataset(data_root=str(root), data_prefix=split,
                           pipeline=[])
        assert len(ds) == counts[f'{split}_images']
        assert ds.metainfo['classes'] == td.DIGIT_CLASSES
        for i in (0, len(ds) - 1):
            info = ds.get_data_info(i)
            assert ds.metainfo['classes'][info['gt_label']] == Path(
                info['img_path']).parent.name


def test_digits_split_depends_on_seed_only(tmp_path, digits):
    root, _ = digits

    def val_files(r):
        return sorted(p.relative_to(r).as_posix()
                      for p in (r / 'val').glob('*/*.png'))

    td.make_digits(tmp_path / 'same')
    td.make_digits(tmp_path / 'other', seed=1)
    assert val_files(tmp_path / 'same') == val_files(root)
    assert _tree(tmp_path / 'same') == _tree(root)
    assert val_files(tmp_path / 'other') != val_files(root)


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'make_datasets', REPO / 'tools' / 'make_datasets.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main(['voc', '--out', str(tmp_path), '--num-train', '2',
              '--num-val', '1', '--size', '64', '--seed', '3'])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and str(tmp_path / 'voc_tiny') in out[0]
    assert 'VOC2007_trainval_images=2' in out[0]
    sub = tmp_path / 'voc_tiny' / 'VOCdevkit' / 'VOC2007'
    assert len(list((sub / 'JPEGImages').glob('*.jpg'))) == 3
    assert Image.open(next((sub / 'JPEGImages').glob('*.jpg'))).size == (64,
                                                                          64)
    with pytest.raises(SystemExit):
        cli.main(['imagenet', '--out', str(tmp_path)])


def test_shape_crops_classes_and_loader(tmp_path):
    """The pretraining set: an image folder per class, background included,
    crops of the requested size that mmpretrain's CustomDataset reads."""
    root = tmp_path / 'crops'
    assert td.make_shape_crops(root, num_train=40, num_val=12, size=48) == {
        'train_images': 40, 'val_images': 12}
    per_class = {c: len(list((root / 'train' / c).glob('*.png')))
                 for c in td.CROP_CLASSES}
    assert sum(per_class.values()) == 40 and min(per_class.values()) > 0
    img = Image.open(next((root / 'val' / 'circle').glob('*.png')))
    assert img.size == (48, 48) and img.mode == 'RGB'
    from mmpretrain.datasets import CustomDataset
    ds = CustomDataset(data_root=str(root), data_prefix='train')
    assert len(ds) == 40 and ds.CLASSES == tuple(sorted(td.CROP_CLASSES))


def _pixels_by_split(root: Path, layout: dict) -> dict:
    """``{split: {hash of decoded pixels}}`` of the images of each split
    (``layout``: split -> glob under ``root``)."""
    import hashlib
    return {split: {hashlib.sha1(np.asarray(Image.open(p)).tobytes())
                    .hexdigest() for p in sorted(root.glob(pattern))}
            for split, pattern in layout.items()}


@pytest.mark.classic
def test_made_splits_are_disjoint(tmp_path):
    """No image (by its pixels) is in two splits of a made set: the held-out
    test split never saw training or selection."""
    td.make_coco_det(tmp_path / 'coco', num_train=24, num_val=12, size=64)
    td.make_voc_seg(tmp_path / 'seg', num_train=24, num_val=12, size=64)
    td.make_digits(tmp_path / 'digits')
    td.make_shape_crops(tmp_path / 'crops', num_train=60, num_val=20,
                        size=32, scene_size=64)
    voc = tmp_path / 'seg' / 'VOCdevkit' / 'VOC2012'
    ids = {s: (voc / 'ImageSets' / 'Segmentation' / f'{s}.txt')
           .read_text().split() for s in ('train', 'val', 'test')}
    sets = {
        'coco': _pixels_by_split(tmp_path / 'coco', {
            s: f'{s}2017/*.jpg' for s in ('train', 'val', 'test')}),
        'voc-seg': {s: set().union(*(
            _pixels_by_split(voc, {s: f'JPEGImages/{i}.jpg'})[s] for i in v))
            for s, v in ids.items()},
        'digits': _pixels_by_split(tmp_path / 'digits', {
            s: f'{s}/*/*.png' for s in ('train', 'val', 'test')}),
        'crops': _pixels_by_split(tmp_path / 'crops', {
            s: f'{s}/*/*.png' for s in ('train', 'val')}),
    }
    for name, splits in sets.items():
        assert all(splits.values()), (name, {k: len(v)
                                             for k, v in splits.items()})
        names = list(splits)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not splits[a] & splits[b], (name, a, b)

