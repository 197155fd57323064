"""ShuffleNet V2 (x0.5, x1.0, x1.5, x2.0) as torchvision builds it.

>>> from dynagrad.vision import models
>>> models.shufflenet_v2_x0_5(num_classes=3).fc.out_features
3
"""
from __future__ import annotations

from collections.abc import Callable

import dynagrad
from dynagrad import nn

from ._api import _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
           "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights", "ShuffleNet_V2_X1_5_Weights",
           "ShuffleNet_V2_X2_0_Weights"]


def channel_shuffle(x, groups: int):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    return dynagrad.transpose(x, 1, 2).contiguous().view(n, c, h, w)


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not (1 <= stride <= 3):
            raise ValueError("illegal stride value")
        self.stride = stride
        bf = oup // 2
        if stride == 1 and inp != bf << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. If stride == 1 "
                             f"then inp should be equal to oup // 2 << 1.")
        if stride > 1:
            self.branch1 = nn.Sequential(
                self.depthwise_conv(inp, inp, kernel_size=3, stride=stride, padding=1), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, kernel_size=1, stride=1, padding=0, bias=False), nn.BatchNorm2d(bf),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(bf), nn.ReLU(inplace=True),
            self.depthwise_conv(bf, bf, kernel_size=3, stride=stride, padding=1), nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, kernel_size=1, stride=1, padding=0, bias=False), nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True))

    @staticmethod
    def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       bias: bool = False) -> nn.Conv2d:
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = dynagrad.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = dynagrad.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int], num_classes: int = 1000,
                 inverted_residual: Callable = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        cin, cout = 3, stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout),
                                   nn.ReLU(inplace=True))
        cin = cout
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, cout in zip(("stage2", "stage3", "stage4"), stages_repeats, stages_out_channels[1:]):
            seq = [inverted_residual(cin, cout, 2)] + [inverted_residual(cout, cout, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            cin = cout
        cout = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(cout, num_classes)

    def _forward_impl(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))

    def forward(self, x):
        return self._forward_impl(x)


_W = {"x0_5": ("shufflenetv2_x0.5-f707e7126e.pth", 1366792, {"crop_size": 224}, [24, 48, 96, 192, 1024]),
      "x1_0": ("shufflenetv2_x1-5666bf0f80.pth", 2278604, {"crop_size": 224}, [24, 116, 232, 464, 1024]),
      "x1_5": ("shufflenetv2_x1_5-3c479a10.pth", 3503624, {"crop_size": 224, "resize_size": 232},
               [24, 176, 352, 704, 1024]),
      "x2_0": ("shufflenetv2_x2_0-8be3c8ee.pth", 7393996, {"crop_size": 224, "resize_size": 232},
               [24, 244, 488, 976, 2048])}


def _builder(key: str):
    fname, n, preset, channels = _W[key]
    cls = make_weights(f"ShuffleNet_V2_{key.upper()}_Weights", __name__, "IMAGENET1K_V1",
                       [("IMAGENET1K_V1", fname, n, (1, 1), preset)])

    def construct(weights, progress, **kwargs):
        if weights is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        model = ShuffleNetV2([4, 8, 4], channels, **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return cls, make_builder(f"shufflenet_v2_{key}", __name__, cls, construct)


ShuffleNet_V2_X0_5_Weights, shufflenet_v2_x0_5 = _builder("x0_5")
ShuffleNet_V2_X1_0_Weights, shufflenet_v2_x1_0 = _builder("x1_0")
ShuffleNet_V2_X1_5_Weights, shufflenet_v2_x1_5 = _builder("x1_5")
ShuffleNet_V2_X2_0_Weights, shufflenet_v2_x2_0 = _builder("x2_0")
