"""Device selection the way the official pytorch/examples and popular trainers do it, then a short
training run on synthetic data. Written for `import torch`; run unmodified by python and by dynagrad run."""
import argparse
from contextlib import nullcontext

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument("--no-accel", action="store_true")
parser.add_argument("--no-cuda", action="store_true")
parser.add_argument("--no-mps", action="store_true")
parser.add_argument("--steps", type=int, default=12)
args = parser.parse_args()

# mnist / vae (current examples): torch.accelerator
use_accel = not args.no_accel and torch.accelerator.is_available()
device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
print(f"Using device: {device}")
# older mnist / gcn: cuda, then mps
use_cuda = not args.no_cuda and torch.cuda.is_available()
use_mps = not args.no_mps and torch.backends.mps.is_available()
old = torch.device("cuda") if use_cuda else torch.device("mps") if use_mps else torch.device("cpu")
print("Using", old, "| cuda devices:", torch.cuda.device_count())
train_kwargs = {"batch_size": 16}
if use_cuda:
    train_kwargs.update({"num_workers": 1, "pin_memory": True, "shuffle": True})
# word_language_model: accelerator with a --accel switch and a fixed seed for every device
torch.manual_seed(1111)
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(1111)
# imagenet / dcgan: cudnn switches, mps probing
cudnn.benchmark = True
cudnn.deterministic = False
if torch.cuda.is_available() and not use_cuda:
    print("WARNING: You have a CUDA device, so you should probably run with --cuda")
ngpus_per_node = torch.cuda.device_count()
print("ngpus_per_node:", ngpus_per_node, "| mps built:", torch.backends.mps.is_built())
# nanoGPT: TF32 switches, dtype and autocast context by device type, a GradScaler that is off on the CPU
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
device_str = "cuda" if torch.cuda.is_available() else "cpu"
dtype = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float16"
device_type = "cuda" if "cuda" in device_str else "cpu"
ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
ctx = nullcontext() if device_type == "cpu" else torch.amp.autocast(device_type=device_type, dtype=ptdtype)
scaler = torch.cuda.amp.GradScaler(enabled=(dtype == "float16"))
print("dtype:", dtype, "| scaler enabled:", scaler.is_enabled(), "| version ok:", torch.__version__ >= "2.0")

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3)).to(device)
opt = optim.AdamW(model.parameters(), lr=1e-2)
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 8, generator=g).to(device, non_blocking=True)
y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
y = y.to(device)
for step in range(args.steps):
    with ctx:
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad(set_to_none=True)
    if step % 4 == 0:
        print(f"step {step}: loss {loss.item():.4f}")
if device_type == "cuda":
    torch.cuda.synchronize()
    print(torch.cuda.max_memory_allocated())
with torch.no_grad():
    acc = (model(x).argmax(1) == y).float().mean().item()
print(f"train accuracy {acc:.4f}")
