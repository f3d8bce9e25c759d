"""``runner.test()`` as ``tools/test.py`` runs it, also after training
(``tools/train.py --test-last``): the metrics, ``per_image.npz`` and one
metrics JSON however many ranks wrote it."""
import json
import os.path as osp

from mmengine.dist import barrier, get_rank, is_distributed
from mmengine.runner import Runner

from mmnc.engine import atomic_open
from mmnc.evaluation import PerImageResults


def per_image_metric(cfg, runner: Runner) -> PerImageResults:
    """The metric writing ``per_image.npz`` into the run's log dir, with the
    COCO annotations of the config's test evaluator, if any."""
    evaluators = cfg.test_evaluator
    evaluators = evaluators if isinstance(evaluators, list) else [evaluators]
    ann_file = next((e['ann_file'] for e in evaluators
                     if e.get('type', '').endswith('CocoMetric')
                     and e.get('ann_file')), None)
    metric = PerImageResults(osp.join(runner.log_dir, 'per_image.npz'),
                             ann_file=ann_file)
    metric.dataset_meta = runner.test_evaluator.dataset_meta  # set before
    return metric


def settle_metrics_json(runner: Runner) -> None:
    """Leave one JSON object in ``<timestamp>.json`` when distributed.

    mmengine 0.10's LoggerHook writes that file from every rank; their
    timings differ, so a shorter write can leave a longer one's tail behind
    (``json.loads``: "Extra data"). Once every rank is done, rank 0 keeps
    the first object (each write is whole; the metrics are the same on all
    ranks) and replaces the file atomically.
    """
    if not is_distributed():
        return
    barrier()
    path = osp.join(runner.log_dir, f'{runner.timestamp}.json')
    if get_rank() == 0 and osp.isfile(path):
        with open(path) as f:
            first, _ = json.JSONDecoder().raw_decode(f.read())
        with atomic_open(path) as f:
            json.dump(first, f)
    barrier()


def run_test(runner: Runner, cfg, out: str | None = None,
             per_image: bool = True) -> None:
    """Test the runner's model on the test split: its metrics in
    ``<log_dir>/<timestamp>.json``, with ``per_image`` the per-image results
    beside them, with ``out`` the predictions dumped (``.pkl``)."""
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl or .pickle file')
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=out))
    if per_image:
        runner.test_evaluator.metrics.append(per_image_metric(cfg, runner))
    runner.test()
    settle_metrics_json(runner)
