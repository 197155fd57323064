"""``TorchVersion``: the string ``torch.__version__``, which compares as a version, not as text.

``"2.13.0" >= "2.9"`` is False for plain strings; PyTorch's version string compares by PEP 440 rules against
strings, tuples and ``packaging`` versions, and falls back to plain string comparison when the other side is
not a version. This is a small PEP 440 parser for that, so dynagrad needs no ``packaging`` dependency.

>>> from dynagrad.torch_version import TorchVersion
>>> v = TorchVersion("2.13.0+dynagrad.0.1.0")
>>> v >= "2.9", v < (2, 14), v > "2.13.0rc1", v == "2.13.0"
(True, True, True, False)
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .version import __version__ as _internal_version

__all__ = ["TorchVersion"]

_PATTERN = re.compile(
    r"""^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?
    (?P<post>-(?P<post_n1>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?P<dev>[-_.]?dev[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$""", re.VERBOSE | re.IGNORECASE)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_LOW, _HIGH = (-1,), (1 << 62,)  # below / above every real component


class InvalidVersion(ValueError):
    """The string is not a PEP 440 version."""


def _key(text: str) -> tuple:
    """A tuple ordering versions as PEP 440 does (the ordering ``packaging.version.Version`` implements)."""
    m = _PATTERN.match(text)
    if m is None:
        raise InvalidVersion(f"Invalid version: '{text}'")
    release = [int(x) for x in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    if m["pre"]:
        pre = (_PRE[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif m["dev"] and not m["post"]:
        pre = _LOW  # 1.0.dev0 sorts before 1.0a0
    else:
        pre = _HIGH
    post = (int(m["post_n1"] or m["post_n2"] or 0),) if m["post"] else _LOW
    dev = (int(m["dev_n"] or 0),) if m["dev"] else _HIGH
    local = ((-2, ""),) if not m["local"] else tuple((int(p), "") if p.isdigit() else (-1, p.lower())
                                               for p in re.split(r"[-_.]", m["local"]))
    return int(m["epoch"] or 0), tuple(release), pre, post, dev, local


def _other_key(other: Any) -> tuple:
    if isinstance(other, str):
        return _key(other)
    if hasattr(other, "release") and hasattr(other, "local"):  # a packaging.version.Version
        return _key(str(other))
    if isinstance(other, Iterable):
        return _key(".".join(str(x) for x in other))
    raise InvalidVersion(other)


class TorchVersion(str):
    """A version string that compares by version: against strings, tuples like ``(2, 1)`` and
    ``packaging`` versions; against a non-version string it compares as a plain string."""

    __slots__ = ()

    def _cmp(self, other: Any, method: str) -> bool:
        try:
            mine, theirs = _key(self), _other_key(other)
        except InvalidVersion:
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __gt__(self, other: Any) -> bool:
        return self._cmp(other, "__gt__")

    def __ge__(self, other: Any) -> bool:
        return self._cmp(other, "__ge__")

    def __lt__(self, other: Any) -> bool:
        return self._cmp(other, "__lt__")

    def __le__(self, other: Any) -> bool:
        return self._cmp(other, "__le__")

    def __eq__(self, other: Any) -> bool:
        return self._cmp(other, "__eq__")

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


__version__ = TorchVersion(_internal_version)
