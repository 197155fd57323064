"""Record the keys (and plain defaults) of torch._dynamo.config and torch._inductor.config from the installed
PyTorch into dynagrad/_dynamo/config_keys.json and dynagrad/_inductor/config_keys.json:

    python tests/record_compile_config.py

dynagrad accepts exactly these names (PyTorch raises AttributeError for others); a default that is not a
plain JSON value is stored as null.
"""
from __future__ import annotations

import json
import os

import torch
import torch._dynamo.config
import torch._inductor.config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)) and all(x is None or isinstance(x, (bool, int, float, str)) for x in v):
        return list(v)
    return None


for mod, path in ((torch._dynamo.config, "dynagrad/_dynamo/config_keys.json"),
                  (torch._inductor.config, "dynagrad/_inductor/config_keys.json")):
    keys = {}
    for k in sorted(mod._config):
        if k.startswith("_"):
            continue
        obj = mod
        try:
            for part in k.split("."):
                obj = getattr(obj, part)  # the value a fresh import has (aliases resolved)
        except Exception:  # noqa: BLE001 - a setting that cannot be read: its declared default
            obj = mod._config[k].default
        keys[k] = plain(obj)
    with open(os.path.join(ROOT, path), "w") as f:
        json.dump({"torch": torch.__version__.split("+")[0], "keys": keys}, f, indent=0, sort_keys=True)
        f.write("\n")
    print(path, len(keys))
