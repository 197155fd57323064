"""Building blocks torchvision's models share (``torchvision.ops.misc``): convolution + norm + activation,
squeeze-and-excitation, MLP, stochastic depth."""
from __future__ import annotations

from collections.abc import Callable

import dynagrad
from dynagrad import nn

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "MLP", "StochasticDepth", "stochastic_depth", "Permute",
           "FrozenBatchNorm2d"]


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms, all buffers (nothing trains, in any mode): detection
    backbones and timm's frozen layers use it. Loading a BatchNorm2d's state dict drops its
    ``num_batches_tracked``.

    >>> m = FrozenBatchNorm2d(2)
    >>> m, sorted(m.state_dict())
    (FrozenBatchNorm2d(2, eps=1e-05), ['bias', 'running_mean', 'running_var', 'weight'])
    >>> m(dynagrad.ones(1, 2, 1, 1)).flatten().tolist()
    [0.9999949932098389, 0.9999949932098389]
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", dynagrad.ones(num_features))
        self.register_buffer("bias", dynagrad.zeros(num_features))
        self.register_buffer("running_mean", dynagrad.zeros(num_features))
        self.register_buffer("running_var", dynagrad.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        state_dict.pop(prefix + "num_batches_tracked", None)  # a BatchNorm2d's counter has no place here
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x):
        scale = self.weight.reshape(1, -1, 1, 1) * (self.running_var.reshape(1, -1, 1, 1) + self.eps).rsqrt()
        shift = self.bias.reshape(1, -1, 1, 1) - self.running_mean.reshape(1, -1, 1, 1) * scale
        return x * scale + shift

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.weight.shape[0]}, eps={self.eps})"


class Conv2dNormActivation(nn.Sequential):
    """``Conv2d`` (same padding for odd kernels), then ``norm_layer`` and ``activation_layer`` when given;
    the convolution has a bias only without a norm layer (by default).

    >>> m = Conv2dNormActivation(3, 8, kernel_size=3, stride=2)
    >>> [k for k, _ in m.state_dict().items()][:3]
    ['0.weight', '1.weight', '1.bias']
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=None,
                 groups: int = 1, norm_layer: Callable | None = nn.BatchNorm2d,
                 activation_layer: Callable | None = nn.ReLU, dilation=1, inplace: bool | None = True,
                 bias: bool | None = None) -> None:
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                n = len(kernel_size) if not isinstance(kernel_size, int) else len(dilation)
                ks = (kernel_size,) * n if isinstance(kernel_size, int) else kernel_size
                dl = (dilation,) * n if isinstance(dilation, int) else dilation
                padding = tuple((ks[i] - 1) // 2 * dl[i] for i in range(n))
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                            groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool, two 1x1 convolutions, and a gate that scales the input."""

    def __init__(self, input_channels: int, squeeze_channels: int, activation: Callable = nn.ReLU,
                 scale_activation: Callable = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x):
        return self._scale(x) * x


class MLP(nn.Sequential):
    """``Linear`` layers of widths ``hidden_channels``, each but the last followed by norm, activation and
    dropout; the last by dropout only."""

    def __init__(self, in_channels: int, hidden_channels: list[int], norm_layer: Callable | None = None,
                 activation_layer: Callable | None = nn.ReLU, inplace: bool | None = None, bias: bool = True,
                 dropout: float = 0.0) -> None:
        params = {} if inplace is None else {"inplace": inplace}
        layers = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """Drop whole residual branches with probability ``p``: per sample (``"row"``) or per batch
    (``"batch"``); survivors are scaled by ``1 / (1 - p)``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = dynagrad.empty(size, dtype=input.dtype).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return dynagrad.permute(x, self.dims)
