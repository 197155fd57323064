"""``dynagrad train``: train a seed model on the bundled 8x8 digits, with a progress bar, a summary table, a
checkpoint, a drawing of the model's graph, TensorBoard logs (when tensorboardX is installed) and the test
accuracy.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

MODELS = {}


def model(name: str, help_: str):
    def register(fn):
        MODELS[name] = (fn, help_)
        return fn
    return register


@model("mlp", "the seed MLP (784-128-64-10 on MNIST; here 64-128-64-10 on 8x8 digits)")
def _mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


@model("cnn", "a small ConvNet: two 3x3 convolutions, max pooling, two linear layers")
def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))


@model("rnn", "the seed RNN classifier: image rows as an 8-step sequence, nn.RNN then a linear layer")
def _rnn(nn):
    class RNNClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(8, 64, batch_first=True)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            out, _ = self.rnn(x.reshape(x.shape[0], 8, 8))
            return self.fc(out[:, -1])
    return RNNClassifier()


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--model", default="mlp", choices=sorted(MODELS),
                    help="; ".join(f"{k}: {v[1]}" for k, v in sorted(MODELS.items())))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0, help="seed of the 80/20 train/test split")
    ap.add_argument("--out", default="checkpoints", help="folder for the checkpoint and the graph drawing")
    ap.add_argument("--logdir", default="runs", help="TensorBoard log folder (needs tensorboardX)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars (e.g. in CI logs)")


def _load_data(seed: int = 0):
    """The 1,797 digits, split 80/20 by a seeded shuffle (the file's own order puts the hardest writers
    last), scaled to [0, 1]."""
    from .vision.datasets import load_digits
    images, labels = load_digits()
    x = images.reshape(len(images), 1, 8, 8).astype(np.float32) / 16.0
    y = labels.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    tr, te = order[:cut], order[cut:]
    return (x[tr], y[tr]), (x[te], y[te])


def _accuracy(model, x, y, torch) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    model.train()
    return float((pred == y).mean())


def _table(rows) -> str:
    head = f"{'epoch':>5} | {'train loss':>10} | {'train acc':>9} | {'test acc':>8} | {'time':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['epoch']:>5} | {r['loss']:>10.4f} | {r['train_acc']:>8.2%} | {r['test_acc']:>7.2%} | "
                     f"{r['time']:>6.2f}s")
    return "\n".join(lines)


def main(args) -> int:
    from tqdm import tqdm

    import dynagrad as torch
    from dynagrad import nn
    from dynagrad.utils.data import DataLoader, TensorDataset

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    (xtr, ytr), (xte, yte) = _load_data(args.split_seed)
    build = MODELS[args.model][0]
    net = build(nn)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)), batch_size=args.batch_size,
                        shuffle=True, generator=gen)
    writer = _tensorboard(args)
    n_params = sum(p.numel() for p in net.parameters())
    print(f"dynagrad {torch.version.dynagrad_version}: training {args.model} ({n_params:,} parameters) on the 8x8 "
          f"digits ({len(xtr)} train / {len(xte)} test images) for {args.epochs} epochs")
    rows = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch:>2}/{args.epochs}", leave=False, disable=args.no_progress,
                   unit="batch")
        for xb, yb in bar:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            seen += len(yb)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        row = {"epoch": epoch, "loss": total / seen, "train_acc": _accuracy(net, xtr, ytr, torch),
               "test_acc": _accuracy(net, xte, yte, torch), "time": time.perf_counter() - t0}
        rows.append(row)
        if args.no_progress:
            print(f"epoch {epoch:>2}: loss {row['loss']:.4f}, test accuracy {row['test_acc']:.2%}")
        if writer is not None:
            for k in ("loss", "train_acc", "test_acc"):
                writer.add_scalar(k, row[k], epoch)
    elapsed = time.perf_counter() - start
    print(_table(rows))
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, f"{args.model}.pt")
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": args.epochs,
                "model_name": args.model, "test_accuracy": rows[-1]["test_acc"]}, ckpt)
    drawing = _draw_graph(net, loss_fn, xtr[:2], ytr[:2], args, torch)
    if writer is not None:
        writer.close()
    print(f"checkpoint: {ckpt}" + (f"; graph drawing: {drawing}" if drawing else ""))
    print(f"final test accuracy: {rows[-1]['test_acc']:.2%} ({elapsed:.1f}s)")
    return 0


def _tensorboard(args):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(os.path.join(args.logdir, args.model))


def _draw_graph(net, loss_fn, x, y, args, torch) -> str | None:
    from . import viz
    loss = loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y))
    params = dict(net.named_parameters())
    base = os.path.join(args.out, f"{args.model}_graph")
    dot = viz.make_dot(loss, params=params)
    path = base + ".dot"
    with open(path, "w") as f:
        f.write(dot.source)
    with open(base + ".mmd", "w") as f:
        f.write(viz.to_mermaid(loss, params=params))
    try:
        path = dot.render(base, format="svg")
    except Exception:  # rendering needs Graphviz's `dot`; the text forms are written regardless
        pass
    return path
