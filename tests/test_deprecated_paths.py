"""The import paths of 0.4 that moved still work for one version, and warn."""
import importlib
import subprocess
import sys

import pytest

from mmnc import config
from mmnc.datasets import synthetic


@pytest.mark.classic
@pytest.mark.parametrize('old, new, names', [
    ('mmnc.testing.tiny_data', synthetic, ('make_coco_det', 'SPLIT_KEYS')),
    ('mmnc.configs', config, ('config_dir', 'config_path')),
    ('mmnc.utils.config', config, ('check_datasets', 'load_config')),
])
def test_old_module_warns_and_gives_the_same_objects(monkeypatch, old, new,
                                                     names):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=new.__name__):
        module = importlib.import_module(old)
    for name in names:
        assert getattr(module, name) is getattr(new, name)


@pytest.mark.classic
def test_old_names_in_mmnc_utils_warn():
    import mmnc.utils
    with pytest.warns(DeprecationWarning, match='mmnc.config'):
        assert mmnc.utils.check_plugin_config is config.check_plugin_config
    with pytest.raises(AttributeError):
        mmnc.utils.no_such_name  # noqa: B018


@pytest.mark.classic
def test_python_m_mmnc_configs_still_prints_the_folder_and_warns():
    """``export MMNC_CONFIGS=$(python -m mmnc.configs)`` keeps working: the
    folder on stdout, the warning on stderr (shown by default)."""
    proc = subprocess.run([sys.executable, '-m', 'mmnc.configs'],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == str(config.config_dir())
    assert 'python -m mmnc.config' in proc.stderr
