"""Random numbers (``torch.random`` and the sampling functions of ``torch``), drawn as PyTorch draws them.

The generator is MT19937 seeded as PyTorch seeds its CPU generator, and every sampler consumes its stream
with PyTorch's CPU algorithm (dynagrad/_rng), so a seeded program gets PyTorch's numbers bit for bit:
``rand``, ``randn``, ``randint``, ``randperm``, the in-place ``uniform_``/``normal_``/``random_``/
``bernoulli_``/``exponential_``/``geometric_``/``cauchy_``/``log_normal_``, ``bernoulli``, ``multinomial``,
``poisson``, ``binomial``, ``normal``, the ``*_like`` functions, the Gamma and Dirichlet samplers behind
``torch.distributions``, dropout, and weight initialisation. ``get_rng_state`` returns PyTorch's 5056-byte
state, so states move between the two.

>>> import dynagrad
>>> _ = dynagrad.manual_seed(0)
>>> dynagrad.rand(3)
tensor([0.4963, 0.7682, 0.0885])
>>> dynagrad.bernoulli(dynagrad.full((6,), 0.5))
tensor([1., 1., 0., 1., 0., 1.])
"""
from __future__ import annotations

import contextlib
import functools
import operator
import os

import numpy as np

from . import dtypes
from ._device import _check_device
from ._device import device as _device_cls
from ._rng import kernels as _K
from ._rng import rejection as _rej
from .autograd import state as _state

_DEFAULT_SEED = 67280421310721  # c10::detail::default_rng_seed_val: a new Generator's seed
_STATE_SIZE = 5056  # sizeof(CPUGeneratorImplState)
_N = 624


class Generator:
    """A source of random numbers; pass one as ``generator=`` to draw independently of the global one.

    MT19937 seeded as PyTorch seeds it, drawn with PyTorch's algorithms: the same seed gives PyTorch's
    numbers, and ``get_state`` gives PyTorch's byte layout.

    >>> import dynagrad
    >>> g = dynagrad.Generator().manual_seed(0)
    >>> dynagrad.rand(2, generator=g)
    tensor([0.4963, 0.7682])
    >>> g.initial_seed()
    0
    """

    def __init__(self, device="cpu") -> None:
        d = device if isinstance(device, _device_cls) else _device_cls(device)
        if d.type not in ("cpu", "meta"):
            raise RuntimeError(f"Cannot get {d.type.upper()} generator: dynagrad computes on the CPU only "
                               f"(PyTorch's CPU build raises here too)")
        self._device = d
        self._next_float = None  # PyTorch's cached second float Box-Muller value (kept in the state)
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed) -> Generator:
        """Seed the generator and return it (negative seeds wrap to 64 bits, as PyTorch)."""
        if _state.tracer is not None:
            _state.tracer.rng_state(self, "manual_seed")
        if isinstance(seed, str):
            seed = int(seed)
        seed = int(seed)
        if not -(1 << 63) <= seed < 1 << 64:
            raise ValueError("Overflow when unpacking long long")
        seed &= (1 << 64) - 1
        self._seed = seed
        bits = np.random.MT19937(0)  # seeded: an unseeded one reads OS entropy (30 ms)
        bits._legacy_seeding(seed & 0xFFFFFFFF)  # init_genrand, as at::mt19937 (only the low 32 bits)
        self._bits = bits
        self._np = np.random.Generator(bits)
        self._fresh = True  # seeded and not drawn from: PyTorch's state then says next=0
        self._next_double = None
        self._next_float = None
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy and return the seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    # -- raw draws: PyTorch's random() and random64() ---------------------------------------------------
    def _raw32(self, n: int) -> np.ndarray:
        self._fresh = False
        return self._bits.random_raw(n)

    def _raw64(self, n: int) -> np.ndarray:
        """``random64()``: ``(first << 32) | second`` of two 32-bit outputs, as uint64 (NumPy's full-range
        uint64 draw combines two MT19937 outputs in that order)."""
        self._fresh = False
        if n < 1024:  # integers() costs ~6 us a call, random_raw() ~1 us
            r = self._bits.random_raw(2 * n)
            return (r[0::2] << np.uint64(32)) | r[1::2]
        return self._np.integers(0, 0xFFFFFFFFFFFFFFFF, size=n, dtype=np.uint64, endpoint=True)

    def _words(self, n: int) -> np.ndarray:
        """``n`` ``random()`` outputs as uint32."""
        self._fresh = False
        if n < 1024:
            return self._bits.random_raw(n).astype(np.uint32)
        return self._np.integers(0, 0xFFFFFFFF, size=n, dtype=np.uint32, endpoint=True)

    # -- state in PyTorch's layout ---------------------------------------------------------------------
    def get_state(self):
        """The state as a uint8 tensor in PyTorch's ``CPUGeneratorImplState`` layout (5056 bytes)."""
        from .tensor import Tensor
        if _state.tracer is not None:
            _state.tracer.rng_state(self, "get_state")
        st = self._bits.state["state"]
        pos = int(st["pos"])
        buf = np.zeros(_STATE_SIZE, np.uint8)
        buf[0:8] = np.frombuffer(np.uint64(self._seed).tobytes(), np.uint8)
        left, nxt = (1, 0) if self._fresh else (625 - pos, pos)
        buf[8:16] = np.frombuffer(np.array([left, 1], np.int32).tobytes(), np.uint8)
        buf[16:24] = np.frombuffer(np.uint64(nxt).tobytes(), np.uint8)
        buf[24:24 + 8 * _N] = np.frombuffer(st["key"].astype(np.uint64).tobytes(), np.uint8)
        if self._next_double is not None:
            buf[5024:5032] = np.frombuffer(np.float64(self._next_double).tobytes(), np.uint8)
            buf[5040:5044] = np.frombuffer(np.int32(1).tobytes(), np.uint8)
        if self._next_float is not None:
            buf[5048:5052] = np.frombuffer(np.float32(self._next_float).tobytes(), np.uint8)
            buf[5052] = 1
        return Tensor._wrap(buf)

    def set_state(self, new_state) -> Generator:
        """Restore a state from :meth:`get_state` (or from ``torch.get_rng_state()``)."""
        if _state.tracer is not None:
            _state.tracer.rng_state(self, "set_state")
        arr = new_state._data if hasattr(new_state, "_data") else np.asarray(new_state)
        if arr.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = np.ascontiguousarray(arr).reshape(-1)
        if raw.size != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but found the input RNG "
                               f"state size to be {raw.size}")
        b = raw.tobytes()
        seed = int(np.frombuffer(b, np.uint64, 1, 0)[0])
        left, seeded = (int(v) for v in np.frombuffer(b, np.int32, 2, 8))
        nxt = int(np.frombuffer(b, np.uint64, 1, 16)[0])
        if not (seeded and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(b, np.uint64, _N, 24).astype(np.uint32)
        bits = np.random.MT19937(0)
        # left counts the outputs before the next twist: pos = 625 - left (left == 1: twist next)
        bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 625 - left}}
        self._bits = bits
        self._np = np.random.Generator(bits)
        self._seed = seed
        self._fresh = left == 1 and nxt == 0
        valid = int(np.frombuffer(b, np.int32, 1, 5040)[0])
        self._next_double = float(np.frombuffer(b, np.float64, 1, 5024)[0]) if valid else None
        self._next_float = float(np.frombuffer(b, np.float32, 1, 5048)[0]) if b[5052] else None
        return self

    def _snapshot(self) -> tuple:
        """Everything a draw changes (dynagrad.compile checks that its recorded draws account for it)."""
        return (self._bits.state, self._next_double, self._next_float, self._fresh)

    def clone_state(self) -> Generator:
        """A new generator in this one's state."""
        g = Generator()
        g.set_state(self.get_state())
        return g

    def __reduce__(self):
        return (_rebuild, (self.get_state()._data.tobytes(),))

    def __repr__(self) -> str:
        return f"<dynagrad.Generator object at {hex(id(self))}>"


def _rebuild(state: bytes) -> Generator:
    g = Generator()
    g.set_state(np.frombuffer(state, np.uint8).copy())
    return g


default_generator = Generator()
default_generator.seed()  # PyTorch seeds its global generator from the OS at start-up


def _gen(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a torch.Generator, not {type(generator).__name__}")
    return generator


def manual_seed(seed) -> Generator:
    """Seed the global generator and return it, as ``torch.manual_seed``.

    >>> import dynagrad
    >>> dynagrad.manual_seed(3) is dynagrad.default_generator
    True
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from the operating system and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the global generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The global generator's state (a 5056-byte uint8 tensor, PyTorch's layout)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the global generator's state from :func:`get_rng_state`."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type=None):
    """Restore the global generator's state on leaving the block (``torch.random.fork_rng``).

    >>> import dynagrad
    >>> with dynagrad.random.fork_rng():
    ...     _ = dynagrad.rand(3)
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


# -- array-level draws --------------------------------------------------------------------------------------
# Each takes the shape first and returns a NumPy array in C order (vmap's randomness='different' wraps these
# by name, prepending its batch dims to the shape: see func/_vmap.py). The values are in PyTorch's
# TensorIterator order for a contiguous tensor; in-place fills of other layouts pass the iteration view's
# shape (see iteration_view).

def _count(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _memory_order(arr: np.ndarray) -> list:
    """Axes from largest to smallest stride (size-1 axes keep their place): TensorIterator's walk."""
    return sorted(range(arr.ndim), key=lambda i: (-abs(arr.strides[i]) if arr.shape[i] > 1 else 0, i))


def iteration_view(arr: np.ndarray) -> np.ndarray:
    """``arr`` with its axes ordered as PyTorch's TensorIterator walks it (largest stride outermost), so
    that filling the view in C order fills ``arr`` in PyTorch's order."""
    if arr.flags.c_contiguous or arr.ndim < 2:
        return arr
    return arr.transpose(_memory_order(arr))


def like_order(arr: np.ndarray):
    """The axis order of PyTorch's ``empty_like(arr)``: ``arr``'s own when it is a permutation of a dense
    layout (no gaps, no overlaps), else C order (None)."""
    if arr.flags.c_contiguous or arr.ndim < 2:
        return None
    order = _memory_order(arr)
    expect = arr.itemsize
    for ax in reversed(order):
        if arr.shape[ax] == 1:
            continue
        if abs(arr.strides[ax]) != expect or arr.strides[ax] < 0:
            return None
        expect *= arr.shape[ax]
    return order


def draw_like(arr: np.ndarray, draw) -> np.ndarray:
    """``draw(shape, contiguous)`` laid out as ``empty_like(arr)``: drawn in that layout's memory order
    and returned in ``arr``'s logical shape."""
    order = like_order(arr)
    if order is None:
        return draw(arr.shape, True)
    vals = draw(tuple(arr.shape[i] for i in order), False)  # a permuted tensor is not contiguous
    return vals.transpose(np.argsort(order))


def _kernel(fn):
    """Mark ``fn`` as a random kernel: an array drawn from a generator given its arguments (shapes, bounds,
    dtypes, the generator, input arrays). While dynagrad.compile traces, a call is recorded as one draw that
    the compiled program repeats by calling the kernel again, so compiled code draws eager's numbers; a
    draw along any other path changes a generator's state unaccounted for, and the function runs eagerly."""
    @functools.wraps(fn)
    def kernel(*args, **kwargs):
        tr = _state.tracer
        if tr is not None and not tr.depth:
            return tr.draw_call(kernel, fn, args, kwargs)
        return fn(*args, **kwargs)
    return kernel


@_kernel
def unit_array(shape, bits: int, generator=None) -> np.ndarray:
    """Uniforms in [0, 1): float32 from 24-bit draws or float64 from 53-bit draws."""
    gen = _gen(generator)
    n = _count(shape)
    vals = _K.u53(gen, n) if bits == 53 else _K.u24(gen, n)
    return vals.reshape(shape)


@_kernel
def uniform_array(shape, low, high, np_dtype, generator=None) -> np.ndarray:
    """``uniform_(low, high)`` values."""
    return _K.uniform(_gen(generator), _count(shape), float(low), float(high), np.dtype(np_dtype)).reshape(shape)


@_kernel
def normal_array(shape, mean, std, np_dtype, generator=None, contiguous: bool = True) -> np.ndarray:
    """``normal_(mean, std)`` values (``contiguous=False``: the per-element path of a strided tensor)."""
    gen = _gen(generator)
    vals = _K.normal(gen, _count(shape), float(mean), float(std), np.dtype(np_dtype), contiguous)
    return vals.reshape(shape)


@_kernel
def bernoulli_array(shape, p: float, np_dtype, generator=None, scale=None) -> np.ndarray:
    """``bernoulli_(p)`` with a number ``p``: 1 (or ``scale``) where a double uniform is below ``p``."""
    mask = _K.bernoulli_scalar(_gen(generator), _count(shape), float(p)).reshape(shape)
    if scale is None:
        return mask.astype(np_dtype)
    return np.multiply(mask, np.asarray(scale).astype(np_dtype)[()])


def bernoulli_probs(probs: np.ndarray, np_dtype, generator=None) -> np.ndarray:
    """``bernoulli_(p_tensor)``: double probabilities compare with double uniforms, others with float."""
    if probs.dtype == np.float64:
        u = unit_array(probs.shape, 53, generator)
        return (u < probs).astype(np_dtype)
    u = unit_array(probs.shape, 24, generator)
    return (u < probs.astype(np.float32)).astype(np_dtype)


@_kernel
def exponential_array(shape, lambd, np_dtype, generator=None) -> np.ndarray:
    return _K.cast(_K.exponential(_gen(generator), _count(shape), float(lambd)), np_dtype).reshape(shape)


@_kernel
def geometric_array(shape, p, np_dtype, generator=None) -> np.ndarray:
    return _K.cast(_K.geometric(_gen(generator), _count(shape), float(p)), np_dtype).reshape(shape)


@_kernel
def cauchy_array(shape, median, sigma, np_dtype, generator=None) -> np.ndarray:
    return _K.cast(_K.cauchy(_gen(generator), _count(shape), float(median), float(sigma)), np_dtype).reshape(shape)


@_kernel
def log_normal_array(shape, mean, std, np_dtype, generator=None) -> np.ndarray:
    return _K.cast(_K.log_normal(_gen(generator), _count(shape), float(mean), float(std)), np_dtype).reshape(shape)


def _digits(np_dtype) -> int:
    return {np.dtype(np.float64): 53, np.dtype(np.float32): 24, np.dtype(np.float16): 11}.get(np.dtype(np_dtype), 8)


def _float_limits(np_dtype):
    if np.dtype(np_dtype).kind == "V":
        return -3.3895313892515355e38, 3.3895313892515355e38
    fi = np.finfo(np_dtype)
    return float(fi.min), float(fi.max)


def _update_from(low: int, np_dtype) -> int:
    """PyTorch moves ``from`` up to the next value that stays >= from once cast to a float dtype."""
    plus = int(_K._int_cast(np.array([low + 1], np.int64), np.dtype(np_dtype)).astype(np.float64)[0])
    if plus < low:
        n = (abs(low + 1)).bit_length() - 1
        low = plus + (1 << (n - _digits(np_dtype) + 1))
    return low


def _update_to(high: int, np_dtype) -> int:
    minus = int(_K._int_cast(np.array([high - 1], np.int64), np.dtype(np_dtype)).astype(np.float64)[0])
    if minus >= high:
        n = (abs(high - 1)).bit_length() - 1
        high = minus - (1 << (n - _digits(np_dtype) + 1))
    return high


def _check_int_bounds(low: int, to_inc: int, np_dtype) -> None:
    d = np.dtype(np_dtype)
    name = dtypes.as_dtype(d).name if d.kind != "V" else "bfloat16"
    if d.kind in "fV":
        lo, hi = _float_limits(d)
    elif d == np.bool_:
        lo, hi = 0, 1
    else:
        lo, hi = int(np.iinfo(d).min), int(np.iinfo(d).max)
    for value, what in ((low, "from"), (to_inc, "to - 1")):
        if not lo <= value <= hi:
            raise RuntimeError(f"{what} is out of bounds for {name}")


@_kernel
def random_integers(shape, low, high, np_dtype, generator=None) -> np.ndarray:
    """``random_(low, high)``: integers in [low, high); ``high=None`` means up to the dtype's largest
    integer (``2**mantissa`` for floats), inclusive."""
    d = np.dtype(np_dtype)
    low = int(low)
    if high is None:
        if low == -(1 << 63):
            return random_integers_full64(shape, d, generator)
        if d.kind in "fV":
            to_inc = min(1 << _digits(d), (1 << 63) - 1)
            low = _update_from(low, d)
            if low >= to_inc:
                raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' "
                                   f"casted to dtype, but got from={low} > to_inc={to_inc}")
        elif d == np.bool_:
            to_inc = 1
        else:
            to_inc = int(np.iinfo(d).max)
        _check_int_bounds(low, to_inc, d)
        span = to_inc - low + 1
    else:
        high = int(high)
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        if d.kind in "fV":
            low, high = _update_from(low, d), _update_to(high, d)
            if low >= high:
                raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, "
                                   f"but got from={low} >= to={high}")
        _check_int_bounds(low, high - 1, d)
        span = high - low
    vals = _K.random_from_to(_gen(generator), _count(shape), low, span, d)
    return vals.reshape(shape)


@_kernel
def random_integers_full64(shape, np_dtype, generator=None) -> np.ndarray:
    """``random_(-2**63)``: the whole 64-bit range (int64, float, double and bfloat16 only)."""
    d = np.dtype(np_dtype)
    if d.name not in _K._WIDE:
        raise RuntimeError("random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16")
    vals = _K.random_from_to(_gen(generator), _count(shape), 0, 1 << 64, d)
    return vals.reshape(shape)


@_kernel
def random_full(shape, np_dtype, generator=None) -> np.ndarray:
    """``random_()`` with no bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    return _K.random_full(_gen(generator), _count(shape), np.dtype(np_dtype)).reshape(shape)


# -- tensor-level functions ---------------------------------------------------------------------------------

def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)) or (len(size) == 1 and hasattr(size[0], "__len__")):
        size = size[0]
    return tuple(operator.index(s) for s in size)


def _float_dtype(dtype):
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{d.name.capitalize()}'")
    return d


def _finish(arr, requires_grad=False, out=None):
    from .tensor import Tensor
    if out is not None:
        out._data = np.ascontiguousarray(arr).astype(out._data.dtype, copy=False)
        from .tensor import bump_version
        bump_version(out)
        return out
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape_arg(shape, size):
    if size is not None:
        return _size((size,))
    return _size(shape) if shape else ()


def rand(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform samples in [0, 1); ``rand(2, 3)``, ``rand((2, 3))`` or ``rand(size=(2, 3))``.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.rand(2, 2)
    tensor([[0.4963, 0.7682],
            [0.0885, 0.1320]])
    """
    _check_device(device, True, pin_memory)
    shape = _shape_arg(shape, size)
    d = _float_dtype(dtype)
    return _finish(uniform_array(shape, 0, 1, d.numpy, generator), requires_grad, out)


def randn(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal samples.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.randn(3)
    tensor([ 1.5410, -0.2934, -2.1788])
    """
    _check_device(device, True, pin_memory)
    shape = _shape_arg(shape, size)
    d = _float_dtype(dtype)
    return _finish(normal_array(shape, 0, 1, d.numpy, generator), requires_grad, out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers in [low, high); ``randint(high, size)`` starts at 0.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.randint(0, 10, (5,))
    tensor([4, 9, 3, 0, 3])
    """
    _check_device(device, True, pin_memory)
    if size is None:
        if high is None or not isinstance(high, (tuple, list)) and not hasattr(high, "__len__"):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    if requires_grad and not d.is_floating_point:
        raise RuntimeError("Only Tensors of floating point dtype can require gradients")
    vals = random_integers(_size((size,)), operator.index(low), operator.index(high), d.numpy, generator)
    return _finish(vals, requires_grad, out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1 (PyTorch's Fisher-Yates on its stream).

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.randperm(5)
    tensor([4, 0, 1, 3, 2])
    """
    _check_device(device, True, pin_memory)
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    perm = _K.randperm(_gen(generator), n)
    return _finish(perm.astype(d.numpy), requires_grad, out)


def _like_shape(x, fn_name):
    from .tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn_name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x._data


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """Uniforms in [0, 1) shaped like ``input``."""
    _check_device(device, True)
    arr = _like_shape(input, "rand_like")
    d = _float_dtype(dtype or input.dtype)
    return _finish(draw_like(arr, lambda s, c: uniform_array(s, 0, 1, d.numpy, generator)),
                   requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """Standard normals shaped like ``input``."""
    _check_device(device, True)
    arr = _like_shape(input, "randn_like")
    d = _float_dtype(dtype or input.dtype)
    return _finish(draw_like(arr, lambda s, c: normal_array(s, 0, 1, d.numpy, generator, c)),
                   requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    """Integers in [low, high) shaped like ``input`` (``randint_like(x, high)`` starts at 0)."""
    _check_device(device, True)
    arr = _like_shape(input, "randint_like")
    if high is None:
        low, high = 0, low
    d = dtypes.as_dtype(dtype) if dtype is not None else input.dtype
    return _finish(draw_like(arr, lambda s, c: random_integers(s, low, high, d.numpy, generator)),
                   requires_grad)


def _zero_grad_result(arr, inputs, name: str):
    """``arr`` as the output of an op whose gradient is zero for every input (PyTorch's normal and
    bernoulli), so it requires grad when an input does."""
    from .tensor import Tensor
    wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wanted:
        return Tensor._wrap(arr)
    from .autograd import state
    if not state.grad_enabled:
        return Tensor._wrap(arr)
    from .autograd.function import Op

    class _Sampled(Op):
        def forward(ctx, *xs):
            return arr

        def backward(self, g):
            return tuple(g * 0 for _ in range(len(wanted)))

    _Sampled.__name__ = _Sampled.__qualname__ = name
    return _Sampled.apply(*wanted)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples. ``mean`` and ``std`` may be Tensors (broadcast: the result has their shape, and
    gradients of zero, as PyTorch's), or numbers with ``size``.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.normal(2.0, 3.0, size=(3,))
    tensor([ 6.6230,  1.1197, -4.5364])
    """
    _check_device(device, True, pin_memory)
    from .tensor import Tensor
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (tm or ts):
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: expected a Tensor mean or "
                            "std, or a size")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        d = _float_dtype(dtype)
        return _finish(normal_array(_size((size,)), mean, std, d.numpy, generator), requires_grad, out)
    if ts and std.numel() and (std._data < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not ts and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if tm:
        dt = mean._data.dtype
        shape = np.broadcast_shapes(mean._data.shape, std._data.shape) if ts else mean._data.shape
    else:
        dt = std._data.dtype
        shape = std._data.shape
    if dt.kind not in "fVc":
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{dtypes.as_dtype(dt).name}'")
    if tm and not ts:
        res = normal_array(shape, 0, std, dt, generator) + mean._data
    else:
        res = normal_array(shape, 0, 1, dt, generator) * std._data
        res = res + (mean._data if tm else np.asarray(mean, dt))
    res = np.asarray(res).astype(dt, copy=False)
    if out is not None:
        return _finish(res, out=out)
    return _zero_grad_result(res, (mean, std), "NormalBackward3" if tm and ts else
                             ("NormalBackward1" if tm else "NormalBackward2"))


def bernoulli(input, p=None, *, generator=None, out=None):
    """1 with probability ``input`` (or the number ``p``) per element, else 0, in ``input``'s dtype.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.bernoulli(dynagrad.tensor([0.0, 1.0, 0.5, 0.5]))
    tensor([0., 1., 1., 1.])
    """
    arr = input._data
    if p is None:
        probs = np.ascontiguousarray(arr)
        if probs.size and not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        res = bernoulli_probs(probs, arr.dtype, generator)
    else:
        p = float(p)
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        res = bernoulli_array(arr.shape, p, arr.dtype, generator)
    if out is not None:
        return _finish(res, out=out)
    return _zero_grad_result(res, (input,), "BernoulliBackward0" if p is None else "BernoulliBackward1")


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None, out=None):
    """Category indices drawn with the (unnormalised) weights of each row of ``input``, as PyTorch:
    without replacement (or for one sample) the largest ``p / Exp(1)``; with replacement a search of the
    cumulative distribution with double uniforms.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.multinomial(dynagrad.tensor([0.1, 0.2, 0.7]), 4, replacement=True)
    tensor([2, 2, 2, 2])
    """
    from .tensor import Tensor
    gen = _gen(generator)
    p = input._data
    if not 0 < p.ndim <= 2:
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind not in "fV":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{dtypes.as_dtype(p.dtype).name.capitalize()}")
    num_samples = operator.index(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_cat = p.shape[-1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if n_cat > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = p.reshape(-1, n_cat)
    if rows.shape[0] == 0:
        res = np.zeros(p.shape[:-1] + (num_samples,), np.int64)
    elif not replacement or num_samples == 1:
        wide = rows.astype(np.float64)
        if not (np.isfinite(wide).all() and (wide >= 0).all()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (wide.sum(axis=1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = _K.cast(_K.exponential(gen, rows.size, 1.0), rows.dtype).reshape(rows.shape)
        q = (rows / q).astype(rows.dtype)
        if num_samples == 1:
            res = np.argmax(q, axis=1)[:, None]
        else:
            res = np.argsort(-q.astype(np.float64), axis=1, kind="stable")[:, :num_samples]
        res = res.astype(np.int64)
    else:
        wide = rows.astype(np.float64)
        if (wide < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if not np.isfinite(wide).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or "
                               "NaN)")
        if (wide.sum(axis=1) <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        res = _K.multinomial_with_replacement(gen, rows, num_samples)
    res = res.reshape(p.shape[:-1] + (num_samples,))
    if out is not None:
        return _finish(res, out=out)
    return Tensor._wrap(res)


def poisson(input, generator=None):
    """Poisson counts with the rates in ``input`` (in its dtype).

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.poisson(dynagrad.tensor([1.0, 4.0, 20.0]))
    tensor([ 2.,  5., 17.])
    """
    from .tensor import Tensor
    arr = input._data
    vals = _rej.poisson(_gen(generator), arr)
    return Tensor._wrap(_K.cast(vals, arr.dtype).reshape(arr.shape))


def binomial(count, prob, generator=None):
    """Binomial counts (BTRS above 10 expected successes, inversion below), as ``torch.binomial``.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> dynagrad.binomial(dynagrad.tensor([10.0, 100.0]), dynagrad.tensor([0.5, 0.3]))
    tensor([ 7., 31.])
    """
    from .tensor import Tensor
    c, p = count._data, prob._data
    for arr, what in ((c, "count"), (p, "prob")):
        if arr.dtype.kind not in "fV":
            raise ValueError(f"binomial only supports floating-point dtypes for {what}, got: "
                             f"{dtypes.as_dtype(arr.dtype).name.capitalize()}")
    p = np.broadcast_to(p, c.shape)
    vals = _rej.binomial(_gen(generator), c, p)
    return Tensor._wrap(_K.cast(vals, c.dtype).reshape(c.shape))


@_kernel
def standard_gamma_array(alpha: np.ndarray, generator=None) -> np.ndarray:
    """``_standard_gamma`` values for float32/float64 concentrations (at least the smallest normal)."""
    if alpha.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"\"gamma_cpu\" not implemented for '{dtypes.as_dtype(alpha.dtype).name.capitalize()}'")
    vals = _rej.standard_gamma(_gen(generator), alpha).astype(alpha.dtype).reshape(alpha.shape)
    return np.maximum(vals, np.finfo(alpha.dtype).tiny)


@_kernel
def sample_dirichlet_array(alpha: np.ndarray, generator=None, parts: bool = False):
    """``_sample_dirichlet`` values: double Gamma draws normalised along the last dim (summed in order),
    cast and clamped to (0, 1). ``parts=True`` also returns the Gammas and their sums (for gradients)."""
    if alpha.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"\"dirichlet\" not implemented for '{dtypes.as_dtype(alpha.dtype).name.capitalize()}'")
    g = _rej.standard_gamma(_gen(generator), alpha.astype(np.float64)).reshape(alpha.shape)
    g = np.maximum(g, np.finfo(np.float64).tiny)
    total = np.add.accumulate(g, axis=-1)[..., -1:] if g.ndim else g
    x = (g / total).astype(alpha.dtype)
    x = np.clip(x, np.finfo(alpha.dtype).tiny, np.nextafter(alpha.dtype.type(1), alpha.dtype.type(0)))
    return (x, g, total) if parts else x


def _standard_gamma(input, generator=None):
    """Gamma(input, 1) draws, differentiable in ``input`` (``torch._standard_gamma``)."""
    from .distributions._special import _standard_gamma as sg
    return sg(input, generator)


def _sample_dirichlet(input, generator=None):
    """Dirichlet draws along the last dim, differentiable in ``input`` (``torch._sample_dirichlet``)."""
    from .distributions.dirichlet import _sample_dirichlet as sd
    return sd(input, generator)


# -- dropout masks ---------------------------------------------------------------------------------------

def dropout_noise(shape, p: float, np_dtype, generator=None, like: np.ndarray | None = None) -> np.ndarray:
    """The noise PyTorch's CPU dropout multiplies by: ``bernoulli_(1 - p)`` in the input's dtype, then
    ``div_(1 - p)``, which divides by ``1 - p`` rounded to float (double for float64 inputs) and rounds
    the quotient to the dtype. ``like``: the input, whose layout (``empty_like``) orders the draws."""
    d = np.dtype(np_dtype)
    keep = 1.0 - p
    scale = 1.0 / keep if d == np.float64 else np.float32(1) / np.float32(keep)
    if like is not None and like.shape == tuple(shape):
        return draw_like(like, lambda s, c: bernoulli_array(s, keep, d, generator, scale))
    return bernoulli_array(shape, keep, d, generator, scale)


def _vmap_draw_names() -> tuple:
    """The array-level draws vmap wraps for randomness='different'."""
    return ("unit_array", "uniform_array", "normal_array", "bernoulli_array", "exponential_array",
            "geometric_array", "cauchy_array", "log_normal_array", "random_integers", "random_integers_full64",
            "random_full")
