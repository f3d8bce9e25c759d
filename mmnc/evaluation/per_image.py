"""Per-image test results, enough to recompute the metric on any subset.

:class:`PerImageResults` is an mmengine metric that ``tools/test.py`` adds
to the test evaluator (as ``--out`` adds ``DumpResults``): it reports no
metric, so the toolbox's numbers are unchanged, and writes one ``.npz``
(no pickled objects: read it with ``np.load(path, allow_pickle=False)``):

* ``task``: ``'cls'``, ``'seg'`` or ``'det'``; ``ids``: one per test image
  (``sample_idx``, the image file name, the COCO image id), sorted.
* cls (mmpretrain): ``topk`` [K] and ``correct`` [N, K] bool: the label is
  in the top-k scores, as mmpretrain's ``Accuracy`` ranks them.
* seg (mmseg): ``areas`` [N, 4, C] int64: intersection, union, predicted
  and label area per class, as mmseg's ``IoUMetric`` counts them.
* det (mmdet, COCO): pycocotools' per-image evaluation (area 'all', 100
  detections): ``iou_thrs`` [T]; per detection ``det_image``, ``det_cat``
  (indexes into ``ids`` and the classes), ``det_score``, and ``det_match``
  / ``det_ignore`` [D, T] bool; ``gt_count`` [N, C]: ground truths not
  ignored. :mod:`mmnc.analysis.paired_stats` turns these into the metrics.
"""
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.registry import METRICS


def seg_areas(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
              ignore_index: int) -> np.ndarray:
    """[4, C] intersection, union, pred and label areas of one image, as
    mmseg's ``IoUMetric.intersect_and_union``."""
    mask = label != ignore_index
    pred, label = pred[mask], label[mask]
    inter = pred[pred == label]
    areas = [torch.histc(x.float(), bins=num_classes, min=0,
                         max=num_classes - 1) for x in (inter, pred, label)]
    union = areas[1] + areas[2] - areas[0]
    return torch.stack([areas[0], union, areas[1], areas[2]]).cpu().numpy(
    ).astype(np.int64)


def coco_matches(dets: List[dict], ann_file: str,
                 classes: Sequence[str]) -> Dict[str, np.ndarray]:
    """pycocotools' per-image evaluation of ``dets`` (``img_id``,
    ``bboxes`` xyxy, ``scores``, ``labels``) on the images of
    ``ann_file``, as arrays (see the module docstring)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(ann_file)
    cat_ids = gt.getCatIds(catNms=list(classes))
    results = [dict(image_id=d['img_id'], category_id=cat_ids[label],
                    bbox=[x0, y0, x1 - x0, y1 - y0], score=score)
               for d in dets for (x0, y0, x1, y1), score, label in zip(
                   d['bboxes'].tolist(), d['scores'].tolist(),
                   d['labels'].tolist())]
    ev = COCOeval(gt, gt.loadRes(results) if results else COCO(), 'bbox')
    ev.params.catIds, ev.params.imgIds = cat_ids, sorted(gt.getImgIds())
    if results:
        ev.evaluate()
    ids, t = ev.params.imgIds, len(ev.params.iouThrs)
    out: Dict[str, list] = {k: [] for k in ('det_image', 'det_cat',
                                            'det_score', 'det_match',
                                            'det_ignore')}
    gt_count = np.zeros((len(ids), len(cat_ids)), np.int64)
    for k, cat in enumerate(cat_ids):
        for i, img in enumerate(ids):
            # evalImgs: [class][area range (0: all)][image], flattened
            e = ev.evalImgs[k * len(ev.params.areaRng) * len(ids) + i] \
                if results else None
            if e is None:  # no detection at all: count the ground truths
                if not results:  # (pycocotools ignores crowds only)
                    gt_count[i, k] = sum(not a.get('iscrowd', 0) for a in
                                         gt.loadAnns(gt.getAnnIds(
                                             imgIds=img, catIds=cat)))
                continue
            gt_count[i, k] = int((~e['gtIgnore'].astype(bool)).sum())
            d = len(e['dtScores'])
            out['det_image'] += [i] * d
            out['det_cat'] += [k] * d
            out['det_score'] += list(e['dtScores'])
            out['det_match'] += list(e['dtMatches'].T != 0)
            out['det_ignore'] += list(e['dtIgnore'].T.astype(bool))
    arrays = dict(
        det_image=np.array(out['det_image'], np.int64),
        det_cat=np.array(out['det_cat'], np.int64),
        det_score=np.array(out['det_score'], np.float64),
        det_match=np.array(out['det_match'], bool).reshape(-1, t),
        det_ignore=np.array(out['det_ignore'], bool).reshape(-1, t))
    return dict(arrays, ids=np.array(ids, np.int64), gt_count=gt_count,
                iou_thrs=np.asarray(ev.params.iouThrs))


@METRICS.register_module()
class PerImageResults(BaseMetric):
    """Write per-image results of a test to an ``.npz``; no metric.

    Args:
        out_file (str): The ``.npz`` to write.
        ann_file (str, optional): COCO annotations of a detection test (the
            ``ann_file`` of mmdet's ``CocoMetric``); without it detection
            results are not written. Default: None.
        topk (Sequence[int]): The k of classification. Default: (1, 5).
        ignore_index (int): The ignored label of segmentation. Default: 255.
    """

    default_prefix = 'per_image'

    def __init__(self, out_file: str, ann_file: str | None = None,
                 topk: Sequence[int] = (1, 5), ignore_index: int = 255,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not str(out_file).endswith('.npz'):
            raise ValueError(f'out_file must end with .npz, got {out_file}')
        self.out_file, self.ann_file = str(out_file), ann_file
        self.topk, self.ignore_index = tuple(topk), ignore_index

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep what each image needs (see the module docstring)."""
        for s in data_samples:
            if 'pred_sem_seg' in s:
                pred = s['pred_sem_seg']['data'].squeeze()
                label = s['gt_sem_seg']['data'].squeeze().to(pred)
                self.results.append(dict(task='seg', id=Path(
                    s['img_path']).name, areas=seg_areas(
                        pred, label, len(self.dataset_meta['classes']),
                        self.ignore_index)))
            elif 'pred_instances' in s:
                p = s['pred_instances']
                self.results.append(dict(
                    task='det', id=s['img_id'], img_id=s['img_id'],
                    bboxes=p['bboxes'].cpu().numpy(),
                    scores=p['scores'].cpu().numpy(),
                    labels=p['labels'].cpu().numpy()))
            else:
                score = s['pred_score']
                top = score.topk(min(max(self.topk), len(score)))[1]
                gt = s['gt_label'].view(-1)[:1].to(top)
                self.results.append(dict(task='cls', id=s['sample_idx'],
                                         correct=[bool((top[:k] == gt).any())
                                                  for k in self.topk]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the ``.npz``; report nothing."""
        if not results:
            return {}
        task = results[0]['task']
        results = sorted(results, key=lambda r: r['id'])
        ids = np.array([r['id'] for r in results])
        if task == 'cls':
            arrays = dict(topk=np.array(self.topk), correct=np.array(
                [r['correct'] for r in results], bool))
        elif task == 'seg':
            arrays = dict(areas=np.stack([r['areas'] for r in results]))
        elif self.ann_file is None:
            print_log('per-image results: a detection test without a COCO '
                      'ann_file; none written', 'current')
            return {}
        else:
            arrays = coco_matches(results, self.ann_file,
                                  self.dataset_meta['classes'])
            ids = arrays.pop('ids')
        Path(self.out_file).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(self.out_file, task=np.array(task), ids=ids,
                            **arrays)
        print_log(f'per-image results: {self.out_file}', 'current')
        return {}
