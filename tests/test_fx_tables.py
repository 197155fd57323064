"""dynagrad/fx/_torch_tables.py against the installed PyTorch: what FX prints for each function of dynagrad's
namespaces, and how PyTorch's Python-level functions hand FX their arguments.

``python tests/test_fx_tables.py`` prints the table module derived from the installed torch (to refresh it
when dynagrad gains functions).
"""
import ast
import inspect
import textwrap
import types

import pytest

import dynagrad
import dynagrad.linalg
import dynagrad.nn.functional
import dynagrad.special
from dynagrad.fx import _torch_tables as T

_DG = {"torch": dynagrad, "torch.nn.functional": dynagrad.nn.functional, "torch.special": dynagrad.special,
       "torch.linalg": dynagrad.linalg}


def _dynagrad_names() -> dict[str, list[str]]:
    """The public function names of dynagrad's namespaces, those loaded on first use included."""
    out = {}
    for ns, m in _DG.items():
        names = {n for n in dir(m) if not n.startswith("_")} | set(T.PUBLIC.get(ns, ()))
        out[ns] = sorted(n for n in names if isinstance(getattr(m, n, None), types.FunctionType))
    return out


def _htf_calls(mod) -> dict:
    """name -> (positional names, keyword names) of each ``handle_torch_function`` call in a torch module."""
    out = {}
    for fn in ast.parse(inspect.getsource(mod)).body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "handle_torch_function":
                target = ast.unparse(node.args[0]).split(".")[-1]
                entry = (fn.name, [ast.unparse(a) for a in node.args[2:]], [k.arg for k in node.keywords])
                out.setdefault(target, entry)
                out.setdefault(fn.name, entry)
    return out


def _sig_str(sig) -> str:
    parts = []
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            parts.append("*" + p.name)
        elif p.kind == p.VAR_KEYWORD:
            parts.append("**" + p.name)
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return ", ".join(parts)


def derive():
    """(QUALNAMES, CALLS, NO_DISPATCH, PUBLIC) as the installed torch has them, for dynagrad's names."""
    import torch
    import torch._lowrank
    import torch.functional
    import torch.nn.functional
    from torch.fx.node import _get_qualified_name

    from dynagrad.fx._names import _default_qualname
    tmods = {"torch": torch, "torch.nn.functional": torch.nn.functional, "torch.special": torch.special,
             "torch.linalg": torch.linalg}
    htf = {}
    for mod, pub in ((torch.nn.functional, "torch.nn.functional"), (torch.functional, "torch"),
                     (torch._lowrank, "torch")):
        for target, (fname, pos, kw) in _htf_calls(mod).items():
            htf[(pub, target)] = (getattr(mod, fname), pos, kw)
    qualnames, calls, no_dispatch, public = {}, {}, set(), {}
    for ns, names in _dynagrad_names().items():
        tmod = tmods[ns]
        lazy = [n for n in dir(tmod) if not n.startswith("_") and n not in names
                and isinstance(getattr(_DG[ns], n, None), types.FunctionType)]  # attached on first use
        names = sorted([*names, *lazy])
        public[ns] = []
        for name in names:
            f = getattr(tmod, name, None)
            if f is None or isinstance(f, type) or not callable(f):
                continue
            public[ns].append(name)
            key = f"{ns}.{name}"
            q = _get_qualified_name(f)
            if q != _default_qualname(ns, name):
                qualnames[key] = q
            if not isinstance(f, types.FunctionType):
                continue
            entry = htf.get((ns, name)) or htf.get((ns, f.__name__))
            if entry is None:
                no_dispatch.add(key)
                continue
            inner, pos, kw = entry
            sig = inspect.signature(f)
            if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
                sig = inspect.signature(inner)
            params = [("*" if p.kind == p.VAR_POSITIONAL else "") + p.name for p in sig.parameters.values()]
            if not set(pos) <= set(params):
                continue  # einsum(*args): the arguments go on as written
            rest = [n for n in params if n not in pos]
            calls[key] = (_sig_str(sig), len(pos), None if kw == rest else tuple(kw))
    return qualnames, calls, frozenset(no_dispatch), {ns: frozenset(v) for ns, v in public.items()}


def render() -> str:
    """The source of _torch_tables.py for the installed torch."""
    qualnames, calls, no_dispatch, public = derive()
    doc = T.__doc__.strip("\n")
    out = [f'"""{doc}\n"""', "QUALNAMES = {"]
    out += [f"    {k!r}: {v!r}," for k, v in sorted(qualnames.items())]
    out += ["}", "CALLS = {"]
    for k, (sig, npos, kw) in sorted(calls.items()):
        line = f"    {k!r}: ({sig!r}, {npos}, {kw!r}),"
        if len(line) <= 120:
            out.append(line)
            continue
        out.append(f"    {k!r}: (")
        pieces = textwrap.wrap(sig, 100, drop_whitespace=False, break_on_hyphens=False)
        out += [f"        {p!r}" for p in pieces]
        if kw is None or len(repr(kw)) < 100:
            out.append(f"        , {npos}, {kw!r}),")
        else:
            out.append(f"        , {npos}, (")
            out += [f"            {p}" for p in textwrap.wrap(" ".join(f"{k!r}," for k in kw), 104)]
            out.append("        )),")
    out += ["}", "NO_DISPATCH = frozenset({"]
    out += [f"    {k!r}," for k in sorted(no_dispatch)]
    out += ["})", "PUBLIC = {"]
    for ns, names in public.items():
        out.append(f"    {ns!r}: frozenset(\"\"\"")
        out.append(textwrap.fill(" ".join(sorted(names)), 116, initial_indent="        ",
                                 subsequent_indent="        "))
        out.append('    """.split()),')
    out.append("}")
    return "\n".join(out) + "\n"


def test_tables_match_installed_torch():
    pytest.importorskip("torch")
    qualnames, calls, no_dispatch, public = derive()
    assert T.QUALNAMES == qualnames
    assert T.CALLS == calls
    assert T.NO_DISPATCH == no_dispatch
    assert T.PUBLIC == public


def test_every_call_pattern_parses_and_binds():
    from dynagrad.fx._names import FnInfo
    for key in T.CALLS:
        info = FnInfo(dynagrad.relu, key)  # the function does not matter for parsing
        sig, npos, kw = info.call
        assert npos <= len(sig.parameters)
        for name in kw or ():
            assert name in sig.parameters, (key, name)


if __name__ == "__main__":
    print(render(), end="")
