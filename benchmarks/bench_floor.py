"""The BLAS floor of a training step: its matrix products alone, in NumPy's BLAS and in PyTorch's.

dynagrad computes every product with NumPy's BLAS (OpenBLAS in NumPy's wheels); PyTorch's CPU wheel uses
MKL. When a workload's step is mostly products, no amount of work on dynagrad's own Python can take it below
the time its BLAS needs for them. This suite measures that bound for each model workload: PyTorch's
profiler records the shapes of every ``mm``/``addmm``/``bmm``/``baddbmm`` one step runs (forward and
backward), then the same products on float32 arrays of those shapes are timed in NumPy and in PyTorch,
alternating, at the same thread count, next to both frameworks' whole steps.

Two ratios come out of it: ``products only`` (NumPy's products over PyTorch's whole step: the ratio
dynagrad would reach if everything but the products took no time) and ``rest at PyTorch's speed`` (NumPy's
products plus PyTorch's own non-product time, over PyTorch's step: what dynagrad reaches when every other op
is exactly as fast as PyTorch's). Attention inside PyTorch's fused SDPA kernel is not a recorded product;
its share stays in PyTorch's rest.
"""
from __future__ import annotations

import collections

import numpy as np

from . import harness

PRODUCTS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def product_shapes(step, torch) -> collections.Counter:
    """Counter of the products one call of ``step`` runs: ("mm", shape of a, shape of b) for matrix products
    and ("conv", input shape, weight shape, stride, padding, dilation, groups, needs input grad) for
    convolutions (forward and backward counted as one)."""
    from torch.profiler import ProfilerActivity, profile
    step()  # warm: optimizer state exists, as in every later step
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    found = collections.Counter()
    backward_masks = []
    for ev in prof.events():
        if ev.name in PRODUCTS:
            shapes = [tuple(s) for s in ev.input_shapes if s]
            found[("mm", shapes[-2], shapes[-1])] += 1  # addmm and baddbmm take (bias, a, b)
        elif ev.name == "aten::convolution_backward":
            backward_masks.append(bool(ev.concrete_inputs[-1][0]))
    convs = [ev for ev in prof.events() if ev.name == "aten::convolution"]
    # the backwards run in reverse order of the forwards; the mask says whether the input's gradient is
    # wanted (not for the first layer, whose input is data)
    masks = list(reversed(backward_masks)) if len(backward_masks) == len(convs) else [True] * len(convs)
    for ev, needs_input in zip(convs, masks):
        x, w = (tuple(s) for s in ev.input_shapes[:2])
        stride, padding, dilation, transposed, _, groups = ev.concrete_inputs[3:9]
        if transposed or len(x) != 4:
            raise ValueError(f"the floor handles 2-d convolutions only, not one on an input of shape {x}")
        found[("conv", x, w, tuple(stride), tuple(padding), tuple(dilation), groups, needs_input)] += 1
    return found


def _im2col_gemms(x, w, stride, padding, dilation, groups, needs_input):
    """The (a shape, b shape) products an im2col convolution runs, forward and backward, per group."""
    n, c, h, wd = x
    oc, cg, kh, kw = w
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    m, k, o = n * oh * ow, cg * kh * kw, oc // groups
    gemms = [((m, k), (k, o)), ((k, m), (m, o))]  # forward; weight gradient
    if needs_input:
        gemms.append(((m, o), (o, k)))
    return gemms * groups


def _product_fns(shapes: collections.Counter, torch):
    rng = np.random.default_rng(0)
    arrays, kernels = [], []
    for key, count in shapes.items():
        if key[0] == "mm":
            pairs = [(key[1], key[2])]
            tfn = _torch_mm(torch, rng, key[1], key[2])
        else:
            pairs = _im2col_gemms(*key[1:])
            tfn = _torch_conv(torch, rng, *key[1:])
        for a, b in pairs:
            arrays.append((rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32), count))
        kernels.append((tfn, count))

    def numpy_products():
        for a, b, count in arrays:
            for _ in range(count):
                np.matmul(a, b)

    def torch_products():
        for fn, count in kernels:
            for _ in range(count):
                fn()
    return numpy_products, torch_products


def _torch_mm(torch, rng, a, b):
    ta = torch.from_numpy(rng.standard_normal(a, dtype=np.float32))
    tb = torch.from_numpy(rng.standard_normal(b, dtype=np.float32))
    return lambda: torch.matmul(ta, tb)


def _torch_conv(torch, rng, x, w, stride, padding, dilation, groups, needs_input):
    """PyTorch's convolution forward and backward (oneDNN on its CPU wheel) on these shapes."""
    tx = torch.from_numpy(rng.standard_normal(x, dtype=np.float32)).requires_grad_(needs_input)
    tw = torch.from_numpy(rng.standard_normal(w, dtype=np.float32)).requires_grad_()
    wanted = (tx, tw) if needs_input else (tw,)

    def run():
        out = torch.nn.functional.conv2d(tx, tw, None, stride, padding, dilation, groups)
        torch.autograd.grad(out, wanted, torch.ones_like(out))
    return run


def measure(name: str, steps: dict, torch, threads: int, repeats: int = 5) -> dict:
    """One workload's floor at ``threads``: step and product times (medians of alternating repeats)."""
    shapes = product_shapes(steps["torch"], torch)
    numpy_products, torch_products = _product_fns(shapes, torch)
    fns = {"dynagrad step": steps["dynagrad"], "torch step": steps["torch"],
           "numpy products": numpy_products, "torch products": torch_products}
    res = harness.time_case(name, fns, 1, repeats, threads=threads)
    med = {k: res.stat(k)[0] for k in fns}
    return {"workload": name, "threads": threads, "products": sum(shapes.values()),
            "distinct_shapes": len(shapes), **{k.replace(" ", "_") + "_s": v for k, v in med.items()}}


def workloads(torch) -> list[tuple[str, dict]]:
    """(name, {framework: step}) of the training-step workloads: the seed convolutions, the LSTM LM and the
    model workloads of bench_models."""
    from . import bench_conv, bench_models, bench_seq
    picked = [(name, fns) for name, fns, _ in bench_conv.cases(torch) + bench_seq.cases(torch)
              if name.startswith(("seed ConvNet step", "seed ResNet step", "LSTM LM train step"))]
    return picked + [(name, fns) for name, fns, _ in bench_models.cases(torch)]


def floors(torch, threads: int, repeats: int = 5) -> list[dict]:
    return [measure(name, fns, torch, threads, repeats) for name, fns in workloads(torch)]


def ratios(row: dict) -> tuple[float, float, float]:
    """(dynagrad step / torch step, products only, rest at PyTorch's speed), all over PyTorch's step."""
    ts = row["torch_step_s"]
    rest = max(ts - row["torch_products_s"], 0.0)
    return row["dynagrad_step_s"] / ts, row["numpy_products_s"] / ts, (row["numpy_products_s"] + rest) / ts


def table(rows: list[dict]) -> str:
    lines = ["| workload | threads | products per step | PyTorch step | PyTorch's products | NumPy's products "
             "| dynagrad / PyTorch | floor: products only | floor: rest at PyTorch's speed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        now, only, rest = ratios(r)
        lines.append(f"| {r['workload']} | {r['threads']} | {r['products']} | "
                     f"{harness.fmt_time(r['torch_step_s'])} | {harness.fmt_time(r['torch_products_s'])} | "
                     f"{harness.fmt_time(r['numpy_products_s'])} | {now:.2f}x | {only:.2f}x | {rest:.2f}x |")
    return "\n".join(lines)
