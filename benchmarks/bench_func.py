"""Function transforms: vmap against a Python loop over the examples, dynagrad and torch.func side by side.

    python -m benchmarks --only func      # the table, with the other suites' layout
    python -m benchmarks.bench_func       # also prints how much faster vmap is than the loop

Cases: per-sample gradients of the seed MLP (784-128-64-10, batch 64) with ``vmap(grad(loss))`` over
``functional_call``; Jacobians of an ODE right-hand side at 256 states with ``vmap(jacrev(f))``; a
per-example function (a small MLP on 256 rows) with ``vmap(f)``; the Hessian of a small network.
"""
from __future__ import annotations

import numpy as np

import dynagrad


def _mlp(lib, F, sizes=(784, 128, 64, 10)):
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(sizes[0], sizes[1])
            self.fc2 = nn.Linear(sizes[1], sizes[2])
            self.fc3 = nn.Linear(sizes[2], sizes[3])

        def forward(self, x):
            x = x.view(-1, sizes[0])
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return MLP()


def _per_sample(lib, x_np, y_np, weights):
    F = lib.nn.functional
    func = lib.func
    model = _mlp(lib, F)
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = lib.tensor(x_np), lib.tensor(y_np)

    def loss(p, xi, yi):
        return F.cross_entropy(func.functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
    per_sample = func.vmap(func.grad(loss), in_dims=(None, 0, 0))

    def vmapped():
        return per_sample(params, x, y)

    def loop():
        out = []
        for i in range(x.shape[0]):
            model.zero_grad()
            F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
            out.append([p.grad.clone() for p in model.parameters()])
        return out
    return vmapped, loop


def _rhs(lib):
    def f(u, p):  # Lotka-Volterra, predator-prey
        return lib.stack([p[0] * u[0] - p[1] * u[0] * u[1], p[3] * u[0] * u[1] - p[2] * u[1]])
    return f


def _ode(lib, us_np, p_np):
    func = lib.func
    us, p = lib.tensor(us_np), lib.tensor(p_np)
    jac = func.jacrev(_rhs(lib))
    batched = func.vmap(jac, in_dims=(0, None))

    def vmapped():
        return batched(us, p)

    def loop():
        return [jac(us[i], p) for i in range(us.shape[0])]
    return vmapped, loop


def _rows(lib, x_np, w1_np, w2_np):
    func = lib.func
    x, w1, w2 = lib.tensor(x_np), lib.tensor(w1_np), lib.tensor(w2_np)

    def f(r):
        return ((r @ w1).tanh() @ w2).softmax(-1)
    batched = func.vmap(f)

    def vmapped():
        return batched(x)

    def loop():
        return [f(x[i]) for i in range(x.shape[0])]
    return vmapped, loop


def _hessian(lib, w_np, x_np):
    func = lib.func
    w, x = lib.tensor(w_np), lib.tensor(x_np)

    def f(w):
        return ((x @ w).tanh() ** 2).sum()
    h = func.hessian(f)
    return lambda: h(w)


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i, (a, b) in enumerate(((784, 128), (128, 64), (64, 10)), 1):
        bound = 1 / np.sqrt(a)
        out[f"fc{i}.weight"] = rng.uniform(-bound, bound, (b, a)).astype(np.float32)
        out[f"fc{i}.bias"] = rng.uniform(-bound, bound, (b,)).astype(np.float32)
    return out


def cases(torch) -> list[tuple[str, dict, int]]:
    rng = np.random.default_rng(0)
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    weights = _weights()
    us = rng.uniform(0.5, 2.0, (256, 2))
    p = rng.uniform(0.5, 2.0, 4)
    rows = rng.standard_normal((256, 16)).astype(np.float32)
    w1 = rng.standard_normal((16, 32)).astype(np.float32)
    w2 = rng.standard_normal((32, 8)).astype(np.float32)
    hw = rng.standard_normal((6, 4))
    hx = rng.standard_normal((10, 6))
    out = []
    for label, make, number in (("per-sample grads MLP 784-128-64-10 b64",
                                 lambda lib: _per_sample(lib, x, y, weights), 10),
                                ("ODE rhs Jacobians, 256 states", lambda lib: _ode(lib, us, p), 10),
                                ("small MLP on 256 rows", lambda lib: _rows(lib, rows, w1, w2), 20)):
        made = {name: make(lib) for name, lib in libs.items()}
        out.append((f"{label}: vmap", {name: m[0] for name, m in made.items()}, number))
        out.append((f"{label}: loop", {name: m[1] for name, m in made.items()}, max(1, number // 4)))
    out.append(("hessian of tanh-net (6x4 weights)", {name: _hessian(lib, hw, hx) for name, lib in libs.items()},
                20))
    return out


def main() -> None:
    import os
    import sys

    from . import harness
    # as python -m benchmarks: without this machine's OpenBLAS overrides; and one BLAS thread for both
    # frameworks, so that a loaded machine disturbs the comparison less
    if (any(v in os.environ for v in harness.BLAS_VARS) or os.environ.get("OPENBLAS_NUM_THREADS") != "1") and \
            not os.environ.get("DYNAGRAD_BENCH_KEEP_BLAS_ENV"):
        env = {k: v for k, v in os.environ.items() if k not in harness.BLAS_VARS}
        env["OPENBLAS_NUM_THREADS"] = "1"
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.bench_func", *sys.argv[1:]], env)
    torch = harness.torch_or_none()
    if torch is not None:
        torch.set_num_threads(1)
    results = [harness.time_case(name, fns, n, 7) for name, fns, n in cases(torch)]
    frameworks = [fw for fw in ("dynagrad", "torch") if any(fw in r.times for r in results)]
    print(harness.table(results, frameworks))
    print()
    by_name = {r.name: r for r in results}
    for r in results:
        if not r.name.endswith(": vmap"):
            continue
        loop = by_name[r.name[:-len(": vmap")] + ": loop"]
        for fw in frameworks:
            if fw in r.times and fw in loop.times:
                (vm, vmin), (lm, lmin) = r.stat(fw), loop.stat(fw)
                print(f"{r.name[:-6]:40s} {fw:9s} vmap {harness.fmt_time(vm)}  loop {harness.fmt_time(lm)}  "
                      f"vmap is {lm / vm:5.1f}x faster than the loop (medians; {lmin / vmin:5.1f}x on minimums)")
        if "torch" in r.times:
            print(f"{'':40s} dynagrad vmap time / torch.func.vmap time: "
                  f"{r.stat('dynagrad')[0] / r.stat('torch')[0]:.2f}x (medians), "
                  f"{r.stat('dynagrad')[1] / r.stat('torch')[1]:.2f}x (minimums)")


if __name__ == "__main__":
    main()
