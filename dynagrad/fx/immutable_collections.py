"""The list and dict types a Node's ``args`` and ``kwargs`` hold: mutating them in place would bypass the
bookkeeping of ``Node.users``, so they refuse it and say how to assign a new copy instead.

>>> from dynagrad.fx.immutable_collections import immutable_list
>>> xs = immutable_list([1, 2])
>>> xs.append(3)
Traceback (most recent call last):
...
TypeError: 'immutable_list' object does not support mutation. If you are attempting to modify the kwargs ...
"""
from __future__ import annotations

__all__ = ["immutable_list", "immutable_dict"]

_HELP = ("If you are attempting to modify the kwargs or args of a torch.fx.Node object,\n"
         "instead create a new copy of it and assign the copy to the node:\n\n"
         "    new_args = ...  # copy and mutate args\n"
         "    node.args = new_args")


def _no_mutation(self, *args, **kwargs):
    raise TypeError(f"{type(self).__name__!r} object does not support mutation. {_HELP}")


class immutable_list(list):
    """A list that refuses in-place changes (hashable, as a tuple of its items)."""

    __delitem__ = __iadd__ = __imul__ = __setitem__ = _no_mutation
    append = clear = extend = insert = pop = remove = reverse = sort = _no_mutation

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self):
        return (type(self), (tuple(self),))


class immutable_dict(dict):
    """A dict that refuses in-place changes (hashable, as the frozenset of its items)."""

    __delitem__ = __ior__ = __setitem__ = _no_mutation
    clear = pop = popitem = setdefault = update = _no_mutation

    def __hash__(self) -> int:
        return hash(frozenset(self.items()))

    def __reduce__(self):
        return (type(self), (tuple(self.items()),))
