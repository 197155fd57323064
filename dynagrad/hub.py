"""``torch.hub``, offline: the hub cache folder where PyTorch keeps downloaded checkpoints, loading a checkpoint
from that cache by its URL, and entry points of a local ``hubconf.py``.

dynagrad never downloads (no network at run time): a function that would fetch a file raises, naming the URL
and the folder to put the file in. The cache is PyTorch's own (``$TORCH_HOME/hub``, ``TORCH_HOME`` defaulting
to ``$XDG_CACHE_HOME/torch`` then ``~/.cache/torch``), so checkpoints PyTorch downloaded are found.

>>> import dynagrad as torch
>>> torch.hub.get_dir().endswith("hub")
True
>>> torch.hub.HASH_REGEX.search("resnet18-f37072fd.pth").group(1)
'f37072fd'
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from typing import Any
from urllib.parse import urlparse

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
MODULE_HUBCONF = "hubconf.py"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # "name-<sha256 prefix>.ext", as PyTorch names hub checkpoints
_hub_dir: str | None = None


def _get_torch_home() -> str:
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(os.getenv(ENV_XDG_CACHE_HOME,
                                                                               DEFAULT_CACHE_DIR), "torch")))


def get_dir() -> str:
    """The hub cache folder: the one ``set_dir`` gave, else ``$TORCH_HOME/hub``."""
    return _hub_dir if _hub_dir is not None else os.path.join(_get_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache folder from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _no_download(url: str, folder: str, fname: str) -> RuntimeError:
    return RuntimeError(f"{url} is not in the hub cache ({os.path.join(folder, fname)} does not exist) and "
                        f"dynagrad never downloads: fetch the file yourself and put it there (or point TORCH_HOME "
                        f"or torch.hub.set_dir at the folder that has it)")


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Refused: dynagrad has no network access at run time."""
    raise RuntimeError(f"torch.hub.download_url_to_file({url!r}): dynagrad never downloads; fetch the file "
                       f"yourself and save it as {dst}")


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None,
                             progress: bool = True, check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    """The checkpoint published at ``url``, read from ``model_dir`` (default ``<hub dir>/checkpoints``) where
    PyTorch would have downloaded it; ``check_hash`` compares the file's SHA-256 with the prefix in its name."""
    from .serialization import load as _load
    folder = model_dir if model_dir is not None else os.path.join(get_dir(), "checkpoints")
    fname = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    path = os.path.join(folder, fname)
    if not os.path.exists(path):
        raise _no_download(url, folder, fname)
    if check_hash:
        m = HASH_REGEX.search(fname)
        prefix = m.group(1) if m else None
        if prefix:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if not digest.startswith(prefix):
                raise RuntimeError(f'invalid hash value (expected "{prefix}", got "{digest}")')
    return _load(path, map_location=map_location, weights_only=weights_only)


def _hubconf(repo_or_dir: str, source: str):
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        raise RuntimeError(f"torch.hub with source='github' ({repo_or_dir!r}) downloads the repository, which "
                           f"dynagrad never does: clone it yourself and call torch.hub.load(folder, model, "
                           f"source='local')")
    path = os.path.join(repo_or_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist")
    sys.path.insert(0, repo_or_dir)
    try:
        spec = importlib.util.spec_from_file_location("hubconf", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_or_dir)
    return module


def _entry(module, model: str):
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def list(github: str, force_reload: bool = False, skip_validation: bool = False, trust_repo: Any = None,  # noqa: A001
         verbose: bool = True, *, source: str = "github") -> list[str]:  # PyTorch's name
    """The entry points of a repository's ``hubconf.py`` (``source='local'``: a folder)."""
    module = _hubconf(github, source)
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github: str, model: str, force_reload: bool = False, skip_validation: bool = False,  # noqa: A001
         trust_repo: Any = None, *, source: str = "github") -> str | None:
    """The docstring of entry point ``model``."""
    return _entry(_hubconf(github, source), model).__doc__


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo: Any = None,
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False, **kwargs: Any) -> Any:
    """Call entry point ``model`` of ``hubconf.py`` in ``repo_or_dir`` (a local folder with ``source='local'``)
    with ``args`` and ``kwargs``."""
    return _entry(_hubconf(repo_or_dir, source), model)(*args, **kwargs)
