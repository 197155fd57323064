"""A Hogwild trainer (the mnist_hogwild pattern): the parent shares one model, every process trains it with its
own optimizer, the parent sees the trained weights. Run: python hogwild.py [spawn|fork|forkserver]."""
import sys

import dynagrad as torch
import dynagrad.multiprocessing as mp
import dynagrad.nn as nn
import dynagrad.nn.functional as F
import dynagrad.optim as optim
from dynagrad.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def make_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 20, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return TensorDataset(x, y)


def train(rank, model, dataset, w, lock, steps):
    assert all(p.is_shared() for p in model.parameters()), "the child's parameters are not in shared memory"
    assert all(type(p) is nn.Parameter and p.requires_grad and p.grad is None for p in model.parameters())
    torch.manual_seed(1 + rank)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    for _ in range(3):
        for data, target in DataLoader(dataset, batch_size=32, shuffle=True):
            optimizer.zero_grad()
            F.nll_loss(model(data), target).backward()
            optimizer.step()
    assert all(p.is_shared() for p in model.parameters()), "the optimizer's step moved a parameter out"
    # an exact check of sharing: constant gradients, steps serialised by a lock
    assert type(w) is nn.Parameter and w.is_shared()
    opt = optim.SGD([w, model.fc2.bias], lr=0.5)  # two parameters: the flat-buffer path
    for _ in range(steps):
        with lock:
            opt.zero_grad()
            (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
            opt.step()


def accuracy(model, dataset):
    with torch.no_grad():
        x, y = dataset.tensors
        return (model(x).argmax(1) == y).float().mean().item()


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else "spawn"
    mp.set_start_method(method, force=True)
    torch.manual_seed(1)
    model = Net()
    model.share_memory()
    dataset = make_data()
    before = accuracy(model, dataset)
    lock = mp.Lock()
    w = nn.Parameter(torch.zeros(3))  # spawn moves it into shared memory when it is sent to the children
    if method == "fork":
        w.share_memory_()  # fork sends nothing: only memory shared before the fork is shared
    procs = [mp.Process(target=train, args=(rank, model, dataset, w, lock, 5)) for rank in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    after = accuracy(model, dataset)
    print(f"accuracy before {before:.2f} after {after:.2f}")
    assert after > 0.7 and after > before + 0.2
    assert w.is_shared()
    print("exact shared steps:", w.tolist())  # 2 processes x 5 steps x lr 0.5 x [1, 2, 3]
    assert w.tolist() == [-5.0, -10.0, -15.0]
