"""``dynagrad run``: run an unmodified PyTorch program (a script or ``-m module``) with ``torch`` resolving to
dynagrad, in this process and in every Python process it starts, and explain what stops it.

The program runs as ``python script.py`` would run it: ``sys.argv``, ``__file__``, ``__name__ == "__main__"``,
``sys.path[0]`` the script's folder (``-m``: the current folder, with relative imports in packages). Child
processes (``subprocess``, ``multiprocessing`` spawn, DataLoader workers, ``mp.spawn``) see ``torch`` as
dynagrad too: ``PYTHONPATH`` starts with a folder whose ``torch`` package hands itself over to dynagrad.

When a PyTorch API the program uses is missing (a module, an attribute, a Tensor method, a name in ``from X
import Y``, a keyword argument), the run ends with one sentence naming it by its PyTorch name, with the
program's file and line, and exit status 2. The program's own errors print as Python prints them (status 1).
"""
from __future__ import annotations

import ast
import difflib
import importlib.util
import linecache
import os
import re
import runpy
import sys
import traceback
import types

_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")
_OWN_FILES = {os.path.abspath(__file__), os.path.join(_PKG, "cli.py")}


# -- aliasing, here and in child processes --------------------------------------------------------------------

def install(finder_cls) -> None:
    """Put ``finder_cls`` (cli.TorchAlias) first on ``sys.meta_path`` once, and make child processes do it.

    The shim folder also carries ``torch``'s package metadata, so libraries that ask for the installed
    version (``importlib.metadata.version("torch")``) get dynagrad's ``torch.__version__``."""
    if not any(isinstance(f, finder_cls) for f in sys.meta_path):
        sys.meta_path.insert(0, finder_cls())
    if SHIM_DIR not in sys.path:
        sys.path.insert(1 if sys.path else 0, SHIM_DIR)
    home = os.path.dirname(_PKG.rstrip(os.sep))  # where dynagrad itself is found, for children to import it
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in (SHIM_DIR, home)]
    os.environ["PYTHONPATH"] = os.pathsep.join([SHIM_DIR, home] + parts)
    os.environ["DYNAGRAD_RUN"] = "1"


# -- running --------------------------------------------------------------------------------------------------

def _aliased(module: str) -> str:
    """``torch.distributed.run`` -> ``dynagrad.distributed.run``: runpy needs the module's own loader (its code
    and file), which the alias finder does not stand in for."""
    head, _, rest = module.partition(".")
    for finder in sys.meta_path:
        prefixes = getattr(finder, "PREFIXES", None)
        if isinstance(prefixes, dict) and head in prefixes:
            target = prefixes[head] + ("." + rest if rest else "")
            try:
                found = importlib.util.find_spec(target) is not None
            except ImportError:
                found = False
            return target if found else module
    return module


def run(script: str | None, module: str | None, argv: list[str]) -> int:
    """Run the program; return its exit status."""
    try:
        if module is not None:
            sys.argv = [module] + argv  # runpy replaces argv[0] with the module's file, as python -m does
            module = _aliased(module)
            _set_path0(os.getcwd())
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            if not os.path.exists(script):
                print(f"dynagrad run: can't open file {os.path.abspath(script)!r}: [Errno 2] No such file or "
                      f"directory", file=sys.stderr)
                return 2
            sys.argv = [script] + argv
            _set_path0(os.path.dirname(os.path.abspath(script)))
            runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        return _exit_status(e.code)
    except KeyboardInterrupt as e:
        _print_traceback(e)
        return 130
    except BaseException as e:  # noqa: BLE001 - the program's exception, reported as Python would
        sentence = explain(e)
        if sentence is None:
            _print_traceback(e)
        else:
            where = _user_frame(e)
            if where is not None and where.line:
                print(f'  File "{where.filename}", line {where.lineno}, in {where.name}\n    {where.line.strip()}',
                      file=sys.stderr)
            if os.environ.get("DYNAGRAD_RUN_TRACEBACK"):
                _print_traceback(e)
            print(sentence, file=sys.stderr)
            return 2  # a PyTorch API dynagrad lacks, told apart from the program's own failures (1)
        return 1
    return 0


def _set_path0(folder: str) -> None:
    """``sys.path[0]`` is the program's folder, as Python sets it (replacing the ``dynagrad`` command's)."""
    if sys.path and sys.path[0] != SHIM_DIR:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints the message, as Python does
    return 1


def _trimmed(tb):
    """The traceback without the frames of dynagrad run itself and runpy, as ``python script.py`` shows it."""
    while tb is not None:
        fn = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if fn in _OWN_FILES or os.path.basename(fn) == "runpy.py" or "<frozen runpy>" in fn:
            tb = tb.tb_next
        else:
            break
    return tb


def _print_traceback(e: BaseException) -> None:
    tb = _trimmed(e.__traceback__)
    sys.excepthook(type(e), e.with_traceback(tb), tb)


# -- explaining what is missing -----------------------------------------------------------------------------

def _inside(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PKG) or filename.startswith("<frozen")


def _frames(e: BaseException):
    return [f for f in traceback.extract_tb(_trimmed(e.__traceback__))]


def _user_frame(e: BaseException):
    """The innermost frame of the program's own code (outside dynagrad and Python's import machinery)."""
    for f in reversed(_frames(e)):
        if not _inside(f.filename):
            return f
    return None


def _raised_by_user_line(e: BaseException, extra_ok: int = 1) -> bool:
    """True when the exception comes from the program's line itself or from at most ``extra_ok`` dynagrad
    frames it called directly (a module ``__getattr__``, the import alias): the program used a missing name.
    Deeper dynagrad frames mean dynagrad's own code failed."""
    frames = _frames(e)
    for i in range(len(frames) - 1, -1, -1):
        if not _inside(frames[i].filename):
            below = [f for f in frames[i + 1:] if not f.filename.startswith("<frozen")]
            return len(below) <= extra_ok
    return False


def _torch_module_name(mod_name: str) -> str:
    """'dynagrad.nn.functional' -> 'torch.nn.functional' (through cli.TorchAlias.PREFIXES)."""
    from .cli import TorchAlias
    for torch_name, ours in sorted(TorchAlias.PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if mod_name == ours or mod_name.startswith(ours + "."):
            return torch_name + mod_name[len(ours):]
    return mod_name


def _public_name(obj) -> str | None:
    """PyTorch's name for a dynagrad function or class: the shortest public module path holding it."""
    mod = getattr(obj, "__module__", None) or ""
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not mod.startswith("dynagrad") or not qual:
        return None
    if "." in qual:  # a method: name it by its class
        owner, _, meth = qual.rpartition(".")
        base = _public_name_of(mod, owner)
        return f"{base}.{meth}" if base else None
    return _public_name_of(mod, qual)


def _public_name_of(mod: str, name: str) -> str | None:
    parts = mod.split(".")
    target = getattr(sys.modules.get(mod), name, None)
    for i in range(1, len(parts) + 1):
        m = sys.modules.get(".".join(parts[:i]))
        if m is not None and target is not None and getattr(m, name, None) is target:
            full = _torch_module_name(".".join(parts[:i])) + "." + name
            return "Tensor." + full.rsplit(".", 1)[1] if full.startswith("torch.Tensor.") else full
    return _torch_module_name(mod) + "." + name


def _suggestion(name: str, candidates, prefix: str) -> str:
    close = difflib.get_close_matches(name, [c for c in candidates if not c.startswith("_")], n=1, cutoff=0.8)
    return f" (did you mean {prefix}.{close[0]}?)" if close else ""


def _location(e: BaseException) -> str:
    where = _user_frame(e)
    if where is None:
        return "the program"
    path = os.path.abspath(where.filename)
    shown = os.path.relpath(path) if path.startswith(os.getcwd() + os.sep) else path
    return f"{shown}, line {where.lineno}"


def _sentence(e: BaseException, what: str, tail: str = "which dynagrad does not implement") -> str:
    return f"dynagrad run: {_location(e)} uses {what}, {tail}."


def explain(e: BaseException) -> str | None:
    """One sentence for a PyTorch API the program uses and dynagrad lacks; None for any other exception."""
    from .cli import TorchAlias
    heads = tuple(TorchAlias.PREFIXES)
    if isinstance(e, ModuleNotFoundError):
        name = e.name or ""
        if name.split(".")[0] in heads:
            return _sentence(e, f"the module {name}")
        if name and not name.startswith("dynagrad") and _user_frame(e) is not None and \
                _inside(_frames(e)[-1].filename) and not _raised_by_user_line(e):
            return _sentence(e, "a part of dynagrad that needs the Python package "
                                f"'{name.split('.')[0]}'", "which is not installed (pip install it)")
        return None
    if isinstance(e, ImportError):
        m = re.match(r"cannot import name '(\w+)' from '([\w.]+)'", str(e))
        frames = _frames(e)
        if m and m.group(2).startswith("dynagrad") and frames and not _inside(frames[-1].filename):
            mod = sys.modules.get(m.group(2))
            public = _torch_module_name(m.group(2))
            hint = _suggestion(m.group(1), dir(mod), public) if mod is not None else ""
            return _sentence(e, f"{public}.{m.group(1)}{hint}")
        cause = e.__cause__
        if isinstance(cause, ModuleNotFoundError) and frames and _inside(frames[-1].filename) and \
                not (cause.name or "dynagrad").startswith("dynagrad"):  # an optional package dynagrad asks for
            return f"dynagrad run: {_location(e)}: {str(e).rstrip('.')}."
        return None
    if isinstance(e, AttributeError):
        return _explain_attribute(e)
    if isinstance(e, TypeError):
        return _explain_keyword(e)
    if isinstance(e, NotImplementedError) and _frames(e) and _inside(_frames(e)[-1].filename):
        msg = str(e).split(" (at ")[0].rstrip(".")
        return f"dynagrad run: {_location(e)}: {msg}." if msg else None
    return None


def _explain_attribute(e: AttributeError) -> str | None:
    from .tensor import Tensor
    if not _raised_by_user_line(e):
        return None
    obj, name = getattr(e, "obj", None), getattr(e, "name", None)
    if name is None:
        m = re.match(r"(?:module '([\w.]+)'|'(\w+)' object) has no attribute '(\w+)'", str(e))
        if not m:
            return None
        name = m.group(3)
        if m.group(1):
            obj = sys.modules.get(m.group(1))
    if isinstance(obj, types.ModuleType):
        if not obj.__name__.startswith("dynagrad"):
            return None
        public = _torch_module_name(obj.__name__)
        return _sentence(e, f"{public}.{name}{_suggestion(name, dir(obj), public)}")
    if isinstance(obj, Tensor):
        return _sentence(e, f"Tensor.{name}{_suggestion(name, dir(Tensor), 'Tensor')}")
    if obj is None:
        return None
    cls = obj if isinstance(obj, type) else type(obj)
    if not cls.__module__.startswith("dynagrad"):
        return None  # the program's own class (nn.Module subclasses included): its own attribute error
    public = _public_name(cls) or cls.__name__
    return _sentence(e, f"{public}.{name}{_suggestion(name, dir(cls), public)}")


def _explain_keyword(e: TypeError) -> str | None:
    m = re.search(r"(\S+)\(\) got an unexpected keyword argument '(\w+)'", str(e))
    if not m:
        return None
    frames = _frames(e)
    if not frames or _inside(frames[-1].filename):
        return None  # the call was made inside dynagrad: its own error
    callee = _callee(e, m.group(2))
    if callee is None:
        return None
    public = _public_name(callee)
    if public is None:
        return None
    return _sentence(e, f"the keyword argument {m.group(2)}= of {public}")


def _callee(e: TypeError, keyword: str):
    """The object the program's failing line called with ``keyword=``: found by reading the line, evaluating
    only plain names and attribute chains (nothing that could run the program's code again)."""
    tb = _trimmed(e.__traceback__)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    frame = tb.tb_frame
    src = _statement(frame.f_code.co_filename, tb.tb_lineno)
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == keyword for k in node.keywords):
            if not _plain_chain(node.func):
                continue
            try:
                return eval(compile(ast.Expression(node.func), "<callee>", "eval"), frame.f_globals,
                            frame.f_locals)
            except Exception:  # noqa: BLE001 - an unresolvable name: no explanation
                continue
    return None


def _plain_chain(node) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _statement(filename: str, lineno: int) -> str:
    """The source of the statement at ``lineno`` (calls may span lines)."""
    lines = linecache.getlines(filename)
    text = ""
    for i in range(lineno - 1, min(len(lines), lineno + 30)):
        text += lines[i]
        try:
            ast.parse(text.strip())
            return text.strip()
        except SyntaxError:
            continue
    return (lines[lineno - 1] if lineno - 1 < len(lines) else "").strip()
