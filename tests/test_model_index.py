"""The model index (what ``mim search mmnc`` lists) and ``mmnc.config``."""
from pathlib import Path

import pytest
import yaml

from mmnc.config import config_dir, config_names, config_path

pytestmark = pytest.mark.classic

ROOT = Path(__file__).parents[1]


def indexed() -> list:
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    return [model for meta in index['Import']
            for model in yaml.safe_load((ROOT / meta).read_text())['Models']]


def test_every_config_but_the_tiny_test_ones_is_indexed():
    """Full-size configs with the paper's targets where it has them; the
    mini protocol's (configs/mini, the digits) with what make demo
    measured. The tiny configs run the full-size ones on a few images in
    tests: not models."""
    models = indexed()
    names = [m['Name'] for m in models]
    assert len(names) == len(set(names))
    listed = {m['Config'] for m in models}
    assert all((ROOT / c).is_file() for c in listed)
    assert all(Path(m['Config']).stem == m['Name'] for m in models)
    configs = {f'configs/{c}' for c in config_names()}
    assert listed == {c for c in configs if 'tiny' not in c}
    paper = [m for m in models
             if not m['In Collection'].startswith('Mini protocol')]
    assert len(paper) == 40  # 36 + the four CIFAR +Convs controls
    for m in models:
        metrics = [k for r in m.get('Results', []) for k in r['Metrics']]
        assert [k for k in metrics if k.endswith('(paper)') != (m in paper)
                ] == []


def test_config_path_finds_a_config_by_name():
    name = 'resnet_cifar/resnet20-nc_1xb128_cifar100.py'
    assert config_path(name) == config_dir() / name
    assert config_path('resnet20-nc_1xb128_cifar100') == config_dir() / name
    with pytest.raises(FileNotFoundError, match='did you mean resnet20-nc'):
        config_path('resnet20-nc_1xb128_cifar10')
