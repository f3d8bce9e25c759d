"""Where mmnc's configs are, for a config of yours that inherits one.

Installed with pip or mim, mmnc's configs are in ``mmnc/.mim/configs`` (as
mmdet's are in ``mmdet/.mim/configs``); in a clone, in ``configs/``.
mmengine 0.10.7 resolves ``_base_ = 'mmdet::...'`` only for the packages it
lists (``mmengine.config.utils.MODULE2PACKAGE``), so ``'mmnc::...'`` cannot
work; a ``_base_`` that is an absolute path does, and mmengine substitutes
environment variables in it::

    # export MMNC_CONFIGS=$(python -m mmnc.config)
    _base_ = '{{$MMNC_CONFIGS:}}/resnet_cifar/resnet20-nc_1xb128_cifar100.py'

``python -m mmnc.config`` prints the folder, ``python -m mmnc.config NAME
...`` the path of each named config (``resnet20-nc_1xb128_cifar100``, with or
without ``.py`` or its family folder).
"""
import argparse
import difflib
from pathlib import Path
from typing import List


def config_dir() -> Path:
    """The folder of mmnc's configs: the installed package's ``.mim/configs``
    or, in a clone, the repository's ``configs``."""
    here = Path(__file__).resolve().parents[1]  # mmnc/
    for folder in (here / '.mim' / 'configs', here.parent / 'configs'):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f'mmnc at {here} has no configs: install it with pip or mim (the '
        'wheel carries them in mmnc/.mim/configs) or use a clone')


def config_names() -> List[str]:
    """Every config's path relative to :func:`config_dir`, '_base_' ones
    excluded."""
    root = config_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob('*.py')
                  if '_base_' not in p.parts)


def config_path(name: str) -> Path:
    """The absolute path of one of mmnc's configs.

    Args:
        name (str): ``'resnet_cifar/resnet20_1xb128_cifar100.py'``,
            ``'resnet20_1xb128_cifar100.py'`` or
            ``'resnet20_1xb128_cifar100'``.

    Raises:
        FileNotFoundError: No such config; the message names the closest.
    """
    name = name if name.endswith('.py') else f'{name}.py'
    names = config_names()
    found = [n for n in names if n == name or Path(n).name == name]
    if len(found) == 1:
        return config_dir() / found[0]
    close = difflib.get_close_matches(
        Path(name).name, [Path(n).name for n in names], n=3)
    raise FileNotFoundError(
        f'mmnc has no config {name!r} in {config_dir()}'
        + (f'; did you mean {", ".join(close)}?' if close else ''))


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m mmnc.config', description=__doc__.split('\n')[0])
    parser.add_argument('names', nargs='*', help='configs to print the path '
                        'of (default: print the configs folder)')
    parser.add_argument('--list', action='store_true',
                        help='list the configs')
    args = parser.parse_args(argv)
    if args.list:
        print('\n'.join(config_names()))
    for name in args.names:
        print(config_path(name))
    if not (args.list or args.names):
        print(config_dir())

