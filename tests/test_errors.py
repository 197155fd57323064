"""Errors: each is the exception type PyTorch raises, and its message names the op, the shapes and the line
of the user's program that caused it (here: this file and the line of the offending statement)."""
from __future__ import annotations

import inspect
import re

import pytest

import dynagrad

HERE = "test_errors.py"


def _next_line() -> int:
    """The line number after the caller's current line (where the statement under test is)."""
    return inspect.currentframe().f_back.f_lineno + 1


def _assert_names(msg: str, *parts, line: int | None = None):
    for p in parts:
        assert p in msg, f"{p!r} not in the message: {msg}"
    if line is not None:
        assert f"{HERE}:{line}" in msg, f"{HERE}:{line} not in the message: {msg}"


def test_second_backward_through_freed_graph():
    x = dynagrad.randn(3, 4, requires_grad=True)
    op_line = _next_line()
    y = x.exp()
    z = y.sum()
    backward_line = _next_line()
    z.backward()
    with pytest.raises(RuntimeError) as e:
        z.backward()
    msg = str(e.value)
    _assert_names(msg, "backward through the graph a second time", "ExpBackward0", "retain_graph=True",
                  line=op_line)
    assert f"{HERE}:{backward_line}" in msg  # and where the first backward freed it
    assert "y = x.exp()" in msg  # the user's code itself


def test_saved_values_are_kept_with_retain_graph():
    x = dynagrad.randn(3, requires_grad=True)
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    g = x.grad.clone()
    assert dynagrad.allclose(g, 2 * (x.exp() * (1 + x)).detach())


def test_second_backward_message_names_shapes():
    x = dynagrad.randn(3, 4, requires_grad=True)
    z = x.exp().sum()
    z.backward()
    with pytest.raises(RuntimeError, match=re.escape("[3, 4]")):
        z.backward()


def test_saved_tensor_changed_in_place():
    a = dynagrad.randn(3, 5, requires_grad=True)
    b = a * 2
    save_line = _next_line()
    c = b * b
    change_line = _next_line()
    b.add_(1)
    with pytest.raises(RuntimeError) as e:
        c.sum().backward()
    msg = str(e.value)
    _assert_names(msg, "modified by an inplace operation", "MulBackward0", "[3, 5]", "version 1",
                  "expected version 0", line=save_line)
    assert f"{HERE}:{change_line}" in msg and "b.add_(1)" in msg


def test_saved_output_changed_in_place():
    w = dynagrad.randn(4, requires_grad=True)
    line = _next_line()
    s = w.sigmoid()
    t = s * 3  # noqa: F841 - keeps the graph alive
    s.mul_(2)
    with pytest.raises(RuntimeError) as e:
        s.sum().backward()
    _assert_names(str(e.value), "SigmoidBackward0", "[4]", line=line)


def test_saved_leaf_changed_under_no_grad():
    w = dynagrad.randn(2, 3, requires_grad=True)
    line = _next_line()
    f = w * w
    with dynagrad.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError) as e:
        f.sum().backward()
    _assert_names(str(e.value), "MulBackward0", "[2, 3]", "leaf", line=line)


def test_change_through_a_view_is_seen():
    x = dynagrad.randn(4, requires_grad=True)
    y = x * 1
    line = _next_line()
    z = y * y
    y[1:].zero_()  # a view shares the version counter
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    _assert_names(str(e.value), "MulBackward0", line=line)


def test_backward_on_non_scalar_without_gradient():
    x = dynagrad.randn(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as e:
        y.backward()
    _assert_names(str(e.value), "grad can be implicitly created only for scalar outputs", "[3]")
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        dynagrad.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        dynagrad.ones(2).sum().backward()


def test_backward_on_non_scalar_names_op_and_line():
    x = dynagrad.randn(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as e:
        line = _next_line()
        y.backward()
    _assert_names(str(e.value), "MulBackward0", "[3]", line=line)


@pytest.mark.parametrize("how", ["add_", "mul_", "setitem", "zero_", "fill_", "exp_", "clamp_", "uniform_",
                                 "copy_", "iadd"])
def test_inplace_on_leaf_that_requires_grad(how):
    x = dynagrad.randn(2, 3, requires_grad=True)
    ops = {"add_": lambda: x.add_(1), "mul_": lambda: x.mul_(2), "setitem": lambda: x.__setitem__(0, 1.0),
           "zero_": lambda: x.zero_(), "fill_": lambda: x.fill_(2.0), "exp_": lambda: x.exp_(),
           "clamp_": lambda: x.clamp_(0, 1), "uniform_": lambda: x.uniform_(),
           "copy_": lambda: x.copy_(x * 2),
           "iadd": lambda: x.__iadd__(1)}
    line = ops[how].__code__.co_firstlineno  # the user's line is the innermost frame outside dynagrad
    with pytest.raises(RuntimeError) as e:
        ops[how]()
    name = {"setitem": "index_put_", "zero_": "fill_", "iadd": "add_"}.get(how, how)
    _assert_names(str(e.value), "a leaf Variable that requires grad is being used in an in-place operation",
                  name, "[2, 3]", line=line)
    with dynagrad.no_grad():  # the way to update parameters
        x.add_(1)
        x[0] = 0.0
        x.zero_()


def test_inplace_on_view_of_leaf():
    x = dynagrad.randn(2, 3, requires_grad=True)
    v = x[0]
    with pytest.raises(RuntimeError) as e:
        line = _next_line()
        v.mul_(2)
    _assert_names(str(e.value), "view of a leaf Variable", "mul_", "[3]", "[2, 3]", line=line)


@pytest.mark.parametrize("op,sa,sb,names", [
    ("matmul", (3, 4), (5, 6), ["matmul", "3x4", "5x6"]),
    ("matmul", (2, 3, 4), (3, 5, 6), ["matmul", "[2, 3, 4]", "[3, 5, 6]"]),
    ("matmul", (4,), (5,), ["matmul", "[4]", "[5]"]),
    ("matmul", (3, 4), (5,), ["matmul", "[3, 4]", "[5]"]),
    ("mm", (3, 4), (3, 4), ["mm", "3x4"]),
    ("bmm", (2, 3, 4), (2, 5, 6), ["bmm", "[2, 4]", "[2, 5]"]),
    ("@", (2, 2, 3), (2, 4, 5), ["matmul", "[2, 2, 3]", "[2, 4, 5]"]),
])
def test_matmul_shape_mismatch(op, sa, sb, names):
    a, b = dynagrad.randn(*sa, requires_grad=True), dynagrad.randn(*sb)
    fn = {"matmul": dynagrad.matmul, "mm": dynagrad.mm, "bmm": dynagrad.bmm, "@": lambda x, y: x @ y}[op]
    with pytest.raises(RuntimeError) as e:
        line = _next_line() if op != "@" else fn.__code__.co_firstlineno
        fn(a, b)
    _assert_names(str(e.value), *names, line=line)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "eq", "where", "iadd_graph"])
def test_broadcast_mismatch(op):
    a = dynagrad.randn(3, 4, requires_grad=True)
    b = dynagrad.rand(2, 4) + 0.5
    fns = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
           "pow": lambda: a.abs() ** b, "maximum": lambda: dynagrad.maximum(a, b), "eq": lambda: a == b,
           "where": lambda: dynagrad.where(a > 0, a, b), "iadd_graph": lambda: (a * 1).add_(b)}
    line = fns[op].__code__.co_firstlineno
    with pytest.raises(RuntimeError) as e:
        fns[op]()
    msg = str(e.value)
    _assert_names(msg, "[3, 4]", "[2, 4]", line=line)
    name = {"iadd_graph": "add", "where": "where"}.get(op, op)
    assert name in msg, msg


def test_other_shape_errors_name_shapes_and_line():
    x = dynagrad.randn(2, 3)
    cases = [
        (lambda: x.view(4), ["view", "[4]", "[2, 3]"]),
        (lambda: x.reshape(5, -1), ["reshape", "[2, 3]"]),
        (lambda: dynagrad.cat([x, dynagrad.randn(2, 4)]), ["Sizes of tensors must match", "tensor number 1"]),
        (lambda: x[5], ["index 5", "size 2"]),
        (lambda: x.__setitem__(0, dynagrad.ones(4)), ["[4]", "[3]"]),
        (lambda: dynagrad.einsum("ij,jk->ik", x, dynagrad.randn(4, 5)), ["einsum", "[2, 3]", "[4, 5]"]),
        (lambda: x.expand(4, 3), ["expand", "[2, 3]", "[4, 3]"]),
        (lambda: x.add_(dynagrad.ones(4, 3)), ["[2, 3]", "[4, 3]"]),
    ]
    for fn, parts in cases:
        with pytest.raises((RuntimeError, IndexError)) as e:
            fn()
        msg = str(e.value)
        for p in parts:
            assert p in msg, f"{p!r} not in {msg!r}"


def test_shape_errors_carry_user_line():
    x = dynagrad.randn(2, 3)
    with pytest.raises(RuntimeError) as e:
        line = _next_line()
        x.view(4)
    _assert_names(str(e.value), line=line)
    with pytest.raises(RuntimeError) as e:
        line = _next_line()
        dynagrad.cat([x, dynagrad.randn(2, 4)])
    _assert_names(str(e.value), line=line)
    with pytest.raises(RuntimeError) as e:
        line = _next_line()
        x[0] = dynagrad.ones(4)
    _assert_names(str(e.value), line=line)


def test_errors_inside_user_functions_point_at_the_user_line():
    def model(t):
        return t @ dynagrad.randn(5, 2)  # the line reported: the user's, not dynagrad's

    line = inspect.getsourcelines(model)[1] + 1
    with pytest.raises(RuntimeError) as e:
        model(dynagrad.randn(3, 4))
    _assert_names(str(e.value), "matmul", line=line)
    assert "dynagrad/ops" not in str(e.value)


def test_anomaly_mode_names_the_forward_line():
    x = dynagrad.tensor([-1.0, 1.0], requires_grad=True)
    with dynagrad.autograd.detect_anomaly():
        line = _next_line()
        y = x.sqrt()
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    _assert_names(str(e.value), "SqrtBackward0", "nan", line=line)


# -- subtraction with bool operands: refused as PyTorch refuses it ------------------------------------------

_BOOL_SUB = {
    "tensor - int": lambda lib, b: b - 1,
    "int - tensor": lambda lib, b: 1 - b,
    "tensor - tensor": lambda lib, b: b - b,
    "torch.sub": lambda lib, b: lib.sub(b, b),
    "rsub": lambda lib, b: lib.rsub(b, 1),
    "tensor - True": lambda lib, b: b - True,
    "in place": lambda lib, b: b.clone().sub_(True),
    "int tensor in place": lambda lib, b: lib.tensor([1]).sub_(True),
    "float - bool tensor": lambda lib, b: lib.tensor([1.0, 2.0]) - b,
    "float in place": lambda lib, b: lib.tensor([1.0, 2.0]).sub_(b),
    "alpha": lambda lib, b: lib.sub(lib.tensor([1.0, 2.0]), b, alpha=2),
    "method with alpha": lambda lib, b: lib.tensor([1.0, 2.0]).sub(b, alpha=2),
    "rsub with alpha": lambda lib, b: lib.rsub(b, lib.tensor([1.0, 2.0]), alpha=2),
    "int with negative alpha": lambda lib, b: lib.sub(lib.tensor([3, 4]), b, alpha=-1),
}


def test_numpy_bool_scalar_is_a_number_in_subtraction():
    import numpy as np
    out = dynagrad.tensor([1.0, 2.0]) - np.bool_(True)
    assert out.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("case", list(_BOOL_SUB))
def test_subtraction_with_bool_is_refused_as_in_torch(case):
    fn = _BOOL_SUB[case]
    with pytest.raises(RuntimeError, match=r"Subtraction, the `-` operator, with (a bool|two bool) tensor") as e:
        fn(dynagrad, dynagrad.tensor([True, False]))
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(RuntimeError) as et:
        fn(torch, torch.tensor([True, False]))
    assert str(e.value) == str(et.value)


_MASKED = {  # a NaN or inf gradient where the op passed nothing through: PyTorch gives 0, not NaN
    "masked_fill": lambda lib, x: (x * 1).masked_fill(lib.tensor([True, False]), float("nan")).sqrt(),
    "clamp": lambda lib, x: x.clamp(min=0).sqrt(),
    "where": lambda lib, x: lib.where(x > 0, x, lib.tensor(float("nan"))).sqrt(),
    "relu": lambda lib, x: x.relu() * lib.tensor([float("inf"), 1.0]),
    "maximum": lambda lib, x: lib.maximum(x, lib.zeros(2)).sqrt(),
}


@pytest.mark.parametrize("case", list(_MASKED))
def test_masked_gradients_drop_nan_and_inf_as_torch(case):
    x = dynagrad.tensor([-1.0, 4.0], requires_grad=True)
    _MASKED[case](dynagrad, x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.25 if case != "relu" else 1.0]
    try:
        import torch
    except ImportError:
        return
    xt = torch.tensor([-1.0, 4.0], requires_grad=True)
    _MASKED[case](torch, xt).sum().backward()
    assert xt.grad.tolist() == x.grad.tolist()
