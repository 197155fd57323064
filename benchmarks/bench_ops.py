"""Per-op overhead on 4x4 float32 tensors (where Python dispatch dominates) and a tiny forward+backward.

The common ops of training code (arithmetic, matmul, relu, reductions, softmax, views, indexing,
masked_fill), each without and with a graph recorded (``a`` requires grad)."""
from __future__ import annotations

import numpy as np

import dynagrad


def cases(torch) -> list[tuple[str, dict, int]]:
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 4)).astype(np.float32)
    i_np = np.array([3, 0, 2])
    m_np = np.triu(np.ones((4, 4), bool), 1)
    out = []
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    for grad in (False, True):
        made = {}
        for name, lib in libs.items():
            a = lib.tensor(a_np, requires_grad=grad)
            b = lib.tensor(b_np)
            made[name] = (a, b, lib.tensor(i_np), lib.tensor(m_np))
        suffix = " (a requires grad)" if grad else ""
        ops = {
            "add": lambda a, b, i, m: a + b,
            "mul": lambda a, b, i, m: a * b,
            "matmul": lambda a, b, i, m: a @ b,
            "relu": lambda a, b, i, m: a.relu(),
            "sum": lambda a, b, i, m: a.sum(),
            "mean": lambda a, b, i, m: a.mean(),
            "sum(dim=-1)": lambda a, b, i, m: a.sum(-1),
            "softmax(dim=-1)": lambda a, b, i, m: a.softmax(-1),
            "view": lambda a, b, i, m: a.view(2, 8),
            "transpose": lambda a, b, i, m: a.transpose(0, 1),
            "view+transpose": lambda a, b, i, m: a.view(2, 2, 4).transpose(1, 2),
            "index a[1:3]": lambda a, b, i, m: a[1:3],
            "index a[i] (int tensor)": lambda a, b, i, m: a[i],
            "masked_fill": lambda a, b, i, m: a.masked_fill(m, float("-inf")),
        }
        numpy_ops = {"add": lambda: a_np + b_np, "mul": lambda: a_np * b_np, "matmul": lambda: a_np @ b_np,
                     "relu": lambda: np.maximum(a_np, 0), "sum": lambda: a_np.sum(), "mean": lambda: a_np.mean(),
                     "sum(dim=-1)": lambda: a_np.sum(-1),
                     "view": lambda: a_np.reshape(2, 8), "transpose": lambda: a_np.transpose(1, 0),
                     "view+transpose": lambda: a_np.reshape(2, 2, 4).transpose(0, 2, 1),
                     "index a[1:3]": lambda: a_np[1:3], "index a[i] (int tensor)": lambda: a_np[i_np],
                     "masked_fill": lambda: np.where(m_np, np.float32(-np.inf), a_np)}
        for op, fn in ops.items():
            fns = {name: (lambda fn=fn, ab=ab: fn(*ab)) for name, ab in made.items()}
            if not grad and op in numpy_ops:
                fns["numpy"] = numpy_ops[op]
            out.append((f"{op} 4x4{suffix}", fns, 20000))

    def tiny(lib):
        w = lib.tensor(a_np, requires_grad=True)
        x = lib.tensor(b_np)

        def step():
            y = ((w @ x).relu() * 2 + 1).sum()
            y.backward()
        return step
    out.append(("tiny forward+backward (5 ops)", {name: tiny(lib) for name, lib in libs.items()}, 5000))
    return out
