"""``dynagrad train``: train a seed model on the bundled 8x8 digits. It shows a progress bar per epoch (one
table row per epoch when stderr is not a terminal) and writes a checkpoint, the training curves as a PNG,
drawings of the model's graph and TensorBoard logs, and says where each is.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import OrderedDict

import numpy as np

MODELS = {}


def model(name: str, help_: str):
    def register(fn):
        MODELS[name] = (fn, help_)
        return fn
    return register


@model("mlp", "the seed MLP (784-128-64-10 on MNIST; here 64-128-64-10 on 8x8 digits)")
def _mlp(nn):
    return nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc1", nn.Linear(64, 128)), ("relu1", nn.ReLU()),
                                      ("fc2", nn.Linear(128, 64)), ("relu2", nn.ReLU()), ("fc3", nn.Linear(64, 10))]))


@model("cnn", "a small ConvNet: two 3x3 convolutions, max pooling, two linear layers")
def _cnn(nn):
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 16, 3, padding=1)), ("relu1", nn.ReLU()), ("conv2", nn.Conv2d(16, 32, 3, padding=1)),
        ("relu2", nn.ReLU()), ("pool", nn.MaxPool2d(2)), ("flatten", nn.Flatten()), ("fc1", nn.Linear(32 * 4 * 4, 64)),
        ("relu3", nn.ReLU()), ("fc2", nn.Linear(64, 10))]))


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


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--model", default="mlp", choices=sorted(MODELS),
                    help="; ".join(f"{k}: {v[1]}" for k, v in sorted(MODELS.items())))
    ap.add_argument("--epochs", type=_positive(int), default=15, help="passes over the training images")
    ap.add_argument("--batch-size", type=_positive(int), default=32, help="images per optimizer step")
    ap.add_argument("--lr", type=_positive(float), default=0.05, help="SGD learning rate")
    ap.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batch order")
    ap.add_argument("--split-seed", type=int, default=0, help="seed of the 80/20 train/test split")
    ap.add_argument("--out", default="checkpoints",
                    help="folder for the checkpoint, the training curves and the graph drawings")
    ap.add_argument("--logdir", default="runs",
                    help="TensorBoard log folder; each run writes to its own subfolder MODEL_DATE-TIME")
    ap.add_argument("--no-tensorboard", action="store_true", help="write no TensorBoard logs")
    ap.add_argument("--no-progress", action="store_true",
                    help="no progress bars (they are off anyway when stderr is not a terminal)")


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


def _evaluate(model, loss_fn, x, y, torch) -> tuple[float, float]:
    """(mean loss, accuracy) on all of ``x`` in eval mode without grad."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
        loss = loss_fn(logits, torch.from_numpy(y)).item()
        pred = logits.argmax(1).numpy()
    model.train()
    return loss, float((pred == y).mean())


_HEAD = (f"{'epoch':>5} | {'train loss':>10} | {'test loss':>9} | {'train acc':>9} | {'test acc':>8} | "
         f"{'time':>6} | {'images/s':>8}")


def _row(r: dict) -> str:
    return (f"{r['epoch']:>5} | {r['loss']:>10.4f} | {r['test_loss']:>9.4f} | {r['train_acc']:>8.2%} | "
            f"{r['test_acc']:>7.2%} | {r['time']:>5.2f}s | {r['rate']:>8,.0f}")


def _bar(args, epoch: int, total: int):
    """The progress bar of one epoch: redrawn at every batch (an epoch of the MLP lasts a few hundredths of a
    second, which tqdm's default 0.1 s between redraws would never show), and only on a terminal."""
    from tqdm import tqdm
    on = not args.no_progress and sys.stderr.isatty()
    return tqdm(total=total, desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False, disable=not on,
                mininterval=0, miniters=1, dynamic_ncols=True, file=sys.stderr)


def main(args) -> int:
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
    n_params = sum(p.numel() for p in net.parameters())
    print(f"dynagrad {torch.version.dynagrad_version}: training {args.model} ({n_params:,} parameters) on the 8x8 "
          f"digits ({len(xtr)} train / {len(xte)} test images) for {args.epochs} epochs", flush=True)
    writer, logdir, tb_note = _tensorboard(args, net, torch.from_numpy(xtr[:args.batch_size]))
    if writer is not None:
        print(f"TensorBoard logs: {logdir} (view them: {_tensorboard_command(args.logdir)})", flush=True)
    else:
        print(f"TensorBoard logs: none ({tb_note})", flush=True)
    print(_HEAD + "\n" + "-" * len(_HEAD), flush=True)
    rows = []
    step = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        bar = _bar(args, epoch, len(loader))
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            value = loss.item()
            total += value * len(yb)
            seen += len(yb)
            step += 1
            if writer is not None:
                writer.add_scalar("Loss/train_batch", value, step)
            if not bar.disable:
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                bar.set_postfix_str(f"loss={total / seen:.4f}, {rate:,.0f} img/s", refresh=False)
                bar.update(1)
        bar.close()
        train_time = time.perf_counter() - t0
        _, train_acc = _evaluate(net, loss_fn, xtr, ytr, torch)
        test_loss, test_acc = _evaluate(net, loss_fn, xte, yte, torch)
        row = {"epoch": epoch, "loss": total / seen, "test_loss": test_loss, "train_acc": train_acc,
               "test_acc": test_acc, "time": time.perf_counter() - t0, "rate": seen / max(train_time, 1e-9)}
        rows.append(row)
        print(_row(row), flush=True)
        if writer is not None:
            _log_epoch(writer, net, row)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, f"{args.model}.pt")
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": args.epochs,
                "model_name": args.model, "test_accuracy": rows[-1]["test_acc"]}, ckpt)
    curves = os.path.join(args.out, f"{args.model}_curves.png")
    from . import _plot
    drawn_by = _plot.training_curves(rows, curves, f"{args.model}: test accuracy {rows[-1]['test_acc']:.2%} after "
                                                    f"{args.epochs} epochs")
    drawings = _draw_graph(net, loss_fn, xtr[:2], ytr[:2], args, torch)
    if writer is not None:
        writer.add_hparams({"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                            "momentum": args.momentum, "seed": args.seed},
                           {"hparam/test_accuracy": rows[-1]["test_acc"], "hparam/test_loss": rows[-1]["test_loss"]},
                           run_name="hparams")
        writer.close()

    print("\nwritten:")
    print(f"  checkpoint:       {ckpt}  (torch.load reads it, in dynagrad or PyTorch; `dynagrad inspect {ckpt}` "
          f"lists it)")
    if drawn_by == "matplotlib":
        print(f"  training curves:  {curves}")
    else:
        print(f"  training curves:  {curves}  (drawn by dynagrad's built-in plotter; `pip install matplotlib` "
              f"to have matplotlib draw it)")
    shown = drawings["rendered"] + [drawings["dot"], drawings["mmd"]]
    print(f"  graph drawings:   {', '.join(shown)}")
    if drawings["hint"]:
        print(f"                    {drawings['hint']}")
    if writer is not None:
        print(f"  TensorBoard logs: {logdir}  (view them: {_tensorboard_command(args.logdir)})")
    else:
        print(f"  TensorBoard logs: none ({tb_note})")
    print(f"final test accuracy: {rows[-1]['test_acc']:.2%} ({args.epochs} epochs in {elapsed:.1f}s, {cpu:.1f}s of "
          f"CPU time)")
    return 0


def _tensorboard_command(logdir: str) -> str:
    cmd = f"tensorboard --logdir {logdir}"
    if shutil.which("tensorboard") is None:  # tensorboardX writes the logs; the viewer is a separate package
        return f"pip install tensorboard, then {cmd}"
    return cmd


def _tensorboard(args, net, example):
    """(SummaryWriter, its folder, None), or (None, None, why not), with the model's graph logged."""
    if args.no_tensorboard:
        return None, None, "--no-tensorboard"
    try:
        from .utils.tensorboard import SummaryWriter
    except ImportError as e:
        return None, None, str(e)
    from datetime import datetime
    logdir = os.path.join(args.logdir, f"{args.model}_{datetime.now():%Y%m%d-%H%M%S}")
    writer = SummaryWriter(logdir)
    writer.add_graph(net, example)
    writer.add_text("command", "dynagrad train " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in sorted(vars(args).items())
        if k in ("model", "epochs", "batch_size", "lr", "momentum", "seed", "split_seed")))
    return writer, logdir, None


def _log_epoch(writer, net, row: dict) -> None:
    e = row["epoch"]
    writer.add_scalar("Loss/train", row["loss"], e)
    writer.add_scalar("Loss/test", row["test_loss"], e)
    writer.add_scalar("Accuracy/train", row["train_acc"], e)
    writer.add_scalar("Accuracy/test", row["test_acc"], e)
    for name, p in net.named_parameters():
        writer.add_histogram(f"weights/{name}", p, e, bins=64)  # TensorFlow's ~1,500 default buckets: 10x the file


def _draw_graph(net, loss_fn, x, y, args, torch) -> dict:
    """The graph of one loss, each op labelled with its module and line, as .dot and .mmd (and .svg with
    Graphviz)."""
    from . import viz
    with viz.record_modules(net):
        loss = loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y))
    return viz.save_drawings(loss, os.path.join(args.out, f"{args.model}_graph"), params=dict(net.named_parameters()))
