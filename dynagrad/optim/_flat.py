"""Flat buffers (``foreach``): a group's small parameters updated by one call of the update function.

Updating a parameter costs a dozen NumPy calls whatever its size, so with many small parameters (biases,
norm weights) Python overhead dominates a step. When a group qualifies, its small parameters, their
gradients and their state are laid out in one flat array each and the optimizer's ``_update`` runs once.
The update is elementwise, so the result is bit for bit the per-parameter one.

* Parameters and gradients are copied in and out each step: parameters keep their own memory.
* State stays per parameter, as PyTorch shows it: each state tensor keeps its identity but its array
  becomes a view into the flat state buffer. Scalar state (``step``; NAdam's ``mu_product``) must be
  equal across the parameters to qualify, and is one shared 0-d array while flat.
* Every step checks that the group still qualifies (the same parameters, all with gradients, the state
  unreplaced); if not, the shared scalars are unshared and the per-parameter path takes over.
* A group with a parameter or state tensor in shared memory (``share_memory_``: Hogwild training, an
  optimizer whose state processes share) never goes flat: state must stay in shared memory, and each
  parameter is updated in place by one call, as PyTorch's in-place updates do it.
"""
from __future__ import annotations

import operator
import sys
from itertools import repeat

import numpy as np

from ..tensor import Tensor

MAX_NUMEL = 1 << 16  # larger parameters amortise the per-call cost on their own


class FlatGroup:
    __slots__ = ("all", "params", "rest", "views", "p", "g", "state", "dicts", "checks", "shared")

    def valid(self, group_params: list, all_state) -> bool:
        """Still the same parameters and the same state objects?"""
        if len(group_params) != len(self.all) or not all(map(operator.is_, group_params, self.all)):
            return False
        if not all(map(operator.is_, map(all_state.get, self.params), self.dicts)):
            return False
        return all(st.get(k) is t and t._data is a for st, k, t, a in self.checks)

    def run(self, update, group: dict, where) -> bool:
        """One step for the flat parameters; False (nothing done) when one of them has no gradient."""
        params = self.params
        grads = [p.grad for p in params]
        if not all(map(operator.is_not, grads, repeat(None))):
            return False
        np.concatenate([p._data.reshape(-1) for p in params], out=self.p)
        np.concatenate([g._data.reshape(-1) for g in grads], out=self.g, casting="same_kind")
        update(self.p, self.g, self.state, group)
        for p, v in zip(params, self.views):
            p._data[...] = v
            vc = p._vc
            vc[0] += 1
            vc[1] = where
        return True

    def release(self) -> None:
        """Give every parameter its own scalar state again."""
        for t, a in self.shared:
            if t._data is a:
                t._data = a.copy()


def unshare_scalars(all_state, keys) -> None:
    """After unpickling or deep-copying an optimizer, scalar state shared while flat is made separate."""
    for st in all_state.values():
        if isinstance(st, dict):
            for k in keys:
                t = st.get(k)
                if isinstance(t, Tensor):
                    t._data = t._data.copy()


def _any_shared(params, dicts) -> bool:
    """Whether a parameter or a state tensor lies in shared memory (dynagrad.multiprocessing)."""
    if "dynagrad.multiprocessing._storage" not in sys.modules:
        return False
    return any(p.is_shared() for p in params) or any(
        isinstance(v, Tensor) and v.is_shared() for st in dicts if st for v in st.values())


def build(opt, group: dict) -> FlatGroup | None:
    """Lay out the group's small parameters flat, or None when fewer than two qualify."""
    group_params = group["params"]
    small = [p for p in group_params if p._data.size <= MAX_NUMEL]
    if len(small) < 2:
        return None
    dtype = small[0]._data.dtype
    if dtype.kind != "f" or any(p.grad is None or p._data.dtype != dtype for p in small):
        return None
    all_state = opt.state
    dicts = []
    for p in small:  # the state a first per-parameter step would create
        st = all_state.get(p)
        if not st:
            st = opt._init_state(p, group)
            if st:
                all_state[p] = st
        dicts.append(st or None)
    keys = None if dicts[0] is None else tuple(dicts[0])
    scalar = opt._scalar_state
    if _any_shared(small, dicts):
        return None  # state laid out flat would leave shared memory (Hogwild, SharedAdam): update in place
    for p, st in zip(small, dicts):
        if (st is None) != (keys is None):
            return None
        if st is not None:
            if tuple(st) != keys or not all(isinstance(v, Tensor) for v in st.values()):
                return None  # e.g. SGD's momentum buffer before its first step
            for k, v in st.items():
                first = dicts[0][k]._data
                if k in scalar:
                    if v._data.shape != () or v._data != first:
                        return None
                elif v._data.shape != p._data.shape or v._data.dtype != first.dtype:
                    return None
    sizes = [p._data.size for p in small]
    offsets = np.cumsum([0] + sizes).tolist()
    fg = FlatGroup()
    fg.all = list(group_params)
    fg.params = small
    ids = {id(p) for p in small}
    fg.rest = [p for p in group_params if id(p) not in ids]
    fg.p = np.empty(offsets[-1], dtype)
    fg.g = np.empty(offsets[-1], dtype)
    fg.views = [fg.p[o:o + n].reshape(p._data.shape) for o, n, p in zip(offsets, sizes, small)]
    fg.dicts = dicts
    fg.checks, fg.shared = [], []
    fg.state = None if keys is None else {}
    for k in keys or ():
        if k in scalar:
            a = dicts[0][k]._data.copy()
            for st in dicts:
                st[k]._data = a
                fg.checks.append((st, k, st[k], a))
                fg.shared.append((st[k], a))
            fg.state[k] = Tensor._wrap(a)
        else:
            flat = np.empty(offsets[-1], dicts[0][k]._data.dtype)
            for st, o, n, p in zip(dicts, offsets, sizes, small):
                v = flat[o:o + n].reshape(p._data.shape)
                v[...] = st[k]._data
                st[k]._data = v
                fg.checks.append((st, k, st[k], v))
            fg.state[k] = Tensor._wrap(flat)
    return fg
