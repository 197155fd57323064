"""Vision: offline datasets (``dynagrad.vision.datasets``, with ``ImageFolder``) and image transforms
(``dynagrad.vision.transforms``), laid out as torchvision.

>>> from dynagrad.vision import datasets
>>> len(datasets.Digits(train=False))
297
"""
from . import datasets, transforms
