"""``torch.compile`` as scripts call it: arguments checked as PyTorch checks them, ``OptimizedModule``,
``reset``, ``disable``, and what ``mode``, ``backend``, ``options`` and ``dynamic`` mean here.

* ``backend``: "inductor" (the default) is dynagrad's compiler (tracing, passes, generated NumPy, numba
  kernels where numba is installed); "numpy" and "numba" choose the kernel code; "eager", "aot_eager" and
  PyTorch's other debugging backends run the Python eagerly, as PyTorch's do. A name PyTorch does not know
  raises ``torch._dynamo.exc.InvalidBackend`` now; a backend PyTorch knows but that needs another compiler
  (tvm, openxla, TorchScript) raises ``BackendCompilerFailed`` at the first call, as PyTorch does when that
  compiler is missing. A callable backend (it receives a torch.fx GraphModule) is not supported yet.
* ``mode``: the four names are accepted and change nothing (they choose CUDA graphs and autotuning).
* ``options``: inductor's option names (``torch._inductor.config``), checked, and dynagrad's own ``level``
  (0: no passes, 1: no fusion, 2: all) and ``numba`` (False: NumPy kernels only).
* ``fullgraph=True``: a graph break or a fallback raises ``torch._dynamo.exc.Unsupported``.
* ``dynamic``: None makes a dimension symbolic once it changed between calls (``automatic_dynamic_shapes``),
  True from the first call, False never.
"""
from __future__ import annotations

import weakref

from ..nn.modules.module import Module

MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
COMPILING = {"inductor": "default", "numpy": "numpy", "numba": "numba", "cudagraphs": "default"}
EAGER = {"eager", "aot_eager", "aot_eager_decomp_partition", "aot_eager_decomp_partition_crossref",
         "aot_eager_decomp_partition_with_mode", "aot_eager_default_partitioner", "eager_debug", "eager_noexcept",
         "pre_dispatch_eager"}
UNAVAILABLE = {"tvm": "apache-tvm", "openxla": "torch_xla", "openxla_eval": "torch_xla", "ts": "TorchScript",
               "aot_ts": "TorchScript", "onnxrt": "onnxruntime's torch backend", "tensorrt": "torch_tensorrt",
               "ipex": "intel_extension_for_pytorch"}
OWN_OPTIONS = {"level", "numba"}

_all: weakref.WeakSet = weakref.WeakSet()  # every compiled function (torch.compiler.reset clears them)


def check_arguments(backend, mode, options) -> str:
    """PyTorch's checks of ``torch.compile``'s arguments; returns the backend's name."""
    from .._dynamo import exc
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if backend is None:
        backend = "inductor"
    if callable(backend) and not isinstance(backend, str):
        raise NotImplementedError(
            f"torch.compile(backend={getattr(backend, '__name__', backend)!r}): a custom backend is called with a "
            f"torch.fx GraphModule, which dynagrad's compiler does not build; use backend='inductor' (dynagrad's "
            f"compiler) or 'eager'")
    if not isinstance(backend, str) or backend not in COMPILING and backend not in EAGER and \
            backend not in UNAVAILABLE:
        raise exc.InvalidBackend(name=backend)
    if options:
        from .._inductor import config as inductor_config
        known = inductor_config.__dict__["_defaults"]
        for key in options:
            if key not in known and key not in OWN_OPTIONS:
                raise RuntimeError(f"Unexpected optimization option {key}, known options are "
                                   f"{sorted(known)}")
    return backend


class OptimizedModule(Module):
    """What ``torch.compile(module)`` returns: a module holding the original as ``_orig_mod`` (so its
    ``state_dict`` keys start with ``_orig_mod.``, as PyTorch's), whose calls run compiled. Attributes not
    its own are read from and written to the original module, ``training`` included.

    >>> import dynagrad
    >>> m = dynagrad.nn.Linear(3, 2)
    >>> c = dynagrad.compile(m)
    >>> list(c.state_dict())
    ['_orig_mod.weight', '_orig_mod.bias']
    >>> c._orig_mod is m, c.in_features
    (True, 3)
    """

    _OWN = ("_orig_mod", "_compiled")

    def __init__(self, mod: Module, compiled) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", compiled)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    @property
    def training(self) -> bool:
        mod = self.__dict__.get("_modules", {}).get("_orig_mod")
        return mod.training if mod is not None else self.__dict__.get("_training", True)

    @training.setter
    def training(self, value: bool) -> None:
        mod = self.__dict__.get("_modules", {}).get("_orig_mod")
        if mod is None:
            self.__dict__["_training"] = value
        else:
            mod.training = value

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            mod = self.__dict__.get("_modules", {}).get("_orig_mod")
            if mod is None:
                raise
            return getattr(mod, name)

    def __setattr__(self, name, value) -> None:
        mod = self.__dict__.get("_modules", {}).get("_orig_mod")
        if mod is None or name in self._OWN or name == "training" or name.startswith("__"):
            super().__setattr__(name, value)
        else:
            setattr(mod, name, value)

    def __delattr__(self, name) -> None:
        if name in self._OWN:
            super().__delattr__(name)
        else:
            delattr(self._orig_mod, name)

    def __len__(self) -> int:
        return len(self._orig_mod)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self._orig_mod)))

    def __deepcopy__(self, memo):
        import copy
        mod = copy.deepcopy(self._orig_mod, memo)
        cf = self._compiled
        new = OptimizedModule(mod, type(cf)(mod, cf.dynamic, cf.fullgraph, cf.mode, cf.backend_name, cf.options))
        memo[id(self)] = new
        return new


__all__ = ["OptimizedModule", "check_arguments", "MODES"]
