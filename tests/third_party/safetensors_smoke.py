"""safetensors.torch with torch tensors: files, bytes, models, safe_open, dtypes, shared weights."""
import os
import sys
import tempfile

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load, load_file, load_model, save, save_file, save_model

torch.manual_seed(0)
_tmp = tempfile.TemporaryDirectory()
folder = _tmp.name
tensors = {
    "f32": torch.randn(3, 4),
    "f64": torch.arange(6, dtype=torch.float64).reshape(2, 3),
    "f16": torch.tensor([1.5, -2.25], dtype=torch.float16),
    "bf16": torch.tensor([0.5, 3.0, -1.0], dtype=torch.bfloat16),
    "i64": torch.tensor([1, 2, 3]),
    "i32": torch.tensor([[7]], dtype=torch.int32),
    "i16": torch.tensor([-4], dtype=torch.int16),
    "i8": torch.tensor([-8, 9], dtype=torch.int8),
    "u8": torch.tensor([255, 0], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "c64": torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64),
    "scalar": torch.tensor(3.25),
    "empty": torch.zeros(0, 3),
    "f8": torch.tensor([1.0, -0.5, 448.0]).to(torch.float8_e4m3fn),
    "f8e5": torch.tensor([2.0, 0.25]).to(torch.float8_e5m2),
}


def show(name, t):
    vals = t.float().flatten().tolist() if t.dtype not in (torch.complex64, torch.bool) else t.flatten().tolist()
    print(name, t.dtype, tuple(t.shape), vals if t.numel() <= 12 else round(t.float().sum().item(), 4))


path = os.path.join(folder, "t.safetensors")
save_file(tensors, path, metadata={"format": "pt", "who": "smoke"})
back = load_file(path)
print("keys", sorted(back))
for k in sorted(back):
    show(k, back[k])
    exact = k in ("c64", "bool")
    same = torch.equal(back[k], tensors[k]) if exact else torch.equal(back[k].float(), tensors[k].float())
    assert back[k].dtype == tensors[k].dtype and same, k

back["f32"].mul_(2)  # loaded tensors are writable, as training needs
print("writable", round(back["f32"].sum().item(), 4))
trained = nn.Linear(3, 2)
trained.load_state_dict({"weight": load_file(path)["f32"][:2, :3].contiguous(), "bias": back["f16"].float()})
print("loaded into Linear", trained(torch.ones(1, 3)).tolist())

blob = save({"a": torch.ones(2, 2), "b": torch.arange(4, dtype=torch.int32)})
print("bytes", type(blob).__name__, len(blob))
again = load(blob)
for k in sorted(again):
    show("bytes-" + k, again[k])

with safe_open(path, framework="pt", device="cpu") as f:
    print("metadata", sorted(f.metadata().items()))
    print("safe_open keys", sorted(f.keys()))
    show("get_tensor", f.get_tensor("f32"))
    sl = f.get_slice("f64")
    print("slice shape", sl.get_shape(), sl.get_dtype())
    show("slice", sl[:, 1:])


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.mid = nn.Linear(4, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight  # shared weight, as GPT models tie them
        self.register_buffer("steps", torch.tensor(5))


model = Tied()
try:
    save_file(model.state_dict(), os.path.join(folder, "bad.safetensors"))
except RuntimeError as e:
    print("shared refused:", "share memory" in str(e))
mpath = os.path.join(folder, "m.safetensors")
save_model(model, mpath)
with safe_open(mpath, framework="pt") as f:
    print("saved keys", sorted(f.keys()))
fresh = Tied()
missing, unexpected = load_model(fresh, mpath)
print("load_model", sorted(missing), sorted(unexpected))
for (n, p), (_, q) in zip(model.state_dict().items(), fresh.state_dict().items()):
    assert torch.equal(p, q), n
print("tied after load", fresh.head.weight is fresh.emb.weight, torch.equal(fresh.head.weight, model.emb.weight))
x = torch.tensor([[1, 2, 3]])
print("same outputs", torch.equal(model.head(model.mid(model.emb(x))), fresh.head(fresh.mid(fresh.emb(x)))))

view = torch.arange(10.0)[2:5]
try:
    save_file({"v": view}, os.path.join(folder, "v.safetensors"))
    show("slice-view saved", load_file(os.path.join(folder, "v.safetensors"))["v"])
except ValueError as e:
    print("view:", str(e)[:60])
try:
    save_file({"t": torch.arange(6.0).reshape(2, 3).t()}, os.path.join(folder, "nc.safetensors"))
except ValueError as e:
    print("non-contiguous:", str(e)[:60])
try:
    save_file({"x": [1, 2]}, os.path.join(folder, "x.safetensors"))
except ValueError as e:
    print("not a tensor:", e)
print("byteorder", sys.byteorder)
