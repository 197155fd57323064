"""VGG 11/13/16/19, with and without batch norm, as torchvision builds them (``features``, ``avgpool``,
``classifier``).

>>> from dynagrad.vision import models
>>> list(models.vgg11(num_classes=3).state_dict())[-1]
'classifier.6.bias'
"""
from __future__ import annotations

from dynagrad import flatten, nn

from ._api import _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights",
           "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights"]


class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(flatten(self.avgpool(self.features(x)), 1))


def make_layers(cfg: list, batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(True)]
            in_channels = v
    return nn.Sequential(*layers)


cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}

_M = __name__
_C = {"crop_size": 224}
VGG11_Weights = make_weights("VGG11_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg11-8a719046.pth", 132863336, (32, 32), _C)])
VGG11_BN_Weights = make_weights("VGG11_BN_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg11_bn-6002323d.pth", 132868840, (32, 32), _C)])
VGG13_Weights = make_weights("VGG13_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg13-19584684.pth", 133047848, (32, 32), _C)])
VGG13_BN_Weights = make_weights("VGG13_BN_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg13_bn-abd245e5.pth", 133053736, (32, 32), _C)])
VGG16_Weights = make_weights("VGG16_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg16-397923af.pth", 138357544, (32, 32), _C),
    ("IMAGENET1K_FEATURES", "vgg16_features-amdegroot-88682ab5.pth", 138357544, (32, 32),
     {"crop_size": 224, "mean": (0.48235, 0.45882, 0.40784), "std": (1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0)})])
VGG16_BN_Weights = make_weights("VGG16_BN_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg16_bn-6c64b313.pth", 138365992, (32, 32), _C)])
VGG19_Weights = make_weights("VGG19_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg19-dcbb9e9d.pth", 143667240, (32, 32), _C)])
VGG19_BN_Weights = make_weights("VGG19_BN_Weights", _M, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vgg19_bn-c79401a0.pth", 143678248, (32, 32), _C)])


def _builder(name: str, cfg: str, batch_norm: bool, weights_cls):
    def construct(weights, progress, **kwargs):
        if weights is not None:
            kwargs["init_weights"] = False
            if weights.meta["categories"] is not None:
                _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return make_builder(name, _M, weights_cls, construct)


vgg11 = _builder("vgg11", "A", False, VGG11_Weights)
vgg11_bn = _builder("vgg11_bn", "A", True, VGG11_BN_Weights)
vgg13 = _builder("vgg13", "B", False, VGG13_Weights)
vgg13_bn = _builder("vgg13_bn", "B", True, VGG13_BN_Weights)
vgg16 = _builder("vgg16", "D", False, VGG16_Weights)
vgg16_bn = _builder("vgg16_bn", "D", True, VGG16_BN_Weights)
vgg19 = _builder("vgg19", "E", False, VGG19_Weights)
vgg19_bn = _builder("vgg19_bn", "E", True, VGG19_BN_Weights)
