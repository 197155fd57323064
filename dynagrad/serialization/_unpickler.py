"""A pickle reader in pure Python, with every cost bounded before it is paid.

CPython's own unpickler trusts the numbers in the stream: a 9-byte pickle with ``LONG_BINPUT 2**26``
makes it allocate a 1 GB memo, a ``BINBYTES8`` length is believed until the read comes up short, and a
100,000-deep tuple is hashed by C recursion. This one

- keeps the memo in a dict, so an index costs one entry whatever its value;
- checks every length (``FRAME``, ``BINBYTES8``, ``BINUNICODE8``, ``BYTEARRAY8``, ``LONG4``, ...) against
  the bytes the stream really has left, before reading;
- tracks the nesting depth of the hashable containers it builds (tuples, frozensets) and refuses a
  pickle past :data:`MAX_DEPTH`, so nothing deep is ever hashed or compared;
- mutates only containers of the exact builtin types (``APPEND`` on a list, ``SETITEM`` on a dict,
  OrderedDict or Counter, ``ADDITEMS`` on a set): never a method of another object;
- and hands everything that could run code -- naming a global, calling it (``REDUCE``), creating an
  instance (``NEWOBJ``, ``INST``, ``OBJ``), setting its state (``BUILD``), persistent ids -- to a
  *policy* object, which decides (see ``_policy.py``). Extension codes and out-of-band buffers are refused.

Every failure is a :class:`CheckpointError` naming the file and the problem.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import struct
from collections import Counter, OrderedDict
from typing import Any, BinaryIO, Protocol

from ._errors import CheckpointError, UnsafeCheckpointError

MAX_DEPTH = 256  # containers inside containers, in any loaded structure
MAX_LINE = 1 << 16  # a text opcode's argument (protocol 0: GLOBAL names, INT, FLOAT, STRING)
MAX_LONG_BYTES = 1 << 16  # LONG1/LONG4 ints up to 2**524288: anything larger is not a checkpoint


class Policy(Protocol):
    def find_class(self, module: str, name: str, shown: str) -> Any: ...
    def persistent_load(self, pid: Any) -> Any: ...
    def reduce(self, func: Any, args: tuple) -> Any: ...
    def newobj(self, cls: Any, args: tuple, kwargs: dict | None) -> Any: ...
    def build(self, obj: Any, state: Any) -> None: ...


class _Mark:
    __slots__ = ()


_MARK = _Mark()
_SETTABLE = (dict, OrderedDict, Counter)


class Unpickler:
    """``Unpickler(stream, remaining, name, policy).load()`` reads one pickle from ``stream``, which has
    ``remaining`` bytes left; it stops right after the pickle's STOP, as ``pickle.load`` does."""

    def __init__(self, stream: BinaryIO, remaining: int, name: str, policy: Policy,
                 encoding: str = "ASCII", errors: str = "strict"):
        self.f, self.left, self.name, self.policy = stream, remaining, name, policy
        self.encoding, self.errors = encoding, errors
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.depths: dict[int, tuple[Any, int]] = {}  # id(tuple or frozenset) -> (it, nesting depth)
        self.proto = 0

    # -- reading, bounded ---------------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        if n < 0 or n > self.left:
            raise CheckpointError(f"{self.name}: corrupted pickle (an opcode claims {n} bytes, "
                                  f"{self.left} remain)")
        data = self.f.read(n)
        if len(data) != n:
            raise CheckpointError(f"{self.name}: file is truncated (pickle data ended early)")
        self.left -= n
        return data

    def readline(self) -> bytes:
        line = self.f.readline(min(MAX_LINE, self.left) + 1)
        self.left -= len(line)
        if not line.endswith(b"\n"):
            if len(line) > MAX_LINE:
                raise CheckpointError(f"{self.name}: corrupted pickle (text argument longer than {MAX_LINE})")
            raise CheckpointError(f"{self.name}: file is truncated (pickle data ended early)")
        return line[:-1]

    def uint(self, n: int) -> int:
        return int.from_bytes(self.read(n), "little")

    # -- the machine ------------------------------------------------------------------------------------
    def load(self) -> Any:
        try:
            return self._run()
        except CheckpointError:
            raise
        except RecursionError:
            raise CheckpointError(f"{self.name}: pickle is nested too deeply") from None
        except MemoryError:
            raise CheckpointError(f"{self.name}: pickle needs more memory than this machine has") from None
        except Exception as e:  # a malformed stream breaks the machine in many ways (TypeError, ...)
            raise CheckpointError(f"{self.name}: corrupted pickle data ({type(e).__name__}: "
                                  f"{str(e)[:200]})") from None

    def _run(self) -> Any:
        dispatch = _DISPATCH
        while True:
            op = self.read(1)
            fn = dispatch.get(op[0])
            if fn is None:
                raise CheckpointError(f"{self.name}: corrupted pickle (unknown opcode {op!r})")
            if fn is _stop:
                if len(self.stack) != 1 or self.marks:
                    raise CheckpointError(f"{self.name}: corrupted pickle (STOP with {len(self.stack)} "
                                          "items on the stack)")
                return self.stack.pop()
            fn(self)

    def pop(self) -> Any:
        if not self.stack:
            raise CheckpointError(f"{self.name}: corrupted pickle (stack underflow)")
        x = self.stack.pop()
        if x is _MARK:
            raise CheckpointError(f"{self.name}: corrupted pickle (unexpected MARK)")
        return x

    def top(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise CheckpointError(f"{self.name}: corrupted pickle (stack underflow)")
        return self.stack[-1]

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise CheckpointError(f"{self.name}: corrupted pickle (no MARK)")
        items = self.stack
        self.stack = self.marks.pop()
        if any(x is _MARK for x in items):  # pragma: no cover - marks never land on the data stack
            raise CheckpointError(f"{self.name}: corrupted pickle")
        return items

    def push(self, x: Any) -> None:
        self.stack.append(x)

    def depth_of(self, x: Any) -> int:
        got = self.depths.get(id(x))
        return got[1] if got is not None and got[0] is x else 0

    def hashable(self, x: Any, items) -> Any:
        """Record the depth of a new tuple or frozenset; refuse one nested past MAX_DEPTH."""
        d = 1 + max((self.depth_of(i) for i in items), default=0)
        if d > MAX_DEPTH:
            raise CheckpointError(f"{self.name}: structure is nested too deeply (more than {MAX_DEPTH} "
                                  "levels)")
        self.depths[id(x)] = (x, d)
        return x

    def tuple_(self, items: list[Any]) -> tuple:
        t = tuple(items)
        return self.hashable(t, t)

    def memo_get(self, i: int) -> Any:
        try:
            return self.memo[i]
        except KeyError:
            raise CheckpointError(f"{self.name}: corrupted pickle (memo entry {i} was never stored)") from None

    def memo_put(self, i: int) -> None:
        if i < 0 or i >= 1 << 32:
            raise CheckpointError(f"{self.name}: corrupted pickle (memo index {i})")
        self.memo[i] = self.top()

    def decode_str(self, data: bytes) -> Any:
        """A protocol 0-2 ``str`` of Python 2: bytes, decoded as ``encoding`` says (as pickle does)."""
        if self.encoding == "bytes":
            return data
        return data.decode(self.encoding, self.errors)

    def setitems(self, d: Any, items: list[Any]) -> None:
        if type(d) not in _SETTABLE:
            raise UnsafeCheckpointError(f"{self.name}: SETITEM on a {type(d).__name__}, not a dict")
        if len(items) % 2:
            raise CheckpointError(f"{self.name}: corrupted pickle (odd number of SETITEMS items)")
        for i in range(0, len(items), 2):
            d[items[i]] = items[i + 1]

    def global_(self, module: Any, name: Any) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            raise CheckpointError(f"{self.name}: corrupted pickle (global name is not a string)")
        shown = f"{module}.{name}"
        if self.proto < 3:  # protocol-2 pickles spell Python 3 names the Python 2 way (__builtin__.set)
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.push(self.policy.find_class(module, name, shown))


# -- opcodes ---------------------------------------------------------------------------------------------
def _stop(u: Unpickler) -> None:  # handled in _run
    raise AssertionError


def _proto(u: Unpickler) -> None:
    u.proto = u.uint(1)
    if u.proto > 5:
        raise CheckpointError(f"{u.name}: unsupported pickle protocol {u.proto}")


def _frame(u: Unpickler) -> None:
    n = u.uint(8)
    if n > u.left:
        raise CheckpointError(f"{u.name}: corrupted pickle (a frame of {n} bytes, {u.left} remain)")


def _int_text(u: Unpickler) -> None:
    line = u.readline()
    if line in (b"00", b"01"):  # protocol 0's False and True
        u.push(line == b"01")
    else:
        u.push(int(line))


def _long_text(u: Unpickler) -> None:
    line = u.readline()
    u.push(int(line[:-1] if line.endswith(b"L") else line))


def _long_n(width: int):
    def op(u: Unpickler) -> None:
        n = u.uint(width)
        if n > MAX_LONG_BYTES:
            raise CheckpointError(f"{u.name}: corrupted pickle (an int of {n} bytes)")
        u.push(int.from_bytes(u.read(n), "little", signed=True))
    return op


def _string_text(u: Unpickler) -> None:
    data = u.readline().rstrip()
    if len(data) < 2 or data[0] != data[-1] or data[0] not in b"\"'":
        raise CheckpointError(f"{u.name}: corrupted pickle (STRING opcode argument must be quoted)")
    u.push(u.decode_str(codecs.escape_decode(data[1:-1])[0]))


def _sized(width: int, kind: str):
    def op(u: Unpickler) -> None:
        data = u.read(u.uint(width))
        if kind == "str":
            u.push(data.decode("utf-8", "surrogatepass"))
        elif kind == "py2str":
            u.push(u.decode_str(data))
        elif kind == "bytearray":
            u.push(bytearray(data))
        else:
            u.push(data)
    return op


def _unicode_text(u: Unpickler) -> None:
    u.push(u.readline().decode("raw-unicode-escape"))


def _float_text(u: Unpickler) -> None:
    u.push(float(u.readline()))


def _get_text(u: Unpickler) -> None:
    u.push(u.memo_get(int(u.readline())))


def _put_text(u: Unpickler) -> None:
    u.memo_put(int(u.readline()))


def _append(u: Unpickler) -> None:
    x = u.pop()
    lst = u.top()
    if type(lst) is not list:
        raise UnsafeCheckpointError(f"{u.name}: APPEND to a {type(lst).__name__}, not a list")
    lst.append(x)


def _appends(u: Unpickler) -> None:
    items = u.pop_mark()
    lst = u.top()
    if type(lst) is not list:
        raise UnsafeCheckpointError(f"{u.name}: APPENDS to a {type(lst).__name__}, not a list")
    lst.extend(items)


def _setitem(u: Unpickler) -> None:
    v, k = u.pop(), u.pop()
    u.setitems(u.top(), [k, v])


def _setitems(u: Unpickler) -> None:
    items = u.pop_mark()
    u.setitems(u.top(), items)


def _additems(u: Unpickler) -> None:
    items = u.pop_mark()
    s = u.top()
    if type(s) is not set:
        raise UnsafeCheckpointError(f"{u.name}: ADDITEMS to a {type(s).__name__}, not a set")
    s.update(items)


def _dict_mark(u: Unpickler) -> None:
    items = u.pop_mark()
    d: dict = {}
    u.setitems(d, items)
    u.push(d)


def _tuple_n(n: int):
    def op(u: Unpickler) -> None:
        items = [u.pop() for _ in range(n)][::-1]
        u.push(u.tuple_(items))
    return op


def _frozenset(u: Unpickler) -> None:
    items = u.pop_mark()
    u.push(u.hashable(frozenset(items), items))


def _reduce(u: Unpickler) -> None:
    args = u.pop()
    func = u.pop()
    if type(args) is not tuple:
        raise CheckpointError(f"{u.name}: corrupted pickle (REDUCE arguments are not a tuple)")
    u.push(u.policy.reduce(func, args))


def _newobj(u: Unpickler) -> None:
    args = u.pop()
    cls = u.pop()
    if type(args) is not tuple:
        raise CheckpointError(f"{u.name}: corrupted pickle (NEWOBJ arguments are not a tuple)")
    u.push(u.policy.newobj(cls, args, None))


def _newobj_ex(u: Unpickler) -> None:
    kwargs, args, cls = u.pop(), u.pop(), u.pop()
    if type(args) is not tuple or type(kwargs) is not dict:
        raise CheckpointError(f"{u.name}: corrupted pickle (bad NEWOBJ_EX arguments)")
    u.push(u.policy.newobj(cls, args, kwargs))


def _inst(u: Unpickler) -> None:
    module = u.readline().decode("ascii")
    name = u.readline().decode("ascii")
    args = u.pop_mark()
    u.global_(module, name)
    cls = u.pop()
    u.push(u.policy.reduce(cls, tuple(args)))


def _obj(u: Unpickler) -> None:
    items = u.pop_mark()
    if not items:
        raise CheckpointError(f"{u.name}: corrupted pickle (OBJ without a class)")
    u.push(u.policy.reduce(items[0], tuple(items[1:])))


def _build(u: Unpickler) -> None:
    state = u.pop()
    u.policy.build(u.top(), state)


def _global_text(u: Unpickler) -> None:
    module = u.readline().decode("utf-8")
    name = u.readline().decode("utf-8")
    u.global_(module, name)


def _stack_global(u: Unpickler) -> None:
    name, module = u.pop(), u.pop()
    u.global_(module, name)


def _persid_text(u: Unpickler) -> None:
    u.push(u.policy.persistent_load(u.readline().decode("ascii")))


def _binpersid(u: Unpickler) -> None:
    u.push(u.policy.persistent_load(u.pop()))


def _refused(what: str):
    def op(u: Unpickler) -> None:
        raise UnsafeCheckpointError(f"{u.name}: pickle uses {what}, which dynagrad does not load")
    return op


def _mark(u: Unpickler) -> None:
    u.marks.append(u.stack)
    u.stack = []


def _pop(u: Unpickler) -> None:
    if u.stack:
        u.pop()
    else:
        u.pop_mark()


def _list_mark(u: Unpickler) -> None:
    u.push(u.pop_mark())


def _tuple_mark(u: Unpickler) -> None:
    u.push(u.tuple_(u.pop_mark()))


def _dup(u: Unpickler) -> None:
    u.push(u.top())


def _memoize(u: Unpickler) -> None:
    u.memo_put(len(u.memo))


_DISPATCH: dict[int, Any] = {
    ord("."): _stop, 0x80: _proto, 0x95: _frame,
    ord("("): _mark, ord("0"): _pop, ord("1"): lambda u: u.pop_mark(), ord("2"): _dup,
    ord("N"): lambda u: u.push(None), 0x88: lambda u: u.push(True), 0x89: lambda u: u.push(False),
    ord("I"): _int_text, ord("J"): lambda u: u.push(struct.unpack("<i", u.read(4))[0]),
    ord("K"): lambda u: u.push(u.uint(1)), ord("M"): lambda u: u.push(u.uint(2)),
    ord("L"): _long_text, 0x8A: _long_n(1), 0x8B: _long_n(4),
    ord("F"): _float_text, ord("G"): lambda u: u.push(struct.unpack(">d", u.read(8))[0]),
    ord("S"): _string_text, ord("T"): _sized(4, "py2str"), ord("U"): _sized(1, "py2str"),
    ord("V"): _unicode_text, ord("X"): _sized(4, "str"), 0x8C: _sized(1, "str"), 0x8D: _sized(8, "str"),
    ord("B"): _sized(4, "bytes"), ord("C"): _sized(1, "bytes"), 0x8E: _sized(8, "bytes"),
    0x96: _sized(8, "bytearray"),
    ord("]"): lambda u: u.push([]), ord("l"): _list_mark, ord("a"): _append, ord("e"): _appends,
    ord("}"): lambda u: u.push({}), ord("d"): _dict_mark, ord("s"): _setitem, ord("u"): _setitems,
    ord(")"): lambda u: u.push(()), ord("t"): _tuple_mark,
    0x85: _tuple_n(1), 0x86: _tuple_n(2), 0x87: _tuple_n(3),
    0x8F: lambda u: u.push(set()), 0x90: _additems, 0x91: _frozenset,
    ord("g"): _get_text, ord("h"): lambda u: u.push(u.memo_get(u.uint(1))),
    ord("j"): lambda u: u.push(u.memo_get(u.uint(4))),
    ord("p"): _put_text, ord("q"): lambda u: u.memo_put(u.uint(1)), ord("r"): lambda u: u.memo_put(u.uint(4)),
    0x94: _memoize,
    ord("c"): _global_text, 0x93: _stack_global, ord("i"): _inst, ord("o"): _obj,
    ord("R"): _reduce, 0x81: _newobj, 0x92: _newobj_ex, ord("b"): _build,
    ord("P"): _persid_text, ord("Q"): _binpersid,
    0x82: _refused("the extension registry (EXT1)"), 0x83: _refused("the extension registry (EXT2)"),
    0x84: _refused("the extension registry (EXT4)"), 0x97: _refused("out-of-band buffers (NEXT_BUFFER)"),
    0x98: _refused("out-of-band buffers (READONLY_BUFFER)"),
}
