"""Vision Transformers (ViT-B/16, B/32, L/16, L/32, H/14) as torchvision builds them: a patchifying
convolution ``conv_proj``, a class token, ``encoder.layers.encoder_layer_N`` blocks and ``heads.head``.

>>> import dynagrad
>>> from dynagrad.vision import models
>>> net = models.vit_b_16(image_size=32, num_classes=5)
>>> net.encoder.pos_embedding.shape
torch.Size([1, 5, 768])
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import dynagrad
from dynagrad import nn

from ..ops.misc import MLP, Conv2dNormActivation
from ._api import _ovewrite_named_param, make_builder
from ._weights import make_weights

__all__ = ["VisionTransformer", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14", "ViT_B_16_Weights",
           "ViT_B_32_Weights", "ViT_L_16_Weights", "ViT_L_32_Weights", "ViT_H_14_Weights"]


class ConvStemConfig(NamedTuple):
    out_channels: int
    kernel_size: int
    stride: int
    norm_layer: Callable = nn.BatchNorm2d
    activation_layer: Callable = nn.ReLU


class MLPBlock(MLP):
    """The transformer's feed-forward block (keys ``0`` and ``3`` for its two linear layers)."""

    _version = 2

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)


def _ln(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=1e-6)


class EncoderBlock(nn.Module):
    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable = _ln) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout,
                                                    batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        if input.dim() != 3:
            raise AssertionError(f"Expected (batch_size, seq_length, hidden_dim) got {tuple(input.shape)}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float, attention_dropout: float, norm_layer: Callable = _ln) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(dynagrad.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                                                        norm_layer)
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        if input.dim() != 3:
            raise AssertionError(f"Expected (batch_size, seq_length, hidden_dim) got {tuple(input.shape)}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None, norm_layer: Callable = _ln,
                 conv_stem_configs: list[ConvStemConfig] | None = None) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise AssertionError("Input shape indivisible by patch size!")
        self.image_size, self.patch_size = image_size, patch_size
        self.hidden_dim, self.mlp_dim = hidden_dim, mlp_dim
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.num_classes, self.representation_size = num_classes, representation_size
        self.norm_layer = norm_layer
        if conv_stem_configs is not None:
            seq_proj = nn.Sequential()
            prev = 3
            for i, c in enumerate(conv_stem_configs):
                seq_proj.add_module(f"conv_bn_relu_{i}", Conv2dNormActivation(
                    in_channels=prev, out_channels=c.out_channels, kernel_size=c.kernel_size, stride=c.stride,
                    norm_layer=c.norm_layer, activation_layer=c.activation_layer))
                prev = c.out_channels
            seq_proj.add_module("conv_last", nn.Conv2d(prev, hidden_dim, kernel_size=1))
            self.conv_proj = seq_proj
        else:
            self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1  # + the class token
        self.class_token = nn.Parameter(dynagrad.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                               norm_layer)
        self.seq_length = seq_length
        heads: OrderedDict = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)
        if isinstance(self.conv_proj, nn.Conv2d):
            fan_in = self.conv_proj.in_channels * self.conv_proj.kernel_size[0] * self.conv_proj.kernel_size[1]
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            if self.conv_proj.bias is not None:
                nn.init.zeros_(self.conv_proj.bias)
        else:
            last = self.conv_proj.conv_last
            nn.init.normal_(last.weight, mean=0.0, std=math.sqrt(2.0 / last.out_channels))
            if last.bias is not None:
                nn.init.zeros_(last.bias)
        if hasattr(self.heads, "pre_logits"):
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / self.heads.pre_logits.in_features))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x):
        n, c, h, w = x.shape
        p = self.patch_size
        if h != self.image_size:
            raise AssertionError(f"Wrong image height! Expected {self.image_size} but got {h}!")
        if w != self.image_size:
            raise AssertionError(f"Wrong image width! Expected {self.image_size} but got {w}!")
        x = self.conv_proj(x).reshape(n, self.hidden_dim, (h // p) * (w // p))
        return x.permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        tok = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(dynagrad.cat([tok, x], dim=1))
        return self.heads(x[:, 0])


_BIC = {"interpolation": "bicubic"}
ViT_B_16_Weights = make_weights("ViT_B_16_Weights", __name__, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vit_b_16-c867db91.pth", 86567656, (224, 224), {"crop_size": 224}),
    ("IMAGENET1K_SWAG_E2E_V1", "vit_b_16_swag-9ac1b537.pth", 86859496, (384, 384),
     {"crop_size": 384, "resize_size": 384, **_BIC}),
    ("IMAGENET1K_SWAG_LINEAR_V1", "vit_b_16_lc_swag-4e70ced5.pth", 86567656, (224, 224),
     {"crop_size": 224, "resize_size": 224, **_BIC})])
ViT_B_32_Weights = make_weights("ViT_B_32_Weights", __name__, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vit_b_32-d86f8d99.pth", 88224232, (224, 224), {"crop_size": 224})])
ViT_L_16_Weights = make_weights("ViT_L_16_Weights", __name__, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vit_l_16-852ce7e3.pth", 304326632, (224, 224), {"crop_size": 224, "resize_size": 242}),
    ("IMAGENET1K_SWAG_E2E_V1", "vit_l_16_swag-4f3808c9.pth", 305174504, (512, 512),
     {"crop_size": 512, "resize_size": 512, **_BIC}),
    ("IMAGENET1K_SWAG_LINEAR_V1", "vit_l_16_lc_swag-4d563306.pth", 304326632, (224, 224),
     {"crop_size": 224, "resize_size": 224, **_BIC})])
ViT_L_32_Weights = make_weights("ViT_L_32_Weights", __name__, "IMAGENET1K_V1", [
    ("IMAGENET1K_V1", "vit_l_32-c7638314.pth", 306535400, (224, 224), {"crop_size": 224})])
ViT_H_14_Weights = make_weights("ViT_H_14_Weights", __name__, "IMAGENET1K_SWAG_E2E_V1", [
    ("IMAGENET1K_SWAG_E2E_V1", "vit_h_14_swag-80465313.pth", 633470440, (518, 518),
     {"crop_size": 518, "resize_size": 518, **_BIC}),
    ("IMAGENET1K_SWAG_LINEAR_V1", "vit_h_14_lc_swag-c1eb923e.pth", 632045800, (224, 224),
     {"crop_size": 224, "resize_size": 224, **_BIC})])


def _builder(name, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, weights_cls):
    def construct(weights, progress, **kwargs):
        if weights is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
            _ovewrite_named_param(kwargs, "image_size", weights.meta["min_size"][0])
        image_size = kwargs.pop("image_size", 224)
        model = VisionTransformer(image_size=image_size, patch_size=patch_size, num_layers=num_layers,
                                  num_heads=num_heads, hidden_dim=hidden_dim, mlp_dim=mlp_dim, **kwargs)
        if weights is not None:
            model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
        return model
    return make_builder(name, __name__, weights_cls, construct)


vit_b_16 = _builder("vit_b_16", 16, 12, 12, 768, 3072, ViT_B_16_Weights)
vit_b_32 = _builder("vit_b_32", 32, 12, 12, 768, 3072, ViT_B_32_Weights)
vit_l_16 = _builder("vit_l_16", 16, 24, 16, 1024, 4096, ViT_L_16_Weights)
vit_l_32 = _builder("vit_l_32", 32, 24, 16, 1024, 4096, ViT_L_32_Weights)
vit_h_14 = _builder("vit_h_14", 14, 32, 16, 1280, 5120, ViT_H_14_Weights)
