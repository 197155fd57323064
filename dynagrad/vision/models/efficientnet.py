"""EfficientNet B0-B7 and V2 S/M/L as torchvision builds them (MBConv / Fused-MBConv stages, stochastic
depth growing linearly with block index).

>>> from dynagrad.vision import models
>>> models.efficientnet_b0(num_classes=10).classifier[1].in_features
1280
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from dynagrad import flatten, nn

from ..ops.misc import Conv2dNormActivation, SqueezeExcitation, StochasticDepth
from ._api import _make_divisible, _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["EfficientNet", "MBConvConfig", "FusedMBConvConfig", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
           "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
           "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l", "EfficientNet_B0_Weights",
           "EfficientNet_B1_Weights", "EfficientNet_B2_Weights", "EfficientNet_B3_Weights", "EfficientNet_B4_Weights",
           "EfficientNet_B5_Weights", "EfficientNet_B6_Weights", "EfficientNet_B7_Weights",
           "EfficientNet_V2_S_Weights", "EfficientNet_V2_M_Weights", "EfficientNet_V2_L_Weights"]


@dataclass
class _MBConvConfig:
    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, width_mult: float = 1.0, depth_mult: float = 1.0,
                 block: Callable | None = None) -> None:
        input_channels = self.adjust_channels(input_channels, width_mult)
        out_channels = self.adjust_channels(out_channels, width_mult)
        num_layers = self.adjust_depth(num_layers, depth_mult)
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                         MBConv if block is None else block)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, block: Callable | None = None) -> None:
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                         FusedMBConv if block is None else block)


class MBConv(nn.Module):
    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable,
                 se_layer: Callable = SqueezeExcitation) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class FusedMBConv(nn.Module):
    def __init__(self, cnf: FusedMBConvConfig, stochastic_depth_prob: float, norm_layer: Callable) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers = [Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU),
                      Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None)]
        else:
            layers = [Conv2dNormActivation(cnf.input_channels, cnf.out_channels, kernel_size=cnf.kernel,
                                           stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    def __init__(self, inverted_residual_setting: Sequence, dropout: float, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000, norm_layer: Callable | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        layers: list[nn.Module] = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, kernel_size=3,
                                                        stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(flatten(self.avgpool(self.features(x)), 1))

    def forward(self, x):
        return self._forward_impl(x)


def _efficientnet_conf(arch: str, **kwargs):
    if arch.startswith("efficientnet_b"):
        b = partial(MBConvConfig, width_mult=kwargs.pop("width_mult"), depth_mult=kwargs.pop("depth_mult"))
        return [b(1, 3, 1, 32, 16, 1), b(6, 3, 2, 16, 24, 2), b(6, 5, 2, 24, 40, 2), b(6, 3, 2, 40, 80, 3),
                b(6, 5, 1, 80, 112, 3), b(6, 5, 2, 112, 192, 4), b(6, 3, 1, 192, 320, 1)], None
    F_, M_ = FusedMBConvConfig, MBConvConfig
    if arch.startswith("efficientnet_v2_s"):
        return [F_(1, 3, 1, 24, 24, 2), F_(4, 3, 2, 24, 48, 4), F_(4, 3, 2, 48, 64, 4), M_(4, 3, 2, 64, 128, 6),
                M_(6, 3, 1, 128, 160, 9), M_(6, 3, 2, 160, 256, 15)], 1280
    if arch.startswith("efficientnet_v2_m"):
        return [F_(1, 3, 1, 24, 24, 3), F_(4, 3, 2, 24, 48, 5), F_(4, 3, 2, 48, 80, 5), M_(4, 3, 2, 80, 160, 7),
                M_(6, 3, 1, 160, 176, 14), M_(6, 3, 2, 176, 304, 18), M_(6, 3, 1, 304, 512, 5)], 1280
    if arch.startswith("efficientnet_v2_l"):
        return [F_(1, 3, 1, 32, 32, 4), F_(4, 3, 2, 32, 64, 7), F_(4, 3, 2, 64, 96, 7), M_(4, 3, 2, 96, 192, 10),
                M_(6, 3, 1, 192, 224, 19), M_(6, 3, 2, 224, 384, 25), M_(6, 3, 1, 384, 640, 7)], 1280
    raise ValueError(f"Unsupported model type {arch}")


_BIC = {"interpolation": "bicubic"}
_W = [  # name, default, [(member, file, num_params, min_size, preset)]
    ("B0", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b0_rwightman-7f5810bc.pth", 5288548, (1, 1),
                              {"crop_size": 224, "resize_size": 256, **_BIC})]),
    ("B1", "IMAGENET1K_V2", [("IMAGENET1K_V1", "efficientnet_b1_rwightman-bac287d4.pth", 7794184, (1, 1),
                              {"crop_size": 240, "resize_size": 256, **_BIC}),
                             ("IMAGENET1K_V2", "efficientnet_b1-c27df63c.pth", 7794184, (1, 1),
                              {"crop_size": 240, "resize_size": 255})]),
    ("B2", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b2_rwightman-c35c1473.pth", 9109994, (1, 1),
                              {"crop_size": 288, "resize_size": 288, **_BIC})]),
    ("B3", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b3_rwightman-b3899882.pth", 12233232, (1, 1),
                              {"crop_size": 300, "resize_size": 320, **_BIC})]),
    ("B4", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b4_rwightman-23ab8bcd.pth", 19341616, (1, 1),
                              {"crop_size": 380, "resize_size": 384, **_BIC})]),
    ("B5", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b5_lukemelas-1a07897c.pth", 30389784, (1, 1),
                              {"crop_size": 456, "resize_size": 456, **_BIC})]),
    ("B6", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b6_lukemelas-24a108a5.pth", 43040704, (1, 1),
                              {"crop_size": 528, "resize_size": 528, **_BIC})]),
    ("B7", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_b7_lukemelas-c5b4e57e.pth", 66347960, (1, 1),
                              {"crop_size": 600, "resize_size": 600, **_BIC})]),
    ("V2_S", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_v2_s-dd5fe13b.pth", 21458488, (33, 33),
                                {"crop_size": 384, "resize_size": 384})]),
    ("V2_M", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_v2_m-dc08266a.pth", 54139356, (33, 33),
                                {"crop_size": 480, "resize_size": 480})]),
    ("V2_L", "IMAGENET1K_V1", [("IMAGENET1K_V1", "efficientnet_v2_l-59c71312.pth", 118515272, (33, 33),
                                {"crop_size": 480, "resize_size": 480, **_BIC, "mean": (0.5, 0.5, 0.5),
                                 "std": (0.5, 0.5, 0.5)})]),
]
_WEIGHTS = {n: make_weights(f"EfficientNet_{n}_Weights", __name__, d, e) for n, d, e in _W}
EfficientNet_B0_Weights, EfficientNet_B1_Weights = _WEIGHTS["B0"], _WEIGHTS["B1"]
EfficientNet_B2_Weights, EfficientNet_B3_Weights = _WEIGHTS["B2"], _WEIGHTS["B3"]
EfficientNet_B4_Weights, EfficientNet_B5_Weights = _WEIGHTS["B4"], _WEIGHTS["B5"]
EfficientNet_B6_Weights, EfficientNet_B7_Weights = _WEIGHTS["B6"], _WEIGHTS["B7"]
EfficientNet_V2_S_Weights, EfficientNet_V2_M_Weights = _WEIGHTS["V2_S"], _WEIGHTS["V2_M"]
EfficientNet_V2_L_Weights = _WEIGHTS["V2_L"]

_BN_B5 = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
_BN_V2 = partial(nn.BatchNorm2d, eps=1e-03)
# arch: (width_mult, depth_mult, dropout, norm_layer)
_CONF = {"b0": (1.0, 1.0, 0.2, None), "b1": (1.0, 1.1, 0.2, None), "b2": (1.1, 1.2, 0.3, None),
         "b3": (1.2, 1.4, 0.3, None), "b4": (1.4, 1.8, 0.4, None), "b5": (1.6, 2.2, 0.4, _BN_B5),
         "b6": (1.8, 2.6, 0.5, _BN_B5), "b7": (2.0, 3.1, 0.5, _BN_B5), "v2_s": (None, None, 0.2, _BN_V2),
         "v2_m": (None, None, 0.3, _BN_V2), "v2_l": (None, None, 0.4, _BN_V2)}


def _builder(key: str):
    width, depth, dropout, norm = _CONF[key]
    arch = "efficientnet_" + key
    weights_cls = _WEIGHTS[key.upper()]

    def construct(weights, progress, **kwargs):
        conf_kw = {} if width is None else {"width_mult": width, "depth_mult": depth}
        setting, last_channel = _efficientnet_conf(arch, **conf_kw)
        p = kwargs.pop("dropout", dropout)
        if norm is not None:
            kwargs.setdefault("norm_layer", norm)
        if weights is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        model = EfficientNet(setting, p, last_channel=last_channel, **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return make_builder(arch, __name__, weights_cls, construct)


efficientnet_b0, efficientnet_b1, efficientnet_b2 = _builder("b0"), _builder("b1"), _builder("b2")
efficientnet_b3, efficientnet_b4, efficientnet_b5 = _builder("b3"), _builder("b4"), _builder("b5")
efficientnet_b6, efficientnet_b7 = _builder("b6"), _builder("b7")
efficientnet_v2_s, efficientnet_v2_m, efficientnet_v2_l = _builder("v2_s"), _builder("v2_m"), _builder("v2_l")
