"""Random numbers: ``manual_seed``, ``Generator`` (NumPy's PCG64 underneath) and the sampling functions.

dynagrad's streams are reproducible under a seed but are not PyTorch's bit-for-bit: the two use different
generators. Generator state is plain JSON bytes, so saving and restoring it never unpickles anything.
"""
from __future__ import annotations

import json
import math

from . import dtypes
from ._device import _check_device
from ._device import device as _device_cls
from .backend import xp

_SEED_MASK = (1 << 64) - 1


class Generator:
    """A source of random numbers; pass one as ``generator=`` to make a draw independent of the global one.

    The engine is MT19937 seeded as PyTorch seeds its CPU generator, and ``rand``, ``randn``, ``randint``,
    ``randperm``, ``uniform_``, ``normal_`` and ``random_`` use PyTorch's algorithms on its output, so the
    same ``manual_seed`` gives the same numbers as PyTorch (and so the same default initialisation of
    layers, and the same shuffling). Other draws (dropout masks, distributions) use NumPy's algorithms on
    the same stream: reproducible, not PyTorch's.

    >>> import dynagrad
    >>> g = dynagrad.Generator().manual_seed(0)
    >>> dynagrad.rand(2, generator=g)
    tensor([0.4963, 0.7682])
    """

    def __init__(self, device="cpu") -> None:
        d = device if isinstance(device, _device_cls) else _device_cls(device)
        if d.type not in ("cpu", "meta"):
            raise RuntimeError(f"Cannot get {d.type.upper()} generator: dynagrad computes on the CPU only "
                               f"(PyTorch's CPU build raises here too)")
        self.device = d
        self.manual_seed(67280421310721)  # PyTorch's default seed

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            seed &= _SEED_MASK
        self._seed = seed
        self._bits = xp.random.MT19937()
        self._bits._legacy_seeding(seed & 0xFFFFFFFF)  # MT19937's init_genrand, as std::mt19937 / PyTorch
        self._rng = xp.random.Generator(self._bits)
        self._next_normal = None  # the cached second Box-Muller sample, as PyTorch keeps it
        return self

    def seed(self) -> int:
        """Reseed from a non-deterministic source and return the seed."""
        s = int(xp.random.SeedSequence().entropy) & _SEED_MASK
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    # raw 32- and 64-bit outputs, PyTorch's random() and random64()
    def _random32(self, n: int):
        return self._bits.random_raw(n).astype(xp.uint64)

    def _random64(self, n: int):
        r = self._bits.random_raw(2 * n).astype(xp.uint64)
        return (r[0::2] << xp.uint64(32)) | r[1::2]

    def get_state(self):
        from .tensor import Tensor
        st = self._bits.state
        state = {"seed": self._seed, "key": st["state"]["key"].tolist(), "pos": int(st["state"]["pos"]),
                 "next_normal": self._next_normal}
        raw = json.dumps(state).encode()
        return Tensor._wrap(xp.frombuffer(raw, dtype=xp.uint8).copy())

    def set_state(self, new_state) -> Generator:
        arr = new_state._data if hasattr(new_state, "_data") else xp.asarray(new_state)
        try:
            state = json.loads(bytes(arr.astype(xp.uint8).tobytes()).decode())
            bits = xp.random.MT19937()
            bits.state = {"bit_generator": "MT19937",
                          "state": {"key": xp.asarray(state["key"], dtype=xp.uint32), "pos": state["pos"]}}
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Generator.set_state: not a dynagrad generator state ({e})") from None
        self._seed = state["seed"]
        self._bits = bits
        self._rng = xp.random.Generator(bits)
        self._next_normal = state.get("next_normal")
        return self

    def clone_state(self):
        return self.get_state()


default_generator = Generator()


def _rng(generator):
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (and return it), as ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def fork_rng(devices=None, enabled=True, **kwargs):
    import contextlib

    @contextlib.contextmanager
    def _fork():
        state = get_rng_state() if enabled else None
        try:
            yield
        finally:
            if enabled:
                set_rng_state(state)
    return _fork()


# -- sampling ---------------------------------------------------------------------------------------------

def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _float_dtype(dtype):
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{d.name.capitalize()}'")
    return d


def _finish(arr, requires_grad):
    from .tensor import Tensor
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _mantissa_bits(np_dtype) -> int:
    if np_dtype == xp.float64:
        return 53
    if np_dtype == xp.float16:
        return 11
    if np_dtype.kind == "V":  # bfloat16
        return 8
    return 24


def _unit(gen: Generator, n: int, np_dtype):
    """n uniforms in [0, 1) as PyTorch's uniform_real_distribution draws them (in float64)."""
    bits = _mantissa_bits(xp.dtype(np_dtype))
    raw = gen._random64(n) if bits == 53 else gen._random32(n)
    return (raw & xp.uint64((1 << bits) - 1)).astype(xp.float64) * (2.0 ** -bits)


def uniform_array(shape, low, high, np_dtype, generator=None):
    """Uniform samples in [low, high), PyTorch's stream and arithmetic."""
    gen = generator or default_generator
    np_dtype = xp.dtype(np_dtype)
    n = int(xp.prod(shape)) if len(shape) else 1
    # the bounds are first rounded to the tensor's dtype, then the arithmetic runs in float64 (PyTorch)
    lo, hi = float(xp.asarray(low, np_dtype)), float(xp.asarray(high, np_dtype))
    u = _unit(gen, n, np_dtype) * (hi - lo) + lo
    return u.astype(np_dtype).reshape(shape)


def _box_muller_16(d, mean, std) -> None:
    """PyTorch's normal_fill_16 on consecutive blocks of 16 (in the tensor's precision)."""
    blocks = d.reshape(-1, 16)
    u1 = 1 - blocks[:, :8]
    u2 = blocks[:, 8:]
    radius = xp.sqrt(-2 * xp.log(u1))
    theta = blocks.dtype.type(2.0 * xp.pi) * u2
    blocks[:, :8] = radius * xp.cos(theta) * std + mean
    blocks[:, 8:] = radius * xp.sin(theta) * std + mean


def normal_array(shape, mean, std, np_dtype, generator=None):
    """Normal samples with PyTorch's algorithm: Box-Muller over blocks of 16 for 16 or more values, a cached
    double-precision Box-Muller pair per value below that."""
    gen = generator or default_generator
    np_dtype = xp.dtype(np_dtype)
    n = int(xp.prod(shape)) if len(shape) else 1
    if n >= 16:
        work = xp.float64 if np_dtype == xp.float64 else xp.float32
        d = _unit(gen, n, np_dtype).astype(work)
        full = n - n % 16
        if full:
            head = d[:full]
            _box_muller_16(head, work(mean), work(std))
        if n % 16:  # PyTorch redraws the last 16 values and transforms them together
            tail = _unit(gen, 16, np_dtype).astype(work)
            _box_muller_16(tail, work(mean), work(std))
            d[n - 16:] = tail
        return d.astype(np_dtype).reshape(shape)
    out = xp.empty(n, xp.float64)
    for i in range(n):
        cached = gen._next_normal
        if cached is not None:
            gen._next_normal = None
            out[i] = cached * std + mean
            continue
        u1, u2 = _unit(gen, 2, xp.float64)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        gen._next_normal = r * math.sin(theta)
        out[i] = r * math.cos(theta) * std + mean
    return out.astype(np_dtype).reshape(shape)


def random_integers(shape, low, high, np_dtype, generator=None):
    """Integers in [low, high) as PyTorch's random_from_to draws them."""
    gen = generator or default_generator
    n = int(xp.prod(shape)) if len(shape) else 1
    span = int(high) - int(low)
    raw = gen._random64(n) if span >= 1 << 32 else gen._random32(n)
    vals = (raw % xp.uint64(span)).astype(xp.int64) + int(low)
    return vals.astype(np_dtype).reshape(shape)


def random_full(shape, np_dtype, generator=None):
    """``Tensor.random_()`` with no bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    gen = generator or default_generator
    np_dtype = xp.dtype(np_dtype)
    n = int(xp.prod(shape)) if len(shape) else 1
    if np_dtype == xp.int64:
        vals = gen._random64(n) & xp.uint64((1 << 63) - 1)
    elif np_dtype.kind in "fV":
        bits = _mantissa_bits(np_dtype)
        raw = gen._random64(n) if bits == 53 else gen._random32(n)
        vals = raw % xp.uint64((1 << bits) + 1)
    elif np_dtype == xp.bool_:
        vals = gen._random32(n) % xp.uint64(2)
    else:
        vals = gen._random32(n) % xp.uint64(int(xp.iinfo(np_dtype).max) + 1)
    return vals.astype(np_dtype).reshape(shape)


def rand(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Uniform samples in [0, 1); ``rand(2, 3)``, ``rand((2, 3))`` or ``rand(size=(2, 3))``."""
    _check_device(device, True)
    d = _float_dtype(dtype)
    return _finish(uniform_array(_size(shape if size is None else (size,)), 0, 1, d.numpy, generator),
                   requires_grad)


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Standard normal samples."""
    _check_device(device, True)
    d = _float_dtype(dtype)
    return _finish(normal_array(_size(shape if size is None else (size,)), 0, 1, d.numpy, generator),
                   requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high); ``randint(high, size)`` starts at 0."""
    _check_device(device, True)
    if size is None:
        if high is None:
            raise TypeError("randint() missing required argument 'size'")
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return _finish(random_integers(tuple(size), low, high, d.numpy, generator), requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1."""
    _check_device(device, True)
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    gen = generator or default_generator
    # PyTorch's Fisher-Yates: swap i with i + random() % (n - i)
    perm = list(range(n))
    if n > 1:
        picks = (gen._random32(n - 1) % xp.arange(n, 1, -1, dtype=xp.uint64)).tolist()
        for i, z in enumerate(picks):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
    return _finish(xp.asarray(perm, dtype=d.numpy), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples; ``mean``/``std`` may be Tensors (broadcast) or numbers with ``size``."""
    _check_device(device, True)
    from .tensor import Tensor
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
        dt = (mean if isinstance(mean, Tensor) else std)._data.dtype
        noise = normal_array(shape, 0, 1, dt, generator)
        if any(isinstance(v, Tensor) and v.requires_grad for v in (mean, std)):
            return mean + Tensor._wrap(noise) * std
        return Tensor._wrap((noise * s + m).astype(dt))
    d = _float_dtype(dtype)
    return _finish(normal_array(tuple(size) if size is not None else (), mean, std, d.numpy, generator),
                   requires_grad)


def rand_like(x, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device, True)
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device, True)
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randint_like(x, low=0, high=None, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device, True)
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(x.shape), dtype=dtype or x.dtype)


def bernoulli(x, p=None, *, generator=None):
    """1 with probability ``x`` (or ``p``) per element, else 0."""
    from .tensor import Tensor
    probs = x._data if p is None else xp.full(x._data.shape, p)
    if (probs < 0).any() or (probs > 1).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    u = _rng(generator).random(x._data.shape)
    return Tensor._wrap((u < probs).astype(x._data.dtype))


def multinomial(probs, num_samples: int, replacement: bool = False, *, generator=None):
    """Draw category indices with the given (unnormalised) weights, per row."""
    from .tensor import Tensor
    p = probs._data.astype(xp.float64)
    if (p < 0).any() or not xp.isfinite(p).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    rng = _rng(generator)
    out = []
    for r in rows:
        s = r.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > (r > 0).sum():
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        out.append(rng.choice(len(r), size=num_samples, replace=replacement, p=r / s))
    res = xp.stack(out).astype(xp.int64)
    return Tensor._wrap(res.reshape(p.shape[:-1] + (num_samples,)))


def poisson(rates, generator=None):
    from .tensor import Tensor
    return Tensor._wrap(_rng(generator).poisson(rates._data).astype(rates._data.dtype))

