"""Per-op overhead on 4x4 float32 tensors (where Python dispatch dominates) and a tiny forward+backward."""
from __future__ import annotations

import numpy as np

import dynagrad


def cases(torch) -> list[tuple[str, dict, int]]:
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 4)).astype(np.float32)
    out = []
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    for grad in (False, True):
        made = {}
        for name, lib in libs.items():
            a = lib.tensor(a_np, requires_grad=grad)
            b = lib.tensor(b_np)
            made[name] = (a, b)
        suffix = " (a requires grad)" if grad else ""
        ops = {
            "add": lambda a, b: a + b,
            "mul": lambda a, b: a * b,
            "matmul": lambda a, b: a @ b,
            "relu": lambda a, b: a.relu(),
            "sum": lambda a, b: a.sum(),
        }
        for op, fn in ops.items():
            fns = {name: (lambda fn=fn, ab=ab: fn(*ab)) for name, ab in made.items()}
            if not grad:
                fns["numpy"] = {"add": lambda: a_np + b_np, "mul": lambda: a_np * b_np,
                                "matmul": lambda: a_np @ b_np, "relu": lambda: np.maximum(a_np, 0),
                                "sum": lambda: a_np.sum()}[op]
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
