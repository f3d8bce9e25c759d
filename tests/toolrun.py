"""Run the project's tools as a user does, and read what mmengine wrote."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def run_tool(*args: str, ok: bool = True, env: dict | None = None,
             cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` from the repo root; assert its exit status."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd,
                          text=True, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if ok:
        assert proc.returncode == 0, proc.stdout[-4000:]
    else:
        assert proc.returncode != 0, proc.stdout[-4000:]
    return proc


def data_root_options(root) -> list:
    """--cfg-options that point every dataloader at ``root``."""
    return [f'{loader}_dataloader.dataset.data_root={root}'
            for loader in ('train', 'val', 'test')]


def coco_options(root) -> list:
    """As :func:`data_root_options` for a COCO-format set, with both
    evaluators on its val annotations."""
    ann = f'{root}/annotations/instances_val2017.json'
    return data_root_options(f'{root}/') + [
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']


def last_log_dir(work_dir: Path) -> Path:
    """The newest <timestamp> folder mmengine made in a work dir."""
    return sorted(d for d in Path(work_dir).iterdir() if d.is_dir()
                  and d.name[:8].isdigit())[-1]


def read_test_metrics(work_dir: Path) -> dict:
    """The metrics tools/test.py wrote (<work_dir>/<ts>/<ts>.json)."""
    log_dir = last_log_dir(work_dir)
    return json.loads((log_dir / f'{log_dir.name}.json').read_text())


def train_scalars(work_dir: Path) -> list:
    """One dict per logged line of the newest run's vis_data/scalars.json."""
    path = last_log_dir(work_dir) / 'vis_data' / 'scalars.json'
    return [json.loads(line) for line in path.read_text().splitlines()]
