"""Random numbers: ``manual_seed``, ``Generator`` (NumPy's PCG64 underneath) and the sampling functions.

dynagrad's streams are reproducible under a seed but are not PyTorch's bit-for-bit: the two use different
generators. Generator state is plain JSON bytes, so saving and restoring it never unpickles anything.
"""
from __future__ import annotations

import json
import math
import time

from . import dtypes
from .backend import xp

_SEED_MASK = (1 << 64) - 1


class Generator:
    """A source of random numbers; pass one as ``generator=`` to make a draw independent of the global one.

    >>> import dynagrad
    >>> g = dynagrad.Generator().manual_seed(0)
    >>> dynagrad.rand(2, generator=g).shape
    torch.Size([2])
    """

    def __init__(self, device="cpu") -> None:
        self.device = device
        self._seed = 67280421310721  # PyTorch's default seed
        self._rng = xp.random.Generator(xp.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            seed &= _SEED_MASK
        self._seed = seed
        self._rng = xp.random.Generator(xp.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Reseed from a non-deterministic source and return the seed."""
        s = int(xp.random.SeedSequence().entropy) & _SEED_MASK
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from .tensor import Tensor
        state = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        raw = json.dumps(state, default=int).encode()
        return Tensor._wrap(xp.frombuffer(raw, dtype=xp.uint8).copy())

    def set_state(self, new_state) -> Generator:
        arr = new_state._data if hasattr(new_state, "_data") else xp.asarray(new_state)
        try:
            state = json.loads(bytes(arr.astype(xp.uint8).tobytes()).decode())
            bg = xp.random.PCG64()
            bg.state = state["bit_generator"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Generator.set_state: not a dynagrad generator state ({e})") from None
        self._seed = state["seed"]
        self._rng = xp.random.Generator(bg)
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


# -- sampling -------------------------------------------------------------------------------------------------

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


def uniform_array(shape, low, high, np_dtype, generator=None):
    rng = _rng(generator)
    if np_dtype in (xp.float32, xp.float64):
        a = rng.random(shape, dtype=np_dtype)
    else:
        a = rng.random(shape, dtype=xp.float32).astype(np_dtype)
    if low != 0 or high != 1:
        a = a * (high - low) + low
        a = a.astype(np_dtype, copy=False)
    return a


def normal_array(shape, mean, std, np_dtype, generator=None):
    rng = _rng(generator)
    if np_dtype in (xp.float32, xp.float64):
        a = rng.standard_normal(shape, dtype=np_dtype)
    else:
        a = rng.standard_normal(shape, dtype=xp.float32).astype(np_dtype)
    if std != 1 or mean != 0:
        a = (a * std + mean).astype(np_dtype, copy=False)
    return a


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Uniform samples in [0, 1)."""
    d = _float_dtype(dtype)
    return _finish(uniform_array(_size(size), 0, 1, d.numpy, generator), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Standard normal samples."""
    d = _float_dtype(dtype)
    return _finish(normal_array(_size(size), 0, 1, d.numpy, generator), requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high); ``randint(high, size)`` starts at 0."""
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
    arr = _rng(generator).integers(low, high, size=tuple(size), dtype=xp.int64).astype(d.numpy)
    return _finish(arr, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1."""
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return _finish(_rng(generator).permutation(n).astype(d.numpy), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples; ``mean``/``std`` may be Tensors (broadcast) or numbers with ``size``."""
    from .tensor import Tensor
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
        dt = (mean if isinstance(mean, Tensor) else std)._data.dtype
        noise = normal_array(shape, 0, 1, dt, generator)
        if (isinstance(mean, Tensor) and mean.requires_grad) or (isinstance(std, Tensor) and std.requires_grad):
            return mean + Tensor._wrap(noise) * std
        return Tensor._wrap((noise * s + m).astype(dt))
    d = _float_dtype(dtype)
    return _finish(normal_array(tuple(size) if size is not None else (), mean, std, d.numpy, generator),
                   requires_grad)


def rand_like(x, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randint_like(x, low=0, high=None, *, dtype=None, device=None, requires_grad=False, memory_format=None):
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


_ = (math, time)
