"""The main job at mini scale (``make demo``): baseline / +SE / +NC, compared.

The paper's protocol on data this machine trains on in minutes, through the
``tools/train.py`` a user runs (``--test-last``: tested as ``tools/test.py``
would, in the same process):

1. the datasets (``tools/make_datasets.py all``), skipped when they were made
   by the same code;
2. pretraining of the plain mini backbone on the shape crops (the stand-in
   for ImageNet), reused while its config and data are unchanged;
3. the runs, longest first, ``--jobs`` at a time: detection (Faster R-CNN
   C4: stages 1-3 frozen, NC / SE in stage 4, the RoI head, from the
   pretrained backbone), segmentation (DeepLab-v2 the same way) and
   classification (ResNet-20 on the UCI digits);
4. the insertion checks;
5. the comparison (``tools/analysis/compare.py``: tables, CSV, chart, and
   95% intervals with verdicts from the ``per_image.npz`` each run's test
   writes);
6. the channel analysis (``tools/analysis/channel_analysis.py``: what the
   trained NC / SE blocks do to channel redundancy, how much NC
   communicates; on the first ``--channel-images`` (16) test images of each
   run).

Runs go two at a time, one thread each (``--jobs``, ``--threads``). The
insertion checks (detection, segmentation): the +NC config on the first
trained baseline's checkpoint must give its raw outputs bit for bit (NC
starts as the identity); the demo fails if not.

    python tools/demo.py                  # make demo
    python tools/demo.py --quick          # CI size: 1 seed, short runs
    python tools/demo.py --no-convs       # without the +Convs control (digits)
    python tools/demo.py --prepare        # steps 1-2 only (make test runs it)
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Sequence

ROOT = Path(__file__).resolve().parents[1]
PRETRAIN = 'configs/mini/resnet50-w16_1xb64-12e_shape-crops.py'
TASKS = {  # name: (config with {} for '', '-se', '-nc', pretrained keys)
    'cls': ('configs/resnet_cifar/resnet20{}_1xb32-5e_digits.py', ()),
    'det': ('configs/mini/faster-rcnn_r50-w16-c4{}_1xb4-4e_coco-shapes.py',
            ('model.backbone.init_cfg.checkpoint',
             'model.roi_head.shared_head.init_cfg.checkpoint')),
    'seg': ('configs/mini/deeplabv2_r50-w16-d8{}_1xb8-400i_voc-shapes-'
            '128x128.py', ('model.backbone.init_cfg.checkpoint', )),
}
# Shorter runs for CI (--quick); no validation while training (the test
# follows, --test-last) in both sizes.
QUICK = {
    'cls': ['train_cfg.max_epochs=2'],
    'det': ['train_cfg.max_epochs=3', 'param_scheduler.1.milestones=[3]',
            'default_hooks.checkpoint.interval=3'],
    'seg': ['train_cfg.max_iters=300', 'param_scheduler.0.end=300',
            'default_hooks.checkpoint.interval=300'],
}
NO_VAL = {task: ['train_cfg.val_begin=1000000'] for task in TASKS}
# seconds a run is expected to take, for the first ETA (then: measured)
EXPECTED = {'pretrain': 170, 'cls': 30, 'det': 250, 'seg': 175, 'check': 15,
            'channels': 60}
VARIANTS = {'': 'baseline', '-se': '+SE', '-nc': '+NC'}
CONVS = {'-convs': '+Convs'}  # classification's +Convs control (not --quick)


def run_options(task: str, pretrained: Path, quick: bool) -> List[str]:
    """The --cfg-options of a task's runs: the pretrained backbone, no
    validation while training, and the shorter schedule when quick."""
    keys = TASKS[task][1]
    return [f'{k}={pretrained}' for k in keys] + NO_VAL[task] + (
        QUICK[task] if quick else [])


def numbers(metrics: dict) -> dict:
    """The metrics of a tools/test.py result, without its timings."""
    return {k: v for k, v in metrics.items()
            if isinstance(v, float) and k not in ('time', 'data_time')}


# What the pretraining's result depends on beyond its config and data: the
# stack, and the code of the model it trains (mmdet's ResNet in mmpretrain's
# classifier), by distribution and file.
STACK = ('torch', 'numpy', 'mmengine', 'mmcv', 'mmdet', 'mmpretrain')
PRETRAIN_CODE = {
    'mmdet': ('mmdet/models/backbones/resnet.py',
              'mmdet/models/layers/res_layer.py'),
    'mmpretrain': ('mmpretrain/models/classifiers/image.py',
                   'mmpretrain/models/heads/linear_head.py',
                   'mmpretrain/models/heads/cls_head.py',
                   'mmpretrain/models/necks/gap.py'),
}


def stack_key() -> str:
    """Versions of the stack and the trained model's source, as text."""
    from importlib.metadata import distribution, version
    parts = [f'{d}=={version(d)}' for d in STACK]
    for dist, files in PRETRAIN_CODE.items():
        located = distribution(dist)
        parts += [hashlib.sha1(Path(located.locate_file(f)).read_bytes())
                  .hexdigest() for f in files]
    return ' '.join([sys.version.split()[0], *parts])


def key_of(*paths: str, extra: str = '') -> str:
    """A short hash of files' contents (what made a cached result)."""
    h = hashlib.sha1(extra.encode())
    for p in paths:
        h.update((ROOT / p).read_bytes())
    return h.hexdigest()[:12]


def clock(seconds: float) -> str:
    return f'{int(seconds // 60)}:{int(seconds % 60):02d}'


class Demo:
    """Runs the steps, prints one line per run with progress and ETA."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.out = args, Path(args.out_dir)
        self.quick = args.quick
        self.seeds = dict(cls=args.seeds_cls, det=args.seeds_det,
                          seg=args.seeds_seg)
        self.todo = [('pretrain', 1)] + [
            (task, n * len(self.variants(task)))
            for task, n in self.seeds.items()] + [('check', 2),
                                                  ('channels', 1)]
        self.took: Dict[str, List[float]] = {}
        self.t0 = time.monotonic()
        self.env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep +
                        os.environ.get('PYTHONPATH', ''))
        self.env.setdefault('OMP_NUM_THREADS', str(args.threads))

    def variants(self, task: str) -> Dict[str, str]:
        """Config suffix: variant name, of a task's runs."""
        return {**VARIANTS, **(CONVS if self.args.convs and task == 'cls'
                               else {})}

    def eta(self) -> float:
        left = 0.0
        for task, n in self.todo:
            done = self.took.get(task, [])
            each = (sum(done) / len(done) if done else EXPECTED[task] *
                    (0.5 if self.quick and task in TASKS else 1))
            left += each * max(0, n - len(done)) / (
                self.args.jobs if task in TASKS else 1)
        return left

    def say(self, step: str, text: str) -> None:
        elapsed = time.monotonic() - self.t0
        done = sum(len(v) for v in self.took.values())
        total = sum(n for _, n in self.todo)
        print(f'[demo {step}] {text}  (run {done}/{total}, {clock(elapsed)} '
              f'elapsed, about {clock(self.eta())} left)', flush=True)

    def tool(self, log: Path, *args: str) -> None:
        """Run ``python ARGS`` from the repo root; its output goes to
        ``log``; on failure print the end of it and stop."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, 'w') as f:
            proc = subprocess.run([sys.executable, *map(str, args)],
                                  cwd=ROOT, env=self.env, stdout=f,
                                  stderr=subprocess.STDOUT)
        if proc.returncode:
            tail = log.read_text().splitlines()[-30:]
            sys.exit('\n'.join(tail) + f'\n[demo] FAILED: python '
                     f'{" ".join(map(str, args))} (log: {log})')

    def run(self, task: str, config: str, work: Path,
            options: Sequence[str]) -> dict:
        """tools/train.py, testing the trained model on the test split in
        the same process (``--test-last``: what tools/test.py of the last
        checkpoint writes, without a second start-up)."""
        t = time.monotonic()
        opts = ['--cfg-options', *options] if options else []
        self.tool(work / 'train.log', 'tools/train.py', config,
                  '--work-dir', work, '--test-last', *opts)
        self.took.setdefault(task, []).append(time.monotonic() - t)
        return self.test_metrics(work)

    @staticmethod
    def test_metrics(work: Path) -> dict:
        """The test metrics the last run in ``work`` wrote."""
        logs = sorted(d for d in work.iterdir() if d.is_dir()
                      and (d / f'{d.name}.json').is_file())
        return json.loads((logs[-1] / f'{logs[-1].name}.json').read_text())

    def data(self) -> None:
        key = key_of('mmnc/datasets/synthetic.py', 'tools/make_datasets.py')
        stamp = ROOT / 'data' / f'.made-by-{key}'
        if stamp.is_file():
            self.say('1/6', f'datasets in data/ are up to date ({key})')
            return
        t = time.monotonic()
        self.tool(self.out / 'make_datasets.log', 'tools/make_datasets.py',
                  'all', '--out', 'data')
        for old in (ROOT / 'data').glob('.made-by-*'):
            old.unlink()
        stamp.touch()
        took = clock(time.monotonic() - t)
        self.say('1/6', f'datasets made in data/ ({took})')

    def pretrain(self) -> Path:
        """The pretrained backbone, made once per config, data and stack:
        kept in ``MMNC_CACHE`` (default ~/.cache/mmnc) under the hash of the
        config, the data code, the stack's versions and the trained model's
        code (:func:`stack_key`)."""
        key = key_of(PRETRAIN, 'mmnc/datasets/synthetic.py',
                     extra=stack_key())
        cache = Path(os.environ.get('MMNC_CACHE', Path.home() / '.cache' /
                                    'mmnc')) / 'pretrained' / f'{key}.pth'
        ckpt = self.out / 'pretrained' / 'resnet50-w16_shape-crops.pth'
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        if cache.is_file():
            shutil.copyfile(cache, ckpt)
            self.took['pretrain'] = [0.0]
            self.say('2/6', f'pretraining: reusing {cache} (made by the same '
                     f'config, data, stack and model code)')
            return ckpt
        work = self.out / 'pretrain'
        shutil.rmtree(work, ignore_errors=True)
        self.say('2/6', f'pretraining the mini backbone on the shape crops '
                 f'({PRETRAIN})')
        shared = self.env  # it runs alone: every thread of the --jobs runs
        self.env = dict(shared, OMP_NUM_THREADS=os.environ.get(
            'OMP_NUM_THREADS', str(self.args.jobs * self.args.threads)))
        try:
            top1 = self.run('pretrain', PRETRAIN, work, [])['accuracy/top1']
        finally:
            self.env = shared
        shutil.copyfile((work / 'last_checkpoint').read_text().strip(), ckpt)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix('.tmp')
        shutil.copyfile(ckpt, tmp)
        os.replace(tmp, cache)
        self.say('2/6', f'pretrained: top-1 {top1:.2f} on the crops\' val '
                 f'split -> {ckpt} (kept in {cache})')
        return ckpt

    def runs(self, step: str, pretrained: Path) -> None:
        """Every task's variants and seeds, ``--jobs`` runs at a time, the
        longest first (no core waits at the end of a task)."""
        runs = sorted(((task, seed, suffix) for task in TASKS
                       for seed in range(1, self.seeds[task] + 1)
                       for suffix in self.variants(task)),
                      key=lambda r: -EXPECTED[r[0]] * (1.3 if r[2] == '-nc'
                                                       else 1))

        def one(task: str, seed: int, suffix: str) -> None:
            config = TASKS[task][0].format(suffix)
            work = self.out / task / Path(config).stem / f'seed{seed}'
            shutil.rmtree(work, ignore_errors=True)
            metrics = self.run(task, config, work, [
                f'randomness.seed={seed}',
                *run_options(task, pretrained, self.quick)])
            shown = ', '.join(f'{k} {v:.4g}'
                              for k, v in numbers(metrics).items())
            self.say(step, f'{task} {self.variants(task)[suffix]} seed '
                     f'{seed}: {shown}')

        with ThreadPoolExecutor(self.args.jobs) as pool:
            for done in [pool.submit(one, *r) for r in runs]:
                done.result()

    def insertion(self, step: str, task: str, pretrained: Path) -> None:
        """+NC on the first trained baseline's weights computes what it
        did: raw outputs equal bit for bit
        (tools/analysis/insertion_check.py)."""
        t = time.monotonic()
        pattern, options = TASKS[task][0], run_options(task, pretrained,
                                                       self.quick)
        base = self.out / task / Path(pattern.format('')).stem / 'seed1'
        ckpt = (base / 'last_checkpoint').read_text().strip()
        log = self.out / 'insertion' / f'{task}.log'
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, 'w') as f:
            proc = subprocess.run(
                [sys.executable, 'tools/analysis/insertion_check.py',
                 pattern.format(''), pattern.format('-nc'), ckpt,
                 '--cfg-options', *options], cwd=ROOT, env=self.env,
                stdout=f, stderr=subprocess.STDOUT)
        self.took.setdefault('check', []).append(time.monotonic() - t)
        lines = log.read_text().splitlines()
        verdict = next((ln for ln in reversed(lines)
                        if ln.startswith('insertion check:')), lines[-1:])
        self.say(step, f'{task} {verdict} ({log})')
        if proc.returncode:
            sys.exit(f'[demo] FAILED: insertion check of {task} (see {log})')

    def compare(self) -> None:
        runs = [str(d) for task in TASKS
                for d in sorted((self.out / task).glob('*/seed*'))]
        self.say('5/6', 'comparison (tools/analysis/compare.py)')
        proc = subprocess.run(
            [sys.executable, 'tools/analysis/compare.py', *runs,
             '--out-dir', str(self.out / 'compare'), '--flops'],
            cwd=ROOT, env=dict(self.env, PYTHONWARNINGS='ignore'))
        if proc.returncode:
            sys.exit('[demo] FAILED: tools/analysis/compare.py')

    def channels(self) -> None:
        """tools/analysis/channel_analysis.py on every run (its table is
        printed; CSVs and figures go to ``<out>/channels``), alone, on
        every core."""
        t = time.monotonic()
        self.say('6/6', f'channel analysis (tools/analysis/'
                 f'channel_analysis.py, {self.args.channel_images} test '
                 f'images a run)')
        proc = subprocess.run(
            [sys.executable, 'tools/analysis/channel_analysis.py',
             *[str(self.out / task) for task in TASKS],
             '--out-dir', str(self.out / 'channels'),
             '--max-images', str(self.args.channel_images)],
            cwd=ROOT, env=dict(self.env, PYTHONWARNINGS='ignore',
                               OMP_NUM_THREADS=os.environ.get(
                                   'OMP_NUM_THREADS', str(
                                       self.args.jobs * self.args.threads))))
        self.took['channels'] = [time.monotonic() - t]
        if proc.returncode:
            sys.exit('[demo] FAILED: tools/analysis/channel_analysis.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out-dir', default=os.environ.get(
        'DEMO_DIR', 'work_dirs/demo'), help='where runs and tables go')
    parser.add_argument('--quick', action='store_true',
                        default=os.environ.get('DEMO_QUICK') == '1',
                        help='CI size: 1 seed each, short runs')
    parser.add_argument('--seeds-cls', type=int, default=3)
    parser.add_argument('--seeds-det', type=int, default=2)
    parser.add_argument('--seeds-seg', type=int, default=2)
    parser.add_argument('--no-convs', dest='convs', action='store_false',
                        help='without the +Convs control in classification '
                        '(the seed\'s Table 1 control: about 1 min here; '
                        'never in --quick)')
    parser.add_argument('--channel-images', type=int, default=16,
                        help='test images of each run in the channel '
                        'analysis (default: %(default)s)')
    parser.add_argument('--prepare', action='store_true',
                        help='only make the datasets and the pretrained '
                        'backbone (cached), on every core')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at a time (default 2, one per core here)')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of each run, unless set')
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds_cls = args.seeds_det = args.seeds_seg = 1
        args.convs = False
    return args


def main(argv=None) -> None:
    demo = Demo(parse_args(argv))
    demo.data()
    pretrained = demo.pretrain()
    if demo.args.prepare:
        return
    demo.runs('3/6', pretrained)
    for task in ('det', 'seg'):
        demo.insertion('4/6', task, pretrained)
    demo.compare()
    demo.channels()
    print(f'[demo] done in {clock(time.monotonic() - demo.t0)}. Logs and '
          f'checkpoints: {demo.out}/{{cls,det,seg}}/*; tables and chart: '
          f'{demo.out}/compare/; channel analysis: {demo.out}/channels/',
          flush=True)


if __name__ == '__main__':
    main()
