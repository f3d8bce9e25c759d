from setuptools import find_packages, setup

version = {}
exec(open('mmnc/version.py').read(), version)

setup(
    name='mmnc',
    version=version['__version__'],
    description='Cross-channel communication (NC) and SE blocks for '
    'mmdet, mmseg and mmpretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmnc', 'mmnc.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0', 'mmengine>=0.10,<0.11', 'mmcv>=2.0.0,<2.2.0',
        'numpy'
    ],
    extras_require={
        'det': ['mmdet>=3.3,<3.4'],
        'seg': ['mmsegmentation>=1.2,<1.3', 'ftfy', 'regex'],
        'cls': ['mmpretrain>=1.2,<1.3'],
        'tools': ['matplotlib', 'scikit-learn'],
        'tests': ['pytest', 'ruff'],
    },
    license='Apache-2.0',
)
