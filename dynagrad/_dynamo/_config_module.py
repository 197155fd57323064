"""Configuration modules as PyTorch's (``torch._dynamo.config``, ``torch._inductor.config``): module
objects whose attributes scripts read and set. The names are PyTorch 2.13's (``config_keys.json``,
recorded from it); setting or reading any other name raises AttributeError, as in PyTorch. Dotted names
are reached through sub-objects (``torch._inductor.config.triton.unique_kernel_names``). ``patch(...)``
sets values for a ``with`` block or a decorated function.

What a value changes in dynagrad is said by the module that owns it (``effects``); every other name is
accepted and stored, and has no effect.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import types


class _Namespace:
    """Attribute access to one level of a config's dotted names."""

    def __init__(self, owner, prefix: str) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return self._owner._get(self._prefix + name)

    def __setattr__(self, name, value):
        self._owner._set(self._prefix + name, value)

    def __dir__(self):
        n = len(self._prefix)
        return sorted({k[n:].split(".")[0] for k in self._owner._defaults if k.startswith(self._prefix)})

    def __repr__(self) -> str:
        return f"<config {self._owner.__name__}.{self._prefix[:-1]}>"


class ConfigModule(types.ModuleType):
    """The class of a config module (installed with ``install``)."""

    def _get(self, key):
        d = self.__dict__
        if key in d["_values"]:
            return d["_values"][key]
        if key in d["_defaults"]:
            return d["_defaults"][key]
        prefix = key + "."
        if any(k.startswith(prefix) for k in d["_defaults"]):
            return _Namespace(self, prefix)
        raise AttributeError(f"{self.__name__}.{key} does not exist")

    def _set(self, key, value) -> None:
        d = self.__dict__
        if key not in d["_defaults"]:
            raise AttributeError(f"{self.__name__}.{key} does not exist")
        d["_values"][key] = value
        hook = d["_effects"].get(key)
        if hook is not None:
            hook(value)

    def __getattr__(self, name):
        return self._get(name)

    def __setattr__(self, name, value):
        if name.startswith("__") or name in self.__dict__ and callable(self.__dict__[name]):
            types.ModuleType.__setattr__(self, name, value)
        else:
            self._set(name, value)

    def __delattr__(self, name):
        self.__dict__["_values"].pop(name, None)

    def __dir__(self):
        names = {k.split(".")[0] for k in self.__dict__["_defaults"]}
        return sorted(names | {"patch", "get_config_copy", "save_config", "load_config"})

    def get_config_copy(self) -> dict:
        """Every setting, as {name: value}."""
        d = self.__dict__
        return {**d["_defaults"], **d["_values"]}

    def save_config(self) -> bytes:
        return json.dumps({k: v for k, v in self.get_config_copy().items()
                           if v is None or isinstance(v, (bool, int, float, str, list))}).encode()

    def load_config(self, data) -> None:
        for k, v in json.loads(data).items():
            if k in self.__dict__["_defaults"]:
                self._set(k, v)

    def patch(self, arg1=None, arg2=None, **kwargs):
        """Set some values for a ``with`` block or a decorated function: ``patch("name", value)``,
        ``patch({"name": value})`` or ``patch(name=value)``."""
        changes = dict(kwargs)
        if isinstance(arg1, str):
            changes[arg1] = arg2
        elif isinstance(arg1, dict):
            changes.update(arg1)
        for k in changes:
            if k not in self.__dict__["_defaults"]:
                raise AttributeError(f"{self.__name__}.{k} does not exist")
        return _Patch(self, changes)


class _Patch(contextlib.ContextDecorator):
    def __init__(self, module: ConfigModule, changes: dict) -> None:
        self.module, self.changes, self.saved = module, changes, []

    def __enter__(self):
        self.saved.append({k: self.module._get(k) for k in self.changes})
        for k, v in self.changes.items():
            self.module._set(k, v)
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.pop().items():
            self.module._set(k, v)
        return False


def install(module_name: str, keys_file: str, effects: dict | None = None) -> None:
    """Make the module ``module_name`` a config module with the names of ``keys_file`` (next to it);
    ``effects``: {name: function called with the new value} for the names dynagrad acts on."""
    import sys
    mod = sys.modules[module_name]
    with open(os.path.join(os.path.dirname(mod.__file__), keys_file)) as f:
        defaults = json.load(f)["keys"]
    mod.__dict__["_defaults"] = defaults
    mod.__dict__["_values"] = {}
    mod.__dict__["_effects"] = dict(effects or {})
    mod.__class__ = ConfigModule


__all__ = ["ConfigModule", "install", "functools"]
