"""The legacy tensor API old scripts use: ``torch.FloatTensor(...)`` and friends (construction, ``isinstance``,
``x.type(...)``), ``torch.cuda.*Tensor``, and index forms beyond tensors (``range``, NumPy arrays, lists of
bools, lists that PyTorch reads as a tuple of indices), against PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import dynagrad
from tests.helpers import reference

CONSTRUCT = [
    "torch.FloatTensor(2, 3).shape", "torch.FloatTensor([1, 2])", "torch.FloatTensor([[1, 2]])",
    "torch.LongTensor([1.7, 2])", "torch.FloatTensor()", "torch.FloatTensor(torch.Size([2])).shape",
    "torch.FloatTensor((2, 3))", "torch.FloatTensor(2.0)", "torch.IntTensor(3).dtype", "torch.ByteTensor([1, 2])",
    "torch.BoolTensor([1, 0])", "torch.HalfTensor([1])", "torch.BFloat16Tensor([1])", "torch.CharTensor([1])",
    "torch.ShortTensor([1])", "torch.DoubleTensor([1.5]).dtype", "torch.IntTensor(range(3))",
    "torch.LongTensor(range(2, 5))", "torch.FloatTensor(np.array([[1, 2]], dtype=np.int32))",
    "torch.LongTensor(np.where(np.array([[0, 1], [1, 0]]))[1])", "torch.FloatTensor(np.array(2.0))",
    "torch.FloatTensor([]).shape", "torch.FloatTensor(0).shape", "torch.FloatTensor(2, 0).shape",
    "torch.FloatTensor([True, False])", "torch.FloatTensor(-1)", "torch.FloatTensor([1], [2])",
    "torch.FloatTensor('a')", "torch.FloatTensor(2, 3.0)", "torch.FloatTensor(2, dtype=torch.float64)",
    "torch.FloatTensor(3, device='cpu').shape", "torch.FloatTensor(3, device='cuda')",
    "torch.FloatTensor([1, 2]).requires_grad", "torch.FloatTensor(torch.zeros(2)).dtype",
    "torch.DoubleTensor(torch.zeros(2))", "torch.LongTensor(torch.zeros(2))",
    "x = torch.zeros(3)\ny = torch.FloatTensor(x)\ny[0] = 5\nx",
    "torch.LongTensor(2).fill_(3)", "torch.FloatTensor(2).zero_()", "torch.FloatTensor(2, 2).normal_(0, 1).shape",
    "isinstance(torch.zeros(1), torch.FloatTensor)", "isinstance(torch.zeros(1), torch.DoubleTensor)",
    "isinstance(torch.zeros(1).double(), torch.DoubleTensor)", "isinstance(torch.zeros(1).long(), torch.LongTensor)",
    "isinstance(torch.nn.Parameter(torch.zeros(1)), torch.FloatTensor)",
    "isinstance(torch.zeros(1), torch.cuda.FloatTensor)",
    "isinstance(torch.zeros(1).data, torch.cuda.FloatTensor)", "isinstance(3, torch.FloatTensor)",
    "issubclass(torch.FloatTensor, torch.Tensor)", "torch.FloatTensor.dtype", "torch.FloatTensor.is_cuda",
    "torch.FloatTensor.is_sparse", "torch.cuda.FloatTensor.is_cuda", "torch.cuda.LongTensor.dtype",
    "str(torch.FloatTensor)", "str(torch.cuda.FloatTensor)", "torch.FloatTensor.__name__",
    "type(torch.FloatTensor).__name__", "type(torch.FloatTensor([1])).__name__", "torch.is_tensor(torch.FloatTensor)",
    "torch.cuda.FloatTensor(3)", "torch.cuda.LongTensor([1])", "torch.sparse.FloatTensor.is_sparse",
    "torch.zeros(2).type()", "torch.zeros(2).long().type()", "torch.zeros(2).bool().type()",
    "torch.zeros(2, dtype=torch.complex64).type()", "torch.zeros(2, dtype=torch.bfloat16).type()",
    "torch.zeros(2, dtype=torch.float16).type()", "torch.zeros(2, dtype=torch.uint8).type()",
    "torch.zeros(2).type(torch.DoubleTensor)", "torch.zeros(2).type('torch.DoubleTensor')",
    "torch.zeros(2).type(torch.float64)", "torch.zeros(2).type(torch.IntTensor)",
    "torch.zeros(2).type('torch.LongTensor')",
    "torch.zeros(2).type(torch.cuda.FloatTensor)", "torch.zeros(2).type('torch.cuda.FloatTensor')",
    "x = torch.zeros(2)\nx.type(torch.FloatTensor) is x", "torch.zeros(2).type('foo')",
    "torch.tensor([1, 2]).type('torch.FloatTensor')", "torch.typename(torch.zeros(1))", "torch.typename(1)",
    "torch.nn.Linear(2, 2).type(torch.DoubleTensor).weight.dtype",
    "torch.set_default_tensor_type(torch.DoubleTensor)\nv = [torch.get_default_dtype(), torch.Tensor(1).dtype, "
    "torch.FloatTensor(1).dtype]\ntorch.set_default_tensor_type('torch.FloatTensor')\nv",
    "torch.Tensor(2, 3).shape", "torch.Tensor([1, 2])", "torch.Tensor().shape", "torch.Tensor(3).type()",
    "torch.zeros(2).new(2, 3).shape", "torch.zeros(2).new([1, 2])", "torch.zeros(2).long().new(2).dtype",
    "torch.zeros(2).new(torch.Size([3])).shape", "torch.zeros(2).new().shape",
    "torch.autograd.Variable(torch.FloatTensor([1, 2]), requires_grad=True).requires_grad",
]

INDEX = [
    "x[range(3)]", "x[range(0, 4, 2)]", "x[range(2), :]", "x[:, range(2)]", "x[np.array([0, 2])]",
    "x[np.array([0, 2], dtype=np.int32)]", "x[[True, False, True, False]]", "x[np.array([True, False, True, False])]",
    "x[np.int64(1)]", "x[np.int32(1)]", "x[torch.tensor(1)]", "x[[0, 2], :]", "x[..., None]", "x[:, [0, 1]]",
    "x[x > 5]", "x[(0, 1)]", "x[[[0, 1], [1, 0]]]", "x[torch.tensor([True, False, True, False])]", "x[::-1]",
    "x[[0, 1], [1, 2]]", "x[1:3, np.array([0, 1])]", "x[[0.0, 1.0]]", "x[(range(2), range(2))]", "x[[range(2)]]",
    "x[[]]", "x[np.array([], dtype=np.int64)]", "x[[np.int64(0), np.int64(2)]]",
    "x[[torch.tensor(0), torch.tensor(2)]]",
    "x[np.array([[0], [1]]), np.array([0, 1])]", "x[4]", "x[[4]]", "x[torch.tensor([0.0])]",
    "x[range(2)] = 0\nx", "x[np.array([0, 2])] = torch.tensor([1., 2., 3.])\nx",
    "x[[True, False, True, False]] = -1\nx",
    "x[:, range(2)] += 1\nx", "x[np.int64(1)] = 7\nx", "x[[0, 0]] += 1\nx", "x[[[0, 1], [1, 0]]] = 9\nx",
    "y = x.clone().requires_grad_()\ny[range(1, 3)].sum().backward()\ny.grad",
    "y = x.clone().requires_grad_()\ny[[[0, 0, 1], [0, 0, 2]]].sum().backward()\ny.grad",
]


def _run(lib, src):
    env = {"torch": lib, "np": np, "x": lib.arange(12.0).reshape(4, 3)}
    *stmts, last = src.split("\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec("\n".join(stmts), env)
            v = eval(last, env)
        except Exception as e:  # noqa: BLE001 - the type is compared
            return ["raise", type(e).__name__]
    if hasattr(v, "tolist") and hasattr(v, "dtype"):
        return ["tensor", v.tolist(), str(v.dtype).replace("dynagrad.", "torch."), list(v.shape)]
    if hasattr(v, "__len__") and not isinstance(v, str) and isinstance(v, (list, tuple)):
        return ["seq", [str(e) for e in v]]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return ["ok", v]
    return ["ok", str(v)]


def test_legacy_constructors_and_types_match_torch():
    want = reference(lambda torch: [_run(torch, s) for s in CONSTRUCT])
    bad = [f"{s!r}: torch {w}, dynagrad {g}" for s, w, g in zip(CONSTRUCT, want, [_run(dynagrad, s) for s in CONSTRUCT])
           if w != g]
    assert not bad, "\n".join(bad)


def test_index_forms_match_torch():
    want = reference(lambda torch: [_run(torch, s) for s in INDEX])
    bad = [f"{s!r}: torch {w}, dynagrad {g}" for s, w, g in zip(INDEX, want, [_run(dynagrad, s) for s in INDEX])
           if w != g]
    assert not bad, "\n".join(bad)


def test_legacy_constructor_error_messages_say_what_to_do():
    with pytest.raises(TypeError, match="torch.tensor"):
        dynagrad.FloatTensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="dtype torch.float64"):
        dynagrad.DoubleTensor(dynagrad.zeros(2))
    with pytest.raises(TypeError, match="Torch not compiled with CUDA enabled"):
        dynagrad.cuda.FloatTensor(2)
