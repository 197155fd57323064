"""The on-disk cache of numba kernels, trusted only for what dynagrad wrote.

A fused kernel's source is written to ``<cache>/kernels/k_<digest>.py`` so numba can keep its compiled
machine code beside it (``__pycache__/k_<digest>.*.nbi/.nbc``, which numba reads back with pickle). Nothing
there is taken on trust:

* the directory is created private to the user (0700) and refused (no disk cache, a warning) when it is
  not owned by the user or is writable by group or others; so is a symbolic link;
* the kernel's source is never imported from the file: the source dynagrad generates (in memory) is
  compiled and run, and the file is rewritten when it differs from it (a line appended to it never runs);
* numba's files for the kernel are checked against the SHA-256 digests recorded, in a manifest beside
  them, right after numba wrote them; any file that is not in the manifest or does not match is deleted
  before numba can read it, and the kernel is compiled again.

``DYNAGRAD_CACHE`` moves the cache (default ``~/.cache/dynagrad``); ``DYNAGRAD_CACHE=off`` turns the disk
cache off (kernels are compiled in memory in every process).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import sys
import types

log = logging.getLogger("dynagrad.compile")

_warned: set = set()


def cache_dir() -> str | None:
    """The private kernel directory (created 0700), or None when there must be no disk cache."""
    root = os.environ.get("DYNAGRAD_CACHE")
    if root == "off":
        return None
    if not root:
        root = os.path.join(os.path.expanduser("~"), ".cache", "dynagrad")
    d = os.path.join(root, "kernels")
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        st = os.lstat(d)
    except OSError as e:
        _refuse(d, f"it cannot be created ({e})")
        return None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        _refuse(d, "it is not a directory (a symbolic link?)")
        return None
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        _refuse(d, "it belongs to another user")
        return None
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _refuse(d, f"it is writable by {'others' if st.st_mode & stat.S_IWOTH else 'its group'} "
                   f"(mode {stat.S_IMODE(st.st_mode):o}); make it private with chmod 700")
        return None
    if stat.S_IMODE(st.st_mode) != 0o700:  # ours, readable by others (an older dynagrad made it so)
        try:
            os.chmod(d, 0o700)
        except OSError:
            pass
    return d


def _refuse(d: str, why: str) -> None:
    if d not in _warned:
        _warned.add(d)
        log.warning("dynagrad.compile: not using the kernel cache %s: %s; kernels are compiled in memory", d, why)


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _manifest_path(d: str) -> str:
    return os.path.join(d, "manifest.json")


def _read_manifest(d: str) -> dict:
    try:
        with open(_manifest_path(d)) as f:
            m = json.load(f)
        return m if isinstance(m, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_manifest(d: str, manifest: dict) -> None:
    tmp = _manifest_path(d) + f".{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f)
    os.replace(tmp, _manifest_path(d))


def _artifacts(d: str, stem: str) -> list:
    """numba's cache files of one kernel module (its index and data files)."""
    pc = os.path.join(d, "__pycache__")
    try:
        names = os.listdir(pc)
    except OSError:
        return []
    return [os.path.join(pc, n) for n in names if n.startswith(stem + ".") and n.endswith((".nbi", ".nbc"))]


def _write_private(path: str, text: str) -> None:
    tmp = path + f".{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def load_kernel(src: str, key: str, name: str, signature):
    """The function ``name`` of the generated kernel source ``src`` (content-addressed by ``key``),
    compiled by numba for ``signature`` (a tuple of numba types), from the verified disk cache when it has
    it. The source run is always ``src`` itself."""
    d = cache_dir()
    stem = f"k_{key}"
    modname = f"dynagrad_kernel_{key}"
    if d is None:
        return _in_memory(src, modname, name, signature)
    mod = sys.modules.get(modname)
    if mod is None or getattr(mod, "__dynagrad_source__", None) != src or \
            getattr(mod, "__file__", None) != os.path.join(d, stem + ".py"):
        path = os.path.join(d, stem + ".py")
        try:
            with open(path) as f:
                on_disk = f.read()
        except OSError:
            on_disk = None
        if on_disk != src:
            if on_disk is not None:
                log.warning("dynagrad.compile: the cached kernel %s differs from the source dynagrad generates; it "
                            "is replaced, not run", path)
            for a in _artifacts(d, stem):  # compiled from other source: worthless
                _remove(a)
            _write_private(path, src)
        mod = types.ModuleType(modname)
        mod.__file__ = path
        mod.__dynagrad_source__ = src
        sys.modules[modname] = mod  # numba's cache finds a kernel's module by name
        exec(compile(src, path, "exec"), mod.__dict__)  # noqa: S102 - dynagrad's own source, from memory
    fn = getattr(mod, name)
    manifest = _read_manifest(d)
    for a in _artifacts(d, stem):  # before numba reads any of them
        if manifest.get(os.path.basename(a)) != _digest(a):
            log.warning("dynagrad.compile: numba's cache file %s is not one dynagrad recorded; it is deleted", a)
            _remove(a)
    fn.compile(signature)  # loads the verified machine code, or compiles and writes it
    manifest = _read_manifest(d)
    changed = False
    for a in _artifacts(d, stem):
        digest = _digest(a)
        if manifest.get(os.path.basename(a)) != digest:
            manifest[os.path.basename(a)] = digest
            changed = True
    if changed:
        _write_manifest(d, manifest)
    return fn


def _in_memory(src: str, modname: str, name: str, signature):
    mod = types.ModuleType(modname)
    mod.__dynagrad_source__ = src
    exec(compile(src.replace("cache=True", "cache=False"), f"<{modname}>", "exec"), mod.__dict__)  # noqa: S102
    sys.modules[modname] = mod
    fn = getattr(mod, name)
    fn.compile(signature)
    return fn


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


__all__ = ["cache_dir", "load_kernel"]
