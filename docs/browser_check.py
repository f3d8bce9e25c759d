"""Look at the built site in a real browser (``make docs`` runs it).

Renders the index and one API page of ``docs/_build/html`` in headless
Chromium (Debian's ``chromium``; browsers that test tools download for
themselves cannot be fetched on machines without internet), and checks that
each shows its title, the navigation and body text, and that the index's
screenshot is not blank. The screenshot goes to ``--out``.

Exit status: 0 when every check passed, 1 when one failed, 3 when no
Chromium is installed (the check is skipped, and says so and how to install
it: it never passes silently).
"""
import argparse
import html.parser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SKIPPED = 3
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--hide-scrollbars', '--window-size=1280,900')
PAGES = {  # page: (title it must show, words its body must hold)
    'index.html': ('mmnc', ('Cross-channel communication', 'Get started')),
    'api.html': ('API reference', ('NCBlock', 'in_channels')),
}


class _Text(html.parser.HTMLParser):
    """The title, the navigation links and the main text of a page."""

    def __init__(self):
        super().__init__()
        self.title, self.nav, self.body = '', [], []
        self._stack = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get('class') or ''
        self._stack.append((tag, cls))

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        inside = ' '.join(f'{t}.{c}' for t, c in self._stack)
        if self._stack and self._stack[-1][0] == 'title':
            self.title += data
        elif 'sidebar-tree' in inside and self._stack[-1][0] == 'a':
            self.nav.append(data.strip())
        elif 'article' in inside:
            self.body.append(data)


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, (
        'chromium', 'chromium-browser', 'google-chrome'))), None)


def render(browser: str, page: Path,
           *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [browser, *FLAGS, f'--user-data-dir={profile}', *args,
             page.as_uri()], capture_output=True, text=True, timeout=120)


def check_page(browser: str, page: Path, title: str,
               words: tuple) -> list:
    """Problems seen on ``page`` as rendered (its DOM after scripts ran)."""
    dom = render(browser, page, '--dump-dom')
    if dom.returncode or not dom.stdout.strip():
        return [f'{page.name}: Chromium rendered nothing '
                f'({dom.stderr[-300:]})']
    text = _Text()
    text.feed(dom.stdout)
    body = ' '.join(' '.join(text.body).split())
    problems = []
    if title not in text.title:
        problems.append(f'{page.name}: title {text.title!r} lacks {title!r}')
    if len(text.nav) < 5:
        problems.append(f'{page.name}: navigation shows {len(text.nav)} '
                        f'links: {text.nav}')
    problems += [f'{page.name}: body lacks {w!r}' for w in words
                 if w not in body]
    if len(body) < 200:
        problems.append(f'{page.name}: body has {len(body)} characters')
    return problems


def check_screenshot(browser: str, page: Path, out: Path) -> list:
    out.parent.mkdir(parents=True, exist_ok=True)
    shot = render(browser, page, f'--screenshot={out}')
    if shot.returncode or not out.is_file():
        return [f'no screenshot of {page.name} ({shot.stderr[-300:]})']
    gray = np.asarray(Image.open(out).convert('L'), dtype=float)
    inked = (gray < 200).mean()  # text, images, borders
    if inked < 0.01:
        return [f'the screenshot of {page.name} is blank ({inked:.2%} of its '
                f'pixels are not near-white): {out}']
    return []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('html', nargs='?', default='docs/_build/html',
                        help='the built site (default: docs/_build/html)')
    parser.add_argument('--out', default='work_dirs/docs/index.png',
                        help='where the screenshot of the index goes')
    args = parser.parse_args(argv)
    browser = chromium()
    if browser is None:
        print('browser check SKIPPED: no Chromium found. Install Debian\'s: '
              'apt-get install chromium (test tools that download their '
              'own browser cannot fetch it here).', file=sys.stderr)
        return SKIPPED
    site = Path(args.html).resolve()
    problems = []
    for name, (title, words) in PAGES.items():
        if not (site / name).is_file():
            problems.append(f'{site / name} does not exist: run make docs')
            continue
        problems += check_page(browser, site / name, title, words)
    if not problems:
        problems += check_screenshot(browser, site / 'index.html',
                                     Path(args.out))
    for p in problems:
        print(f'browser check FAILED: {p}', file=sys.stderr)
    if not problems:
        print(f'browser check passed: {", ".join(PAGES)} show their title, '
              f'navigation and text; screenshot {args.out}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
