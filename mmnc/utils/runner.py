"""How ``tools/train.py`` and ``tools/test.py`` build their runner."""
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmnc.engine import SafeRunner


def build_runner(cfg) -> Runner:
    """:class:`~mmnc.engine.SafeRunner` for a config without
    ``runner_type``; a config that names one gets that runner (the user's
    choice), with a warning when it resumes through a runner that is not a
    ``SafeRunner`` (upstream's ``resume`` executes the checkpoint's
    ``meta['config']``)."""
    if 'runner_type' not in cfg:
        return SafeRunner.from_cfg(cfg)
    runner = RUNNERS.build(cfg)
    if cfg.get('resume') and not isinstance(runner, SafeRunner):
        print_log(f'runner_type={cfg.runner_type!r} is not an mmnc '
                  f'SafeRunner: its resume executes any Python kept in the '
                  f'checkpoint\'s meta["config"]; resume only checkpoints you '
                  f'trust (docs/advanced_guides/trust.md)', 'current',
                  level=30)
    return runner
