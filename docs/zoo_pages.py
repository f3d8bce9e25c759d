"""The model zoo, generated from ``model-index.yml`` and the metafiles.

Each config family ``configs/<family>/`` has a ``metafile.yml`` (what ``mim
search mmnc`` lists: #params, FLOPs, the paper's numbers as targets, what
was measured here) and a ``README.md`` (the family's front page: paper,
what is there, commands, citation). The results tables of the READMEs are
generated from the metafiles between ``<!-- results -->`` markers
(``python docs/zoo_pages.py --write`` refreshes them, a test checks they
are current), and at every docs build (``docs/conf.py``) :func:`write_pages`
makes ``docs/model_zoo/<family>.md`` from each README (relative links
re-pointed, a broken one fails the build) and ``docs/model_zoo/index.md``
with the statistics.
"""
import argparse
import os.path as osp
import re
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / 'docs' / 'model_zoo'
START, END = '<!-- results -->', '<!-- /results -->'
LINK = re.compile(r'(\]\()([^)#\s]+)(#[^)\s]*)?(\))')


def metafiles() -> List[Path]:
    """The metafiles ``model-index.yml`` imports, in its order."""
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    return [ROOT / p for p in index['Import']]


def _cell(value) -> str:
    return '—' if value is None else str(value)


def results_table(meta: dict, folder: Path) -> str:
    """Markdown tables of a metafile: one per collection, task and dataset,
    a row per model (config linked relative to ``folder``)."""
    out = []
    for coll in meta['Collections']:
        models = [m for m in meta['Models']
                  if m['In Collection'] == coll['Name']]
        tables: Dict[tuple, List[dict]] = {}
        for m in models:
            for r in m.get('Results') or [{'Task': '', 'Dataset': '',
                                           'Metrics': {}}]:
                tables.setdefault((r['Task'], r['Dataset']), []).append(
                    (m, r['Metrics']))
        for (task, dataset), rows in tables.items():
            metrics = list(dict.fromkeys(k for _, ms in rows for k in ms))
            title = ', '.join(x for x in (coll['Name'], task, dataset) if x)
            head = ['Model', 'Params', 'FLOPs', *metrics, 'Config',
                    'Download']
            lines = [f'**{title}**', '', '| ' + ' | '.join(head) + ' |',
                     '|' + '---|' * 3 + '---:|' * len(metrics) + '---|---|']
            for m, ms in rows:
                md = m['Metadata']
                config = osp.relpath(ROOT / m['Config'], folder)
                lines.append('| ' + ' | '.join([
                    m['Name'], _cell(md.get('Parameters')),
                    _cell(md.get('FLOPs')),
                    *(_cell(ms.get(k)) for k in metrics),
                    f'[config]({config})', '—']) + ' |')
            out.append('\n'.join(lines))
    return '\n\n'.join(out)


def with_table(readme: str, table: str, where: Path) -> str:
    """``readme`` with the text between the results markers replaced."""
    if START not in readme or END not in readme:
        raise ValueError(f'{where} has no "{START}" ... "{END}" markers '
                         f'where the results table goes')
    head, rest = readme.split(START, 1)
    return f'{head}{START}\n{table}\n{END}{rest.split(END, 1)[1]}'


def family_readme(meta_path: Path) -> str:
    """The family's README.md with its results table as generated."""
    folder = meta_path.parent
    readme = folder / 'README.md'
    if not readme.is_file():
        raise FileNotFoundError(f'{meta_path} has no README.md beside it')
    table = results_table(yaml.safe_load(meta_path.read_text()), folder)
    return with_table(readme.read_text(), table, readme)


def repoint(text: str, src: Path, dst: Path) -> str:
    """Relative links of a file in ``src`` re-pointed for one in ``dst``;
    raises ValueError naming the link if its target does not exist."""

    def sub(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r'^[a-z]+:', target) or target.startswith('/'):
            return m.group(0)
        path = (src / target).resolve()
        if path.name == 'README.md' and path.parent.parent == ROOT / 'configs':
            path = ZOO / f'{path.parent.name}.md'  # a family: its page
        elif not path.exists():
            raise ValueError(f'{src}: broken relative link {target!r} '
                             f'(no {path})')
        return (m.group(1) + osp.relpath(path, dst) + (m.group(3) or '')
                + m.group(4))

    return LINK.sub(sub, text)


def _stats(families: List[tuple]) -> str:
    models = [m for _, meta in families for m in meta['Models']]
    paper = [m for m in models if any(
        k.endswith('(paper)') for r in m.get('Results', [])
        for k in r['Metrics'])]
    lines = ['# Model zoo', '',
             'Generated from `model-index.yml` and the metafiles of '
             '`configs/` (what `mim search mmnc` lists). No checkpoints are '
             'published yet: "(paper)" numbers are the paper\'s results, '
             'the targets of the full-size configs; the mini protocol\'s '
             'are measured here by `make demo`.', '',
             f'- Config families: {len(families)}',
             f'- Configs: {len(models)} ({len(paper)} with the paper\'s '
             f'numbers as targets)', '',
             '| Family | Configs | Collections |', '|---|---:|---|']
    for path, meta in families:
        name = path.parent.name
        lines.append(f'| [{name}]({name}.md) | {len(meta["Models"])} | '
                     + '; '.join(c['Name'] for c in meta['Collections'])
                     + ' |')
    toc = '\n'.join(p.parent.name for p, _ in families)
    lines += ['', '```{toctree}', ':hidden:', '', toc, '```', '']
    return '\n'.join(lines)


def write_pages() -> None:
    """Write ``docs/model_zoo/index.md`` and one page per family."""
    ZOO.mkdir(exist_ok=True)
    families = [(p, yaml.safe_load(p.read_text())) for p in metafiles()]
    for path, _ in families:
        text = repoint(family_readme(path), path.parent, ZOO)
        _write(ZOO / f'{path.parent.name}.md', text)
    _write(ZOO / 'index.md', _stats(families))


def _write(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:  # keep mtimes
        path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', action='store_true',
                        help="refresh the results tables of the families' "
                        'README.md from their metafile.yml')
    args = parser.parse_args()
    for path in metafiles():
        readme = path.parent / 'README.md'
        text = family_readme(path)
        if args.write and readme.read_text() != text:
            readme.write_text(text)
            print(f'updated {readme.relative_to(ROOT)}')
    if not args.write:
        write_pages()


if __name__ == '__main__':
    main()
