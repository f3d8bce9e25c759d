"""mmnc installed the OpenMMLab way, used from outside the repository.

Builds the wheel, installs it into a fresh virtual environment that sees
this environment's stack (torch, mmcv, the toolboxes, mim) through a
``.pth`` line (no mmcv rebuild, no copy of torch; the editable mmnc of this
environment is not seen: its finder is a ``.pth`` of the stack's
site-packages, which a path line does not run), and from a temporary folder:
a user's config inherits every full-size config from the installed package
(``_base_`` with ``{{$MMNC_CONFIGS:}}``, the toolbox bases resolved), then
``mim run``, ``mim train``, ``mim test`` and ``mim search`` as a user runs
them.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.install, pytest.mark.classic]  # both environments

ROOT = Path(__file__).parents[1]
SOURCES = ('setup.py', 'pyproject.toml', 'MANIFEST.in', 'README.md',
           'model-index.yml', 'mmnc', 'configs', 'tools', 'requirements')
DIGITS = 'resnet20-nc_1xb32-5e_digits'


def run(*cmd, cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, text=True,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    assert proc.returncode == 0, f'{cmd}\n{proc.stdout[-4000:]}'
    return proc.stdout


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed, and its environment."""
    tmp = tmp_path_factory.mktemp('install')
    src = tmp / 'src'
    src.mkdir()
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    run(sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w', tmp / 'dist', src, cwd=tmp)
    wheel, = (tmp / 'dist').glob('mmnc-*.whl')

    venv = tmp / 'venv'
    base = getattr(sys, '_base_executable', sys.executable)
    run(base, '-m', 'venv', '--without-pip', venv, cwd=tmp)
    python = venv / 'bin' / 'python'
    site = run(python, '-c', 'import sysconfig; '
               'print(sysconfig.get_paths()["purelib"])', cwd=tmp).strip()
    stack = sysconfig.get_paths()['purelib']
    (Path(site) / 'mmnc_test_stack.pth').write_text(stack + '\n')
    run(python, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
        wheel, cwd=tmp)
    env = dict(os.environ, PYTHONPATH='', OMP_NUM_THREADS='1')
    env['MMNC_CONFIGS'] = run(python, '-m', 'mmnc.config', cwd=tmp,
                              env=env).strip().splitlines()[-1]
    user = tmp / 'user'
    user.mkdir()
    return dict(wheel=wheel, python=python, site=Path(site), env=env,
                user=user)


def test_the_wheel_carries_configs_tools_and_the_model_index(installed):
    names = zipfile.ZipFile(installed['wheel']).namelist()
    for name in ('mmnc/.mim/model-index.yml', 'mmnc/.mim/tools/train.py',
                 'mmnc/.mim/tools/test.py', 'mmnc/.mim/tools/make_datasets.py',
                 'mmnc/.mim/configs/faster_rcnn/metafile.yml',
                 f'mmnc/.mim/configs/resnet_cifar/{DIGITS}.py'):
        assert name in names
    assert not [n for n in names if '__pycache__' in n]
    # python -m mmnc.config ran the installed mmnc, not this environment's
    assert installed['env']['MMNC_CONFIGS'] == \
        str(installed['site'] / 'mmnc' / '.mim' / 'configs')


def indexed_configs() -> list:
    """The +NC config of each metafile of the model index (the full-size
    families and the mini protocol), as paths relative to configs/ (each
    parse resolves the toolbox bases again: about 2 s)."""
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    models = [yaml.safe_load((ROOT / meta).read_text())['Models']
              for meta in index['Import']]
    return [next(m['Config'] for m in family if '-nc' in m['Name']).split(
        '/', 1)[1] for family in models]


def test_a_users_config_inherits_the_installed_configs(installed):
    user = installed['user'] / 'inherit'
    user.mkdir()
    names = indexed_configs()
    for i, name in enumerate(names):
        (user / f'mine{i}.py').write_text(
            f"_base_ = '{{{{$MMNC_CONFIGS:}}}}/{name}'\n"
            "work_dir = 'work_dirs/mine'\n")
    # each as mmengine parses it, against the same config loaded directly
    script = (
        'import sys\n'
        'from mmengine.config import Config\n'
        'from mmnc.config import config_path\n'
        'for i, name in enumerate(sys.argv[1:]):\n'
        "    mine = Config.fromfile(f'mine{i}.py')\n"
        '    theirs = Config.fromfile(config_path(name))\n'
        '    a, b = mine.to_dict(), theirs.to_dict()\n'
        "    assert a.pop('work_dir') == 'work_dirs/mine', name\n"
        "    b.pop('work_dir', None)\n"
        '    assert a == b, name\n'
        "    assert a['custom_imports']['imports'] == ['mmnc'], name\n"
        "print('inherited', len(sys.argv) - 1)\n")
    out = run(installed['python'], '-c', script, *names, cwd=user,
              env=installed['env'])
    assert f'inherited {len(names)}' in out


def test_mim_run_train_test_and_search(installed):
    python, env, user = installed['python'], installed['env'], \
        installed['user']
    mim = (python, '-m', 'mim')
    run(*mim, 'run', 'mmnc', 'make_datasets', 'digits', '--out', 'data',
        cwd=user, env=env)
    (user / 'my_digits.py').write_text(
        f"_base_ = '{{{{$MMNC_CONFIGS:}}}}/resnet_cifar/{DIGITS}.py'\n"
        'test_dataloader = dict(dataset=dict(indices=64))\n')
    # a config of the package, found by name (mim searches .mim/configs)
    out = run(*mim, 'train', 'mmnc', f'{DIGITS}.py', '--work-dir', 'w',
              '--cfg-options', 'train_dataloader.dataset.indices=64',
              'val_dataloader.dataset.indices=64', 'train_cfg.max_epochs=1',
              cwd=user, env=env)
    assert str(installed['site'] / 'mmnc' / '.mim' / 'tools') in out
    assert f'.mim/configs/resnet_cifar/{DIGITS}.py' in out
    assert (user / 'w' / 'epoch_1.pth').is_file()
    # a config of the user's that inherits it
    out = run(*mim, 'test', 'mmnc', 'my_digits.py', '--checkpoint',
              'w/epoch_1.pth', '--work-dir', 'w_test', cwd=user, env=env)
    assert 'accuracy/top1' in out
    out = run(*mim, 'search', 'mmnc', cwd=user, env=env)
    for name in ('faster-rcnn_r101-caffe-c4-nc_1x_coco',
                 'deeplabv2_r101-d8-nc_4xb4-20k_voc12aug-321x321',
                 'resnet20-nc_1xb128_cifar100'):
        assert name in out
