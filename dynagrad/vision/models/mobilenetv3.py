"""MobileNetV3 large and small as torchvision builds them.

>>> from dynagrad.vision import models
>>> models.mobilenet_v3_small(num_classes=3).classifier[3].out_features
3
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from dynagrad import flatten, nn

from ..ops.misc import Conv2dNormActivation
from ..ops.misc import SqueezeExcitation as SElayer
from ._api import _make_divisible, _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["MobileNetV3", "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "mobilenet_v3_large",
           "mobilenet_v3_small"]


class InvertedResidualConfig:
    """One block of Tables 1 and 2 of the MobileNetV3 paper, channels scaled by ``width_mult``."""

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int, out_channels: int, use_se: bool,
                 activation: str, stride: int, dilation: int, width_mult: float) -> None:
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return _make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable,
                 se_layer: Callable = partial(SElayer, scale_activation=nn.Hardsigmoid)) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        act = nn.Hardswish if cnf.use_hs else nn.ReLU
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=act))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel,
                                           stride=stride, dilation=cnf.dilation, groups=cnf.expanded_channels,
                                           norm_layer=norm_layer, activation_layer=act))
        if cnf.use_se:
            layers.append(se_layer(cnf.expanded_channels, _make_divisible(cnf.expanded_channels // 4, 8)))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result += input
        return result


class MobileNetV3(nn.Module):
    def __init__(self, inverted_residual_setting: list[InvertedResidualConfig], last_channel: int,
                 num_classes: int = 1000, block: Callable | None = None, norm_layer: Callable | None = None,
                 dropout: float = 0.2, **kwargs) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")
        block = InvertedResidual if block is None else block
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if norm_layer is None else norm_layer
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer,
                                                        activation_layer=nn.Hardswish)]
        layers += [block(cnf, norm_layer) for cnf in inverted_residual_setting]
        last_in = inverted_residual_setting[-1].out_channels
        last_out = 6 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(last_out, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(flatten(self.avgpool(self.features(x)), 1))

    def forward(self, x):
        return self._forward_impl(x)


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False, dilated: bool = False,
                       **kwargs):
    rd = 2 if reduced_tail else 1
    dl = 2 if dilated else 1
    b = partial(InvertedResidualConfig, width_mult=width_mult)
    adjust = partial(InvertedResidualConfig.adjust_channels, width_mult=width_mult)
    if arch == "mobilenet_v3_large":
        setting = [
            b(16, 3, 16, 16, False, "RE", 1, 1), b(16, 3, 64, 24, False, "RE", 2, 1),
            b(24, 3, 72, 24, False, "RE", 1, 1), b(24, 5, 72, 40, True, "RE", 2, 1),
            b(40, 5, 120, 40, True, "RE", 1, 1), b(40, 5, 120, 40, True, "RE", 1, 1),
            b(40, 3, 240, 80, False, "HS", 2, 1), b(80, 3, 200, 80, False, "HS", 1, 1),
            b(80, 3, 184, 80, False, "HS", 1, 1), b(80, 3, 184, 80, False, "HS", 1, 1),
            b(80, 3, 480, 112, True, "HS", 1, 1), b(112, 3, 672, 112, True, "HS", 1, 1),
            b(112, 5, 672, 160 // rd, True, "HS", 2, dl),
            b(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dl),
            b(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dl),
        ]
        last_channel = adjust(1280 // rd)
    elif arch == "mobilenet_v3_small":
        setting = [
            b(16, 3, 16, 16, True, "RE", 2, 1), b(16, 3, 72, 24, False, "RE", 2, 1),
            b(24, 3, 88, 24, False, "RE", 1, 1), b(24, 5, 96, 40, True, "HS", 2, 1),
            b(40, 5, 240, 40, True, "HS", 1, 1), b(40, 5, 240, 40, True, "HS", 1, 1),
            b(40, 5, 120, 48, True, "HS", 1, 1), b(48, 5, 144, 48, True, "HS", 1, 1),
            b(48, 5, 288 // rd, 96 // rd, True, "HS", 2, dl),
            b(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dl),
            b(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dl),
        ]
        last_channel = adjust(1024 // rd)
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return setting, last_channel


MobileNet_V3_Large_Weights = make_weights("MobileNet_V3_Large_Weights", __name__, "IMAGENET1K_V2", [
    ("IMAGENET1K_V1", "mobilenet_v3_large-8738ca79.pth", 5483032, (1, 1), {"crop_size": 224}),
    ("IMAGENET1K_V2", "mobilenet_v3_large-5c1a4163.pth", 5483032, (1, 1), {"crop_size": 224, "resize_size": 232})])
MobileNet_V3_Small_Weights = make_weights("MobileNet_V3_Small_Weights", __name__, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "mobilenet_v3_small-047dcff4.pth", 2542856, (1, 1), {"crop_size": 224})])


def _builder(arch, weights_cls):
    def construct(weights, progress, **kwargs):
        setting, last_channel = _mobilenet_v3_conf(arch, **kwargs)
        for k in ("width_mult", "reduced_tail", "dilated"):
            kwargs.pop(k, None)
        if weights is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        model = MobileNetV3(setting, last_channel, **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return make_builder(arch, __name__, weights_cls, construct)


mobilenet_v3_large = _builder("mobilenet_v3_large", MobileNet_V3_Large_Weights)
mobilenet_v3_small = _builder("mobilenet_v3_small", MobileNet_V3_Small_Weights)
