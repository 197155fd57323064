"""Optimizer: PyTorch's outside, a small update inside.

Outside, an optimizer is what ``torch.optim.Optimizer`` is: ``param_groups`` (a list of dicts, each with
its ``params`` and every hyperparameter filled from ``defaults``), ``state`` (a dict keyed by parameter),
``state_dict`` / ``load_state_dict`` in PyTorch's format, ``add_param_group``, ``zero_grad``, step hooks.

Inside, a subclass writes two small things:

* ``_init_state(p, group)``: the state of a parameter the first time it has a gradient (a dict of
  Tensors, e.g. ``step``, ``exp_avg``), or ``None`` when it keeps none;
* ``_update(p, g, state, group)``: one parameter's update, in place, on NumPy arrays (``p`` the
  parameter's data, ``g`` its gradient's; ``state`` holds Tensors whose ``._data`` are updated in place).
  It is pure, elementwise arithmetic: it never looks at the optimizer, so it runs just as well on a
  whole group laid out in flat buffers (``_flat.py``; ``foreach``, on unless ``foreach=False``), which is
  how a model's many small parameters are updated in a few large NumPy calls.

``Optimizer.step`` runs the loop: the closure (under ``enable_grad``), then ``_update`` for every
parameter with a gradient (the small ones of a group together, flat), then the parameter's version
counter is bumped, so autograd notices a parameter that was saved for backward and changed since.

The arithmetic follows PyTorch's single-tensor implementations operation by operation (``addcmul_`` as
``a + (value*b)*c``, ``addcdiv_`` as ``a + (value*b)/c``, ``lerp_`` with its two formulas), so float32
results agree to rounding. PyTorch fuses ``a + w*b`` into one FMA in ``lerp_``, ``addcmul_`` and
``add_(alpha=)`` on CPUs that have it, and its float32 ``sqrt`` is not always correctly rounded; NumPy
rounds each operation exactly, so single elements may differ in the last bit.
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .. import _source, dtypes
from .. import memory as _memory
from ..autograd import state as _state
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor
from . import _flat

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """The default of a hyperparameter that has none (``torch.optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``handle.remove()`` takes the hook away."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add_hook(hooks: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


_global_pre_hooks: OrderedDict = OrderedDict()
_global_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` before every optimizer's step; may return new ``(args, kwargs)``."""
    return _add_hook(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    return _add_hook(_global_post_hooks, hook)


def _with_step_hooks(step: Callable) -> Callable:
    """Wrap a class's ``step`` so the step hooks run around it (once, even when ``step`` calls super's)."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        tr = _state.tracer
        if tr is not None and not tr.depth:  # dynagrad.compile: the step becomes one effect of the program
            return tr.optimizer_step(self, wrapper, args, kwargs)
        self._opt_called = True  # the LR schedulers check optimizer.step() ran before theirs
        if self.__dict__.get("_in_step"):  # a subclass's step calling super().step(): hooks ran already
            return step(self, *args, **kwargs)
        if not (_global_pre_hooks or _global_post_hooks or self._optimizer_step_pre_hooks or
                self._optimizer_step_post_hooks):
            out = step(self, *args, **kwargs)
            _memory.on_optimizer_step()  # the graph-growth check (a counter test except every 8th step)
            return out
        for hook in chain(_global_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but "
                                       f"got {result}.")
                args, kwargs = result
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_post_hooks.values()):
            hook(self, args, kwargs)
        _memory.on_optimizer_step()
        return out

    wrapper._hooked = True
    return wrapper


def _scalar_dtype():
    """The dtype of ``state['step']``: float32, or float64 when that is the default dtype (as PyTorch)."""
    return np.float64 if dtypes.get_default_dtype().numpy == np.float64 else np.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    """A 0-d step counter, ``tensor(0.)``."""
    return Tensor._wrap(np.array(value, dtype=_scalar_dtype()))


def _zeros_like(p: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros_like(p._data))


def _to_scalar(x):
    """A hyperparameter as a Python number (a 1-element Tensor lr is allowed, as in PyTorch)."""
    return x.item() if isinstance(x, Tensor) else x


def _lerp_(a, b, w: float) -> None:
    """``a.lerp_(b, w)`` as PyTorch computes it: ``a + w*(b-a)``, or ``b - (b-a)*(1-w)`` if ``w >= 0.5``."""
    d = b - a
    if abs(w) < 0.5:
        d *= w
        a += d
    else:
        one = a.dtype.type(1)
        d *= one - a.dtype.type(w)
        np.subtract(b, d, out=a)


def _as_tensor(v):
    """State loaded from outside (NumPy arrays, or anything with ``__array__`` such as a torch tensor)."""
    if isinstance(v, Tensor):
        return Tensor._wrap(v._data.copy())
    if isinstance(v, (np.ndarray, np.generic)):
        return Tensor._wrap(np.array(v))
    if hasattr(v, "__array__") and hasattr(v, "dtype") and not isinstance(v, (int, float, complex)):
        return Tensor._wrap(np.array(v.__array__()))
    return None


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter groups with
    their own options); ``defaults`` fills the options a group leaves out.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = dynagrad.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step(); w
    tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or "
                            "dicts, "
                            "but got " + params.type())
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _with_step_hooks(step)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._flat = {}
        _flat.unshare_scalars(self.state, self._scalar_state)
        for name in ("step_pre", "step_post", "state_dict_pre", "state_dict_post", "load_state_dict_pre",
                     "load_state_dict_post"):
            self.__dict__.setdefault(f"_optimizer_{name}_hooks", OrderedDict())

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # -- parameter groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing layers while fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are "
                                 "missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + (type(p).__module__ + "." + type(p).__qualname__))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{name}")
            param_group.setdefault(name, default)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this "
                          "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                          "information",
                          stacklevel=3)
        seen: set = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. cannot add param "
                                 f"group {which} to the optimizer")
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- the step --------------------------------------------------------------------------------------
    _flat_ok = False  # True where _update is elementwise, so a group's small parameters can go flat
    _scalar_state: tuple = ("step",)  # 0-d state, equal across a flat group

    def _init_state(self, p: Tensor, group: dict) -> dict | None:
        """The state of ``p`` when it first has a gradient (None: it keeps none yet)."""
        return None

    @staticmethod
    def _update(p: np.ndarray, g: np.ndarray, state: dict | None, group: dict) -> None:
        """Update one parameter's array ``p`` in place from its gradient ``g``."""

    def step(self, closure: Callable[[], Any] | None = None):
        """One optimization step; ``closure`` (optional) re-evaluates the model and returns the loss."""
        update = self._update
        if update is Optimizer._update:  # a subclass provides step() or _update()
            raise NotImplementedError
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        where = _source.user_frame(1)
        all_state = self.state
        for i, group in enumerate(self.param_groups):
            params = group["params"]
            if self._flat_ok and group.get("foreach") is not False and len(params) > 1:
                params = self._flat_step(i, group, where)
            for p in params:
                g = p.grad
                if g is None:
                    continue
                st = all_state.get(p)
                if not st:
                    st = self._init_state(p, group)
                    if st:
                        all_state[p] = st
                pd = p._data
                if pd.dtype.kind == "c" or pd.ndim == 0:
                    _update_viewed(update, pd, g._data, st, group, self._scalar_state)
                else:
                    update(pd, g._data, st, group)
                vc = p._vc
                vc[0] += 1
                vc[1] = where
        return loss

    def _flat_step(self, i: int, group: dict, where) -> list:
        """Update the group's small parameters together (see ``_flat.py``); returns the others."""
        flats = self.__dict__.setdefault("_flat", {})
        fg = flats.get(i)
        if fg is not None:
            if fg.valid(group["params"], self.state) and fg.run(self._update, group, where):
                return fg.rest
            fg.release()
            del flats[i]
        fg = _flat.build(self, group)
        if fg is None:
            return group["params"]
        flats[i] = fg
        fg.run(self._update, group, where)
        return fg.rest

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        if set_to_none and _state.tracer is not None and \
                _state.tracer.zero_grad([p for group in self.param_groups for p in group["params"]]):
            return
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g.grad_fn = None
                    g._requires_grad = False
                    g._data.fill(0)
                    g._vc[0] += 1

    # -- state dict ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {id: {...}}, 'param_groups': [{..., 'params': [ids]}]}``, parameters as integer ids.

        As in PyTorch the state values are the live tensors, not copies.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        ids: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                ids.setdefault(id(p), i)
            packed["params"] = [ids[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(ids[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        sd = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            out = hook(self, sd)
            if out is not None:
                sd = out
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (this optimizer's, another's, or PyTorch's converted).

        Tensors are copied and cast to their parameter's dtype (``step`` keeps its own); NumPy arrays are
        accepted wherever tensors are.
        """
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            out = hook(self, state_dict)
            if out is not None:
                state_dict = out
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            t = _as_tensor(value)
            if t is not None:
                if key != "step" and param.is_floating_point() and t._data.dtype != param._data.dtype:
                    t = Tensor._wrap(t._data.astype(param._data.dtype))
                return t
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                st = state[param] = cast(param, v)
                if "step" in st and not isinstance(st["step"], Tensor):
                    st["step"] = _step_tensor(float(st["step"]))
            else:
                state[k] = v
        new_groups = []
        for g, ng in zip(groups, saved_groups):
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            for k, v in self.defaults.items():
                ng.setdefault(k, v)
            new_groups.append(ng)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # -- hooks -------------------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each step; may return new ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)


Optimizer.step = _with_step_hooks(Optimizer.step)


def _real(a):
    return a.view(a.real.dtype) if a.dtype.kind == "c" else a


def _as_real_1d(a):
    """A view the update arithmetic can work on in place: complex as pairs of reals, 0-d as 1-element."""
    a = a.view(a.real.dtype) if a.dtype.kind == "c" else a
    return a.reshape(1) if a.ndim == 0 else a


def _update_viewed(update, p, g, st, group, scalar_keys) -> None:
    """Update a complex parameter as pairs of reals (PyTorch's ``view_as_real``), and a 0-d one as a
    1-element array (NumPy turns 0-d results into scalars, which cannot be updated in place)."""
    views = None if st is None else {
        k: Tensor._wrap(_as_real_1d(v._data)) if isinstance(v, Tensor) and k not in scalar_keys else v
        for k, v in st.items()}
    update(_as_real_1d(p), _as_real_1d(g), views, group)
    if st is not None:  # state the update created (SGD's momentum buffer) goes back in the parameter's form
        for k, v in views.items():
            old = st.get(k)
            same = isinstance(old, Tensor) and np.shares_memory(old._data, v._data)
            if isinstance(v, Tensor) and not same:
                st[k] = Tensor._wrap(v._data.view(p.dtype).reshape(p.shape))
