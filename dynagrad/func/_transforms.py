"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, linearize: PyTorch's torch.func transforms.

Reverse-mode transforms run the function on fresh views of the inputs that require grad and differentiate
with ``autograd.grad``; forward-mode ones open a dual level (``autograd.forward_ad``); Jacobians map a
vjp/jvp over a basis with ``vmap``. They compose (``vmap(grad(f))``, ``jacfwd(jacrev(f))``, ``jvp(grad(f))``)
because gradients are computed with differentiable ops whenever an outer transform is active.
"""
from __future__ import annotations

import functools

from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten

_depth = [0]  # active grad/vjp transforms


def _fresh(x):
    """``x`` as a tensor this level can differentiate with respect to (keeps outer history and tangents)."""
    if not isinstance(x, Tensor):
        return x
    if not (x.is_floating_point() or x.is_complex()):
        raise RuntimeError("only Tensors of floating point dtype can require gradients (a transform was asked to "
                           "differentiate with respect to an integer tensor)")
    y = x.view_as(x)
    if not y._requires_grad:
        y.requires_grad_()
    return y


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _zeros_like(x):
    from ..creation import zeros_like
    return zeros_like(x)


def _grads(outputs, inputs, grad_outputs, create_graph):
    from ..autograd import grad
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if isinstance(o, Tensor) and o._requires_grad]
    ins = [x for x in inputs]
    if not pairs:
        return [_zeros_like(x) for x in ins]
    res = grad([o for o, _ in pairs], ins, [g for _, g in pairs], retain_graph=True, create_graph=create_graph,
               allow_unused=True)
    return [_zeros_like(x) if g is None else g for g, x in zip(res, ins)]


def _reaches_outside(roots, own) -> bool:
    """Whether the graph behind ``roots`` reaches a tensor requiring grad other than the leaves in ``own``."""
    own_ids = {id(t) for t in own}
    seen = set()
    stack = [r.grad_fn for r in roots if isinstance(r, Tensor) and r.grad_fn is not None]
    stack += [r for r in roots if isinstance(r, Tensor) and r._requires_grad and r.grad_fn is None]
    while stack:
        n = stack.pop()
        if isinstance(n, Tensor):
            if id(n) not in own_ids:
                return True
            continue
        if id(n) in seen:
            continue
        seen.add(id(n))
        for target, _ in n.edges:
            if target is not None:
                stack.append(target)
    return False


def _strip(values, own):
    """Drop the autograd history that only leads back to this transform's own inputs (as PyTorch's levels
    do); forward-AD tangents are kept."""
    flat, spec = tree_flatten(values)
    ts = [v for v in flat if isinstance(v, Tensor) and v._requires_grad]
    if not ts or _reaches_outside(ts, own):
        return values
    from ..autograd.grad_mode import no_grad
    with no_grad():
        flat = [v.view_as(v) if isinstance(v, Tensor) and v._requires_grad else v for v in flat]
    return tree_unflatten(flat, spec)


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``(gradient, value)`` of a scalar function with respect to the ``argnums`` arguments.

    >>> import dynagrad
    >>> from dynagrad.func import grad_and_value
    >>> grad_and_value(lambda x: (x ** 2).sum())(dynagrad.tensor([1.0, 2.0]))
    (tensor([2., 4.]), tensor(5.))
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..autograd.grad_mode import enable_grad
        nums = _argnums(argnums, len(args))
        _depth[0] += 1
        try:
            with enable_grad():
                diff = {i: tree_flatten(args[i]) for i in nums}
                fresh = {i: [_fresh(x) for x in diff[i][0]] for i in nums}
                new_args = [tree_unflatten(fresh[i], diff[i][1]) if i in fresh else a for i, a in enumerate(args)]
                out = func(*new_args, **kwargs)
                aux = None
                if has_aux:
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                           "(output, aux) if has_aux is True")
                    out, aux = out
                if not isinstance(out, Tensor):
                    raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                       f"{type(out)}")
                if out.numel() != 1 or out.ndim != 0:
                    raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                       f"tensor with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev "
                                       f"APIs instead?")
                flat = [x for i in nums for x in fresh[i]]
                from ..creation import ones_like
                # always a differentiable gradient (an outer transform or a closed-over tensor that requires
                # grad may use it); the history that only leads back to our own inputs is dropped after
                gs = _grads([out], flat, [ones_like(out)], True)
                gs, out = _strip((gs, out), flat)
        finally:
            _depth[0] -= 1
        res, k = [], 0
        for i in nums:
            n = len(fresh[i])
            res.append(tree_unflatten(gs[k:k + n], diff[i][1]))
            k += n
        g = res[0] if isinstance(argnums, int) else tuple(res)
        if has_aux:
            return g, (out, aux)
        return g, out
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of a scalar function with respect to its ``argnums`` arguments, as a function.

    >>> import dynagrad
    >>> from dynagrad.func import grad
    >>> grad(grad(lambda x: x.sin()))(dynagrad.tensor(0.5))  # -sin(0.5)
    tensor(-0.4794)
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g
    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian products, one per primal.

    >>> import dynagrad
    >>> from dynagrad.func import vjp
    >>> out, vjp_fn = vjp(lambda x: x * 3, dynagrad.ones(2))
    >>> vjp_fn(dynagrad.tensor([1.0, 2.0]))
    (tensor([3., 6.]),)
    """
    from ..autograd.grad_mode import enable_grad
    _depth[0] += 1
    try:
        with enable_grad():
            flat, spec = tree_flatten(primals)
            fresh = [_fresh(x) for x in flat]
            out = func(*tree_unflatten(fresh, spec))
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("vjp(f, *primals): output of function f should be a tuple: (output, aux) if "
                                       "has_aux is True")
                out, aux = out
    finally:
        _depth[0] -= 1
    oflat, ospec = tree_flatten(out)
    out = _strip(out, fresh)
    for o in oflat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): Expected f to be a function that has only Tensors or tuples of "
                               f"Tensors as outputs, got {type(o)}")

    def vjp_fn(cotangents, *rest):
        if rest:
            cotangents = (cotangents,) + rest
        cflat, cspec = tree_flatten(cotangents)
        if len(cflat) != len(oflat):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function ({len(oflat)} outputs, {len(cflat)} cotangents)")
        for o, c in zip(oflat, cflat):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] has "
                                   f"a shape of {o.shape}.")
        with enable_grad():
            gs = _strip(_grads(oflat, fresh, cflat, True), fresh)
        return tree_unflatten(gs, spec)

    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)`` by forward-mode AD.

    >>> import dynagrad
    >>> from dynagrad.func import jvp
    >>> jvp(lambda x: x.exp(), (dynagrad.zeros(2),), (dynagrad.ones(2),))
    (tensor([1., 1.]), tensor([1., 1.]))
    """
    from ..autograd import forward_ad as fwAD
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples. E.g. it is valid "
                           "to call f(x) via jvp(f, (x,), (t,))")
    pflat, spec = tree_flatten(tuple(primals))
    tflat, tspec = tree_flatten(tuple(tangents))
    if len(pflat) != len(tflat):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure")
    level = fwAD.enter_dual_level()
    try:
        duals = [fwAD.make_dual(p, t, level=level) if isinstance(p, Tensor) else p for p, t in zip(pflat, tflat)]
        out = func(*tree_unflatten(duals, spec))
        aux = None
        if has_aux:
            out, aux = out
        oflat, ospec = tree_flatten(out)
        prim, tan = [], []
        for o in oflat:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"jvp(f, primals, tangents): Expected f(*primals) to return only tensors, got "
                                   f"unsupported type {type(o)}")
            p, t = fwAD.unpack_dual(o, level=level)
            prim.append(p)
            tan.append(_zeros_like(o) if t is None else t)
    finally:
        fwAD.exit_dual_level(level=level)
    res = (tree_unflatten(prim, ospec), tree_unflatten(tan, ospec))
    return res + (aux,) if has_aux else res


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents)`` the Jacobian-vector product at ``primals``."""
    out = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]
    return out, jvp_fn


# -- Jacobians -------------------------------------------------------------------------------------------------

def _split_args(args, nums):
    return [args[i] for i in nums]


def _with(args, nums, values):
    new = list(args)
    for i, v in zip(nums, values):
        new[i] = v
    return tuple(new)


def _basis(shapes, dtype):
    """Rows of an identity matrix split into one tensor per shape, each (N, *shape)."""
    from ..creation import eye
    sizes = [int(_prod(s)) for s in shapes]
    n = sum(sizes)
    e = eye(n, dtype=dtype)
    out, off = [], 0
    for s, k in zip(shapes, sizes):
        out.append(e[:, off:off + k].reshape((n,) + tuple(s)))
        off += k
    return out, sizes


def _prod(s):
    p = 1
    for v in s:
        p *= v
    return p


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy: bool = False):
    """The Jacobian of ``func`` with respect to the ``argnums`` arguments, by reverse mode (vmap over vjp).

    >>> import dynagrad
    >>> from dynagrad.func import jacrev
    >>> jacrev(lambda x: x ** 2)(dynagrad.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    from ._vmap import vmap

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        diff = _split_args(args, nums)
        res = vjp(lambda *d: func(*_with(args, nums, d), **kwargs), *diff, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        oflat, ospec = tree_flatten(out)
        dflat, dspec = tree_flatten(tuple(diff))
        cts, osizes = _basis([tuple(o.shape) for o in oflat], oflat[0].dtype)
        grads = vmap(lambda *c: vjp_fn(tree_unflatten(list(c), ospec)), chunk_size=chunk_size)(*cts)
        gflat = tree_flatten(grads)[0]  # per input leaf: (N, *in_shape)
        per_out = []
        off = 0
        for o, n in zip(oflat, osizes):
            leaves = [g[off:off + n].reshape(tuple(o.shape) + tuple(x.shape)) for g, x in zip(gflat, dflat)]
            per_in = tree_unflatten(leaves, dspec)  # a tuple over argnums
            per_out.append(per_in[0] if isinstance(argnums, int) else per_in)
            off += n
        jac = tree_unflatten(per_out, ospec)
        return (jac, res[2]) if has_aux else jac
    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to the ``argnums`` arguments, by forward mode (vmap over jvp).

    >>> import dynagrad
    >>> from dynagrad.func import jacfwd
    >>> jacfwd(lambda x: x.sin())(dynagrad.zeros(2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    from ._vmap import vmap

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        diff = _split_args(args, nums)
        dflat, dspec = tree_flatten(tuple(diff))
        basis, isizes = _basis([tuple(x.shape) for x in dflat], dflat[0].dtype)

        def push(*ts):
            return jvp(lambda *d: func(*_with(args, nums, tree_unflatten(list(d), dspec)), **kwargs), tuple(dflat),
                       tuple(ts), has_aux=has_aux)

        res = vmap(push, randomness=randomness, out_dims=(None, 0, None) if has_aux else (None, 0))(*basis)
        primal_out, touts = res[0], res[1]
        oflat, ospec = tree_flatten(touts)
        pflat = tree_flatten(primal_out)[0]
        per_out = []
        for t, o in zip(oflat, pflat):
            leaves, off = [], 0
            for x, n in zip(dflat, isizes):
                blk = t[off:off + n]  # (n, *out_shape)
                blk = blk.reshape((n, -1)).t().reshape(tuple(o.shape) + tuple(x.shape))
                leaves.append(blk)
                off += n
            per_in = tree_unflatten(leaves, dspec)
            per_out.append(per_in[0] if isinstance(argnums, int) else per_in)
        jac = tree_unflatten(per_out, ospec)
        return (jac, res[2]) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar function: ``jacfwd(jacrev(func))`` (forward over reverse).

    >>> import dynagrad
    >>> from dynagrad.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(dynagrad.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
