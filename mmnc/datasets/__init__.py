"""Data for the demo, the tests and ``tools/make_datasets.py``: the small
synthetic sets in the real COCO, VOC and image-folder formats
(:mod:`mmnc.datasets.synthetic`). Model code never imports this."""
