"""ConvNeXt tiny/small/base/large as torchvision builds them (its ``trunc_normal_(std=0.02)`` init draws
from dynagrad's ``trunc_normal_``, whose stream is not yet torch's, so seeded weights differ).

>>> from dynagrad.vision import models
>>> models.convnext_tiny(num_classes=3).classifier[2].out_features
3
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import dynagrad
from dynagrad import nn
from dynagrad.nn import functional as F

from ..ops.misc import Conv2dNormActivation, Permute, StochasticDepth
from ._api import _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["ConvNeXt", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large", "ConvNeXt_Tiny_Weights",
           "ConvNeXt_Small_Weights", "ConvNeXt_Base_Weights", "ConvNeXt_Large_Weights"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``N x C x H x W`` tensor."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
            norm_layer(dim), nn.Linear(dim, 4 * dim, bias=True), nn.GELU(), nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(dynagrad.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input):
        result = self.stochastic_depth(self.layer_scale * self.block(input))
        result += input
        return result


class CNBlockConfig:
    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels, self.out_channels, self.num_layers = input_channels, out_channels, num_layers

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_channels={self.input_channels}, out_channels={self.out_channels}, "
                f"num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    def __init__(self, block_setting: list[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000, block: Callable | None = None,
                 norm_layer: Callable | None = None, **kwargs) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, Sequence) and all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = CNBlock if block is None else block
        norm_layer = partial(LayerNorm2d, eps=1e-6) if norm_layer is None else norm_layer
        layers: list[nn.Module] = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4, stride=4,
                                                        padding=0, norm_layer=norm_layer, activation_layer=None,
                                                        bias=True)]
        total = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                stage.append(block(cnf.input_channels, layer_scale, stochastic_depth_prob * block_id / (total - 1.0)))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(norm_layer(cnf.input_channels),
                                            nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        c = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(c), nn.Flatten(1), nn.Linear(c, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(self.avgpool(self.features(x)))

    def forward(self, x):
        return self._forward_impl(x)


_W = {"tiny": ("convnext_tiny-983f1562.pth", 28589128, 236, [(96, 192, 3), (192, 384, 3), (384, 768, 9),
                                                              (768, None, 3)], 0.1),
      "small": ("convnext_small-0c510722.pth", 50223688, 230, [(96, 192, 3), (192, 384, 3), (384, 768, 27),
                                                                (768, None, 3)], 0.4),
      "base": ("convnext_base-6075fbad.pth", 88591464, 232, [(128, 256, 3), (256, 512, 3), (512, 1024, 27),
                                                              (1024, None, 3)], 0.5),
      "large": ("convnext_large-ea097f82.pth", 197767336, 232, [(192, 384, 3), (384, 768, 3), (768, 1536, 27),
                                                                 (1536, None, 3)], 0.5)}


def _builder(key: str):
    fname, n, resize, setting, sd = _W[key]
    cls = make_weights(f"ConvNeXt_{key.capitalize()}_Weights", __name__, "IMAGENET1K_V1",
                       [("IMAGENET1K_V1", fname, n, (32, 32), {"crop_size": 224, "resize_size": resize})])

    def construct(weights, progress, **kwargs):
        p = kwargs.pop("stochastic_depth_prob", sd)
        if weights is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        model = ConvNeXt([CNBlockConfig(*s) for s in setting], stochastic_depth_prob=p, **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return cls, make_builder(f"convnext_{key}", __name__, cls, construct)


ConvNeXt_Tiny_Weights, convnext_tiny = _builder("tiny")
ConvNeXt_Small_Weights, convnext_small = _builder("small")
ConvNeXt_Base_Weights, convnext_base = _builder("base")
ConvNeXt_Large_Weights, convnext_large = _builder("large")
