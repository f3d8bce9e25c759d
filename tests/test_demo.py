"""The README's main command, at reduced size (DEMO_QUICK=1): every step."""
import os
import subprocess
import sys

from toolrun import ROOT


def test_demo_runs_every_step(tmp_path):
    out_dir = tmp_path / 'demo'
    env = dict(os.environ, DEMO_QUICK='1', DEMO_DIR=str(out_dir),
               PYTHON=sys.executable)
    proc = subprocess.run(['bash', 'tools/demo.sh'], cwd=ROOT, env=env,
                          text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    for task in ('resnet20_1xb32-5e_digits',
                 'faster-rcnn_r101-caffe-c4_1xb2-2e_coco-tiny',
                 'deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64'):
        table = out.split(f'### {task} ')[1].split('###')[0]
        rows = [r for r in table.splitlines() if r.startswith('| ')]
        assert [r.split('|')[1].strip() for r in rows[2:]] == [
            'baseline', '+SE', '+NC'], table
        assert '—' not in table, table  # every variant trained and tested
    assert 'missing:' not in out
    png = out_dir / 'compare' / 'compare.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (out_dir / 'compare' / 'compare.csv').stat().st_size > 0
