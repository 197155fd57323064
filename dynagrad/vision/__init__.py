"""Vision: offline datasets (``dynagrad.vision.datasets``), in the spirit of torchvision.

>>> from dynagrad.vision import datasets
>>> len(datasets.Digits(train=False))
297
"""
from . import datasets
