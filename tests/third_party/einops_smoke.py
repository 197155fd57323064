"""einops with torch tensors: functions, layers inside nn.Sequential, gradients."""
import einops
import torch
import torch.nn as nn
from einops import einsum, pack, rearrange, reduce, repeat, unpack
from einops.layers.torch import EinMix, Rearrange, Reduce

torch.manual_seed(0)
x = torch.randn(2, 3, 4, 6)

y = rearrange(x, "b c h w -> b (h w) c")
print("rearrange", tuple(y.shape), round(y.sum().item(), 4))
print("rearrange-split", tuple(rearrange(x, "b c (h1 h) w -> b h1 c h w", h1=2).shape))
m = reduce(x, "b c h w -> b c", "mean")
print("reduce-mean", tuple(m.shape), round(m.sum().item(), 4))
print("reduce-max", round(reduce(x, "b c (h 2) (w 2) -> b c h w", "max").sum().item(), 4))
print("repeat", tuple(repeat(x[0, 0], "h w -> h w k", k=3).shape))
print("repeat-new", tuple(repeat(torch.arange(3.0), "n -> b n", b=2).shape))
packed, ps = pack([torch.ones(2, 5), torch.zeros(2, 3, 5)], "b * c")
print("pack", tuple(packed.shape), ps)
a, b = unpack(packed, ps, "b * c")
print("unpack", tuple(a.shape), tuple(b.shape))
e = einsum(x, x, "b c h w, b d h w -> b c d")
print("einsum", tuple(e.shape), round(e.sum().item(), 3))
print("parse_shape", einops.parse_shape(x, "b c _ w"))

model = nn.Sequential(
    Rearrange("b c h w -> b (h w) c"),
    EinMix("b t c -> b t d", weight_shape="c d", bias_shape="d", c=3, d=5),
    nn.ReLU(),
    Reduce("b t d -> b d", "mean"),
    nn.Linear(5, 2),
)
print(model)
out = model(x)
print("model", tuple(out.shape), round(out.sum().item(), 4))
out.pow(2).sum().backward()
for name, p in model.named_parameters():
    print("grad", name, tuple(p.grad.shape), round(p.grad.abs().sum().item(), 4))
x.requires_grad_(True)
rearrange(x, "b c h w -> (b c) h w").sum().backward()
print("input grad", round(x.grad.sum().item(), 1))
