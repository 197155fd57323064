"""``torchvision.ops`` basics: box utilities (``nms``, ``box_iou``, ``box_convert``, ...) and the layers
the models share (``Conv2dNormActivation``, ``SqueezeExcitation``, ``MLP``, ``StochasticDepth``).

>>> import dynagrad
>>> from dynagrad.vision import ops
>>> ops.box_area(dynagrad.tensor([[0., 0., 4., 5.]]))
tensor([20.])
"""
from .boxes import batched_nms, box_area, box_convert, box_iou, clip_boxes_to_image, nms, remove_small_boxes  # noqa: F401
from .misc import MLP, Conv2dNormActivation, Permute, SqueezeExcitation, StochasticDepth, stochastic_depth  # noqa: F401

__all__ = ["nms", "batched_nms", "box_area", "box_iou", "box_convert", "clip_boxes_to_image",
           "remove_small_boxes", "Conv2dNormActivation", "SqueezeExcitation", "MLP", "StochasticDepth",
           "stochastic_depth", "Permute"]


def __getattr__(name: str):
    raise AttributeError(f"module 'torchvision.ops' has no attribute '{name}' (dynagrad.vision does not provide it)")
