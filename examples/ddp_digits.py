"""The seed MLP trained data-parallel on the bundled 8x8 digits: each rank trains on its own share of every
epoch (DistributedSampler), DistributedDataParallel averages the gradients, SGD steps the same on every rank.

    dynagrad launch -n 2 examples/ddp_digits.py [--epochs 15] [--batch-size 16]

With 2 ranks and batch 16 each, every step sees 32 images, as `dynagrad train` with batch 32 does.
"""
import argparse

import numpy as np

import dynagrad as torch
import dynagrad.distributed as dist
from dynagrad import nn
from dynagrad.nn.parallel import DistributedDataParallel as DDP
from dynagrad.utils.data import DataLoader, DistributedSampler, TensorDataset
from dynagrad.vision.datasets import load_digits


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    model.train()
    return float((pred == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=16, help="per rank")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    images, labels = load_digits()
    x = torch.from_numpy(images.reshape(-1, 1, 8, 8).astype(np.float32) / 16.0)
    y = torch.from_numpy(labels.astype(np.int64))
    train = TensorDataset(x[:1500], y[:1500])
    x_test, y_test = x[1500:], y[1500:]

    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    ddp = DDP(model)  # rank 0's weights go to every rank
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(train, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"{world} ranks, {len(sampler)} of {len(train)} training images each per epoch, "
              f"batch {args.batch_size} per rank")
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a different shuffle each epoch, the same on every rank
        total = torch.zeros(2)
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(ddp(xb), yb)
            loss.backward()
            opt.step()
            total += torch.tensor([loss.item() * len(yb), len(yb)])
        dist.all_reduce(total)
        if rank == 0:
            print(f"epoch {epoch:>2}: loss {float(total[0] / total[1]):.4f}, "
                  f"test accuracy {accuracy(model, x_test, y_test):.2%}", flush=True)
    mine = list(sampler)
    print(f"rank {rank}: accuracy on its own {len(mine)} training images "
          f"{accuracy(model, x[mine], y[mine]):.2%}, test accuracy {accuracy(model, x_test, y_test):.2%}",
          flush=True)
    dist.barrier()
    if rank == 0:
        print(f"final test accuracy: {accuracy(model, x_test, y_test):.2%}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
