"""Every snippet of the README and the docs works, and the zoo is generated.

Python blocks run; config blocks (those with ``_base_``) are loaded by
mmengine and their model built; shell blocks have every script, config and
make target they name exist, and every ``--flag`` they pass to a tool is
one its ``--help`` lists. The families' README tables are what
``docs/zoo_pages.py`` makes from their metafiles. (``make docs`` builds the
site with warnings as errors and looks at it in a browser.)
"""
import functools
import glob
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmnc.config import config_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'docs'))
import zoo_pages  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')
PAGES = [ROOT / 'README.md', *sorted(
    p for p in (ROOT / 'docs').rglob('*.md')
    if '_build' not in p.parts and 'model_zoo' not in p.parts)]
FENCE = re.compile(r'^```(\w+)[^\n]*\n(.*?)^```$', re.M | re.S)


def blocks(lang: tuple) -> list:
    return [pytest.param(code, id=f'{page.relative_to(ROOT)}:{n}')
            for page in PAGES
            for n, (kind, code) in enumerate(FENCE.findall(page.read_text()))
            if kind in lang]


@pytest.mark.parametrize('code', blocks(('python', )))
def test_python_snippet(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if '_base_' not in code:
        exec(compile(code, 'snippet', 'exec'), {'__name__': '__snippet__'})
        return
    monkeypatch.setenv('MMNC_CONFIGS', str(config_dir()))
    (tmp_path / 'snippet.py').write_text(code)
    cfg = Config.fromfile(str(tmp_path / 'snippet.py'))
    if 'model' not in cfg:  # a runtime setting, e.g. default_hooks
        return
    import mmnc  # noqa: F401  (the config's custom_imports, in effect)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


def commands(code: str) -> list:
    """The commands of a shell block (continuation lines joined, comments
    and optional-argument brackets dropped), each a list of words."""
    out = []
    for line in re.sub(r'\\\n', ' ', code).splitlines():
        lexer = shlex.shlex(line.replace('[', ' ').replace(']', ' '),
                            posix=True, punctuation_chars=True)
        lexer.commenters = '#'
        lexer.wordchars += '${}'
        words = []
        for token in [*lexer, ';']:
            if token in (';', '&&', '||', '|', '&', '(', ')', '$('):
                if words and words[0] not in ('for', 'do', 'done'):
                    out.append(words)
                words = []
            else:
                words.append(token.lstrip('$'))
    return out


@functools.cache
def tool_help(script: str) -> str:
    run = subprocess.run([sys.executable, script, '--help'], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f'{script} --help failed: {run.stderr}'
    return run.stdout


def make_targets() -> set:
    return set(re.findall(r'^([\w-]+):', (ROOT / 'Makefile').read_text(),
                          re.M))


@pytest.mark.parametrize('code', blocks(('bash', 'sh')))
def test_shell_snippet(code):
    for words in commands(code):
        paths = [w for w in words if w.startswith(('configs/', 'tools/'))]
        for w in paths:
            w = re.sub(r'\$?\{[^}]*\}', '*', w)
            assert glob.glob(str(ROOT / w)), f'{w} does not exist'
        if words[0] == 'make' and len(words) > 1:
            assert words[1] in make_targets(), f'no make target {words[1]}'
        scripts = [w for w in words if w.startswith('tools/')
                   and w.endswith('.py')]
        if scripts and words[0].endswith('python'):
            options = tool_help(scripts[0])
            for flag in (w.split('=')[0] for w in words
                         if w.startswith('--')):
                assert re.search(rf'{re.escape(flag)}\b', options), (
                    f'{scripts[0]} has no {flag}')


@pytest.mark.parametrize('meta', zoo_pages.metafiles(),
                         ids=lambda p: p.parent.name)
def test_family_readme_tables_are_generated(meta):
    readme = meta.parent / 'README.md'
    assert readme.read_text() == zoo_pages.family_readme(meta), (
        f'{readme} is not what its metafile gives: run python '
        f'docs/zoo_pages.py --write')


def test_zoo_pages_refuse_a_broken_link(tmp_path):
    assert zoo_pages.repoint('[a](README.md)', ROOT, tmp_path) == \
        f'[a]({os.path.relpath(ROOT / "README.md", tmp_path)})'
    with pytest.raises(ValueError, match="broken relative link 'nope.md'"):
        zoo_pages.repoint('see [b](nope.md)', ROOT, tmp_path)
