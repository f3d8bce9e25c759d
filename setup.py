import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

version = {}
exec(open('mmnc/version.py').read(), version)

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')
REPO_ONLY = ('setup_env.sh', 'cxx20.sh')  # make a clone's environments


class BuildPy(build_py):
    """Also put the configs, tools and model index into ``mmnc/.mim``, where
    mim and mmengine look for an OpenMMLab package's (as mmdet's setup.py
    does): copied into the wheel; symlinked into the source tree for an
    editable install (``mmnc/.mim`` is not committed)."""

    def run(self) -> None:
        super().run()
        editable = getattr(self, 'editable_mode', False)
        mim = osp.join(ROOT if editable else self.build_lib, 'mmnc', '.mim')
        os.makedirs(mim, exist_ok=True)
        for name in MIM_FILES:
            src, dst = osp.join(ROOT, name), osp.join(mim, name)
            if osp.islink(dst) or osp.isfile(dst):
                os.remove(dst)
            elif osp.isdir(dst):
                shutil.rmtree(dst)
            if editable:
                os.symlink(osp.relpath(src, mim), dst)
            elif osp.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                    '__pycache__', '*.pyc', *REPO_ONLY))
            else:
                shutil.copyfile(src, dst)


# The ranges CI proves: both ends are the two environments .ci/run tests
# (classic: Python 3.10, torch 2.1.2, numpy 1.26; pinned: Python 3.11,
# torch 2.14.1, numpy 2.3), each with mmengine 0.10.7, mmcv 2.1.0, mmdet
# 3.3.0, mmsegmentation 1.2.2 and mmpretrain 1.2.0.
setup(
    name='mmnc',
    version=version['__version__'],
    description='Cross-channel communication (NC) and SE blocks for '
    'mmdet, mmseg and mmpretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmnc', 'mmnc.*']),
    cmdclass={'build_py': BuildPy},
    python_requires='>=3.10,<3.12',
    install_requires=[
        'torch>=2.1.2,<=2.14.1', 'numpy>=1.26,<2.4', 'mmengine==0.10.7',
        'mmcv==2.1.0'
    ],
    extras_require={
        'det': ['mmdet==3.3.0'],
        'seg': ['mmsegmentation==1.2.2', 'ftfy', 'regex'],
        'cls': ['mmpretrain==1.2.0'],
        'tools': ['matplotlib', 'scikit-learn'],
        'tests': ['pytest', 'ruff'],
        # as requirements/deploy.txt
        'deploy': ['onnx>=1.23,<1.24', 'onnxscript>=0.7.2,<0.8',
                   'onnxruntime>=1.23.2,<1.33'],
    },
    license='Apache-2.0',
)
