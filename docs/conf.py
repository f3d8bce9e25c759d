"""Sphinx configuration of mmnc's documentation site (``make docs``).

Markdown pages through myst-parser, the API from the docstrings (autodoc +
napoleon), the model zoo generated from the configs' ``metafile.yml`` at
start-up (:mod:`stat`). Built with warnings as errors (``-W --keep-going``)
in CI. No intersphinx: the machines that build it have no internet, and a
missing inventory is a warning.
"""
import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(DOCS))  # this checkout's mmnc
sys.path.insert(0, DOCS)

import zoo_pages  # noqa: E402

import mmnc  # noqa: E402

project = 'mmnc'
author = 'The mmnc Authors'
copyright = '2026, The mmnc Authors'  # noqa: A001
release = version = mmnc.__version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.autosummary',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
    'sphinx_copybutton',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
exclude_patterns = ['_build']
myst_enable_extensions = ['colon_fence', 'deflist', 'dollarmath']
myst_heading_anchors = 3

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'members': True, 'show-inheritance': True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autosummary_generate = False

html_theme = 'furo'
html_title = f'mmnc {release}'
html_static_path = ['_static']
copybutton_prompt_text = r'>>> |\.\.\. |\$ '
copybutton_prompt_is_regexp = True

zoo_pages.write_pages()  # model_zoo/*.md from the metafiles
