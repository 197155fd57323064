"""tqdm progress bars over a DataLoader while training (bars written to stdout without timings, so they compare)."""
import sys

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm, trange
from tqdm.auto import tqdm as auto_tqdm

torch.manual_seed(0)
x = torch.randn(40, 3)
y = (x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1).unsqueeze(1)
loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
model = nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
fmt = "{desc}: {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt}{postfix}"

for epoch in trange(2, desc="epochs", file=sys.stdout, bar_format=fmt, ascii=True):
    bar = tqdm(loader, desc=f"epoch {epoch}", file=sys.stdout, bar_format=fmt, ascii=True, mininterval=0,
               leave=True)
    for xb, yb in bar:
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    print()
    print("batches", bar.n, "of", len(loader), "last loss", round(loss.item(), 4))

with auto_tqdm(total=len(loader.dataset), file=sys.stdout, bar_format=fmt, ascii=True, desc="eval") as pbar:
    with torch.no_grad():
        for xb, _ in loader:
            pbar.update(len(xb))
print()
print("weights", [round(v, 4) for v in model.weight.flatten().tolist()])
print("tqdm over a tensor:", sum(1 for _ in tqdm(torch.arange(5), file=sys.stdout, disable=True)))
