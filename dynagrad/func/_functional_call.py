"""functional_call and stack_module_state: run a module with parameters and buffers given as a dict."""
from __future__ import annotations


def _owner(module, name):
    prefix, _, attr = name.rpartition(".")
    return (module.get_submodule(prefix) if prefix else module), attr


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module(*args, **kwargs)`` with its parameters and buffers replaced by the given tensors (by
    their ``named_parameters`` / ``named_buffers`` names); the module's own are restored afterwards.

    >>> import dynagrad
    >>> from dynagrad.func import functional_call
    >>> lin = dynagrad.nn.Linear(2, 1)
    >>> params = {"weight": dynagrad.ones(1, 2), "bias": dynagrad.zeros(1)}
    >>> functional_call(lin, params, (dynagrad.tensor([[1.0, 2.0]]),))
    tensor([[3.]])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                if k in values:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is "
                                     f"ambiguous")
                values[k] = v
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(dict(module.named_buffers(remove_duplicate=False)))
    if strict:
        missing = sorted(set(named) - set(values))
        unexpected = sorted(set(values) - set(named))
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}: missing key(s): "
                               f"{missing}, unexpected key(s): {unexpected}")
    if tie_weights:  # a tensor shared under several names takes the new value under all of them
        by_id: dict = {}
        for name, t in named.items():
            by_id.setdefault(id(t), []).append(name)
        for name in list(values):
            if name in named:
                for other in by_id[id(named[name])]:
                    if other not in values:
                        values[other] = values[name]
    saved = []
    try:
        for name, value in values.items():
            mod, attr = _owner(module, name)
            for table in ("_parameters", "_buffers"):
                d = mod.__dict__.get(table)
                if d is not None and attr in d:
                    saved.append((d, attr, d[attr]))
                    d[attr] = value
                    break
            else:
                saved.append((mod.__dict__, attr, mod.__dict__.get(attr, _MISSING)))
                mod.__dict__[attr] = value
        return module(*args, **kwargs)
    finally:
        for d, attr, old in reversed(saved):
            if old is _MISSING:
                d.pop(attr, None)
            else:
                d[attr] = old


_MISSING = object()


def stack_module_state(models):
    """``(params, buffers)``: each model's parameters and buffers stacked along a new first dim (for vmap
    over an ensemble with ``functional_call``); the stacked parameters are new leaves that require grad."""
    from ..ops.shape import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    names = [n for n, _ in models[0].named_parameters()]
    params = {}
    for n in names:
        ps = [dict(m.named_parameters())[n] for m in models]
        params[n] = stack([p.detach() for p in ps]).requires_grad_(ps[0].requires_grad)
    buffers = {n: stack([dict(m.named_buffers())[n] for m in models]) for n, _ in models[0].named_buffers()}
    return params, buffers
