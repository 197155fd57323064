"""dynagrad presents itself as PyTorch 2.13's CPU build: ``torch.cuda``, ``torch.accelerator``,
``torch.backends.*``, ``torch.mps``, ``torch.version``, devices and the process-wide switches return or raise
what the installed CPU wheel returns or raises (value, exception type and warning categories, probe by
probe), and the modules carry the names PyTorch's do. Golden values stand in for torch where it is absent.
"""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings

import pytest

import dynagrad
from tests.helpers import reference

# Each probe is a snippet whose last line is an expression; statements before it may set state, and the
# snippet must leave the process as it found it. Evaluated with ``torch`` bound to each library.
PROBES = [
    # torch.cuda
    "torch.cuda.is_available()", "torch.cuda.device_count()", "torch.cuda.is_initialized()",
    "torch.cuda.current_device()", "torch.cuda.get_device_name()", "torch.cuda.get_device_name(0)",
    "torch.cuda.get_device_capability()", "torch.cuda.get_device_properties(0)",
    "torch.cuda.memory_allocated()", "torch.cuda.memory_allocated(0)", "torch.cuda.memory_allocated('cuda:0')",
    "torch.cuda.max_memory_allocated()", "torch.cuda.max_memory_allocated(device=0)",
    "torch.cuda.memory_reserved()", "torch.cuda.max_memory_reserved()", "torch.cuda.memory_cached()",
    "torch.cuda.max_memory_cached()", "torch.cuda.memory_stats()", "torch.cuda.memory_stats_as_nested_dict()",
    "torch.cuda.memory_summary()", "torch.cuda.reset_peak_memory_stats()", "torch.cuda.reset_max_memory_allocated()",
    "torch.cuda.reset_accumulated_memory_stats()", "torch.cuda.mem_get_info()", "torch.cuda.empty_cache()",
    "torch.cuda.synchronize()", "torch.cuda.manual_seed(1)", "torch.cuda.manual_seed_all(1)", "torch.cuda.seed()",
    "torch.cuda.seed_all()", "torch.cuda.initial_seed()", "torch.cuda.get_rng_state()",
    "torch.cuda.get_rng_state_all()", "torch.cuda.set_rng_state_all([])", "torch.cuda.manual_seed('x')",
    "torch.cuda.set_device(0)", "torch.cuda.set_device(-1)", "torch.cuda.set_device('cuda:0')",
    "torch.cuda.set_device('cuda')", "torch.cuda.set_device('cpu')", "torch.cuda.is_bf16_supported()",
    "torch.cuda.is_tf32_supported()", "torch.cuda.get_arch_list()", "torch.cuda.get_gencode_flags()",
    "torch.cuda.init()", "torch.cuda.ipc_collect()", "torch.cuda.current_stream()", "torch.cuda.default_stream()",
    "torch.cuda.Stream()", "torch.cuda.Event()", "torch.cuda.Event(enable_timing=True)", "torch.cuda.CUDAGraph()",
    "torch.cuda.graph_pool_handle()", "torch.cuda.is_current_stream_capturing()", "torch.cuda.set_stream(None)",
    "torch.cuda.has_half", "torch.cuda.has_magma", "torch.cuda.default_generators", "torch.cuda._is_compiled()",
    "torch.cuda.utilization()", "torch.cuda.list_gpu_processes()", "torch.cuda.nvtx.range_push('a')",
    "torch.cuda.nvtx.mark('a')", "torch.cuda.set_per_process_memory_fraction(0.5)",
    "torch.cuda.get_sync_debug_mode()", "torch.cuda.can_device_access_peer(0, 1)",
    "torch.cuda.host_memory_stats()", "torch.cuda.current_blas_handle()",
    "with torch.cuda.device(-1): pass\n0", "with torch.cuda.device(0): pass\n0",
    "with torch.cuda.stream(None): pass\n0", "with torch.cuda.device_of(torch.zeros(1)): pass\n0",
    "torch.cuda.device(0).idx", "torch.cuda.device_of(torch.zeros(1)).idx",
    "issubclass(torch.cuda.OutOfMemoryError, RuntimeError)", "torch.cuda.OutOfMemoryError is torch.OutOfMemoryError",
    "issubclass(torch.cuda.CudaError, RuntimeError)",
    # torch.cuda.amp: deprecated, and disabled without a GPU
    "torch.cuda.amp.GradScaler().is_enabled()", "torch.cuda.amp.GradScaler(enabled=False).is_enabled()",
    "torch.cuda.amp.GradScaler(init_scale=8.0).get_scale()", "torch.amp.GradScaler('cuda').is_enabled()",
    "torch.amp.GradScaler().is_enabled()", "torch.amp.GradScaler('cpu').is_enabled()",
    "torch.amp.GradScaler('cpu').get_scale()", "torch.amp.GradScaler(device='cuda', enabled=False).is_enabled()",
    "s = torch.cuda.amp.GradScaler()\nw = torch.ones(2, requires_grad=True)\no = torch.optim.SGD([w], lr=0.1)\n"
    "s.scale((w * 3).sum()).backward(); s.unscale_(o); s.step(o); s.update()\n[w.tolist(), s.get_scale()]",
    "torch.amp.GradScaler('cpu').state_dict()",
    "torch.cuda.amp.autocast().enabled if hasattr(torch.cuda.amp.autocast(), 'enabled') else 0",
    "with torch.cuda.amp.autocast():\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "with torch.autocast('cuda'):\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "with torch.autocast(device_type='cuda', dtype=torch.bfloat16):\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\n"
    "y.dtype",
    "with torch.autocast('cpu', dtype=torch.bfloat16):\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "with torch.autocast('cpu', dtype=torch.float32):\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "with torch.autocast('mps'):\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "torch.autocast('foo')", "torch.amp.custom_fwd(lambda x: x)",
    "callable(torch.cuda.amp.custom_fwd(lambda x: x))",
    "with torch.cpu.amp.autocast():\n    y = torch.ones(2, 2) @ torch.ones(2, 2)\ny.dtype",
    "torch.cpu.amp.GradScaler().is_enabled()",
    "with torch.autocast('cpu'):\n    r = [torch.is_autocast_enabled(), torch.is_autocast_enabled('cpu')]\nr",
    "torch.is_autocast_enabled()", "torch.get_autocast_dtype('cpu')", "torch.get_autocast_dtype('cuda')",
    "torch.amp.is_autocast_available('cuda')",
    # torch.accelerator
    "torch.accelerator.is_available()", "torch.accelerator.current_accelerator()",
    "torch.accelerator.current_accelerator(check_available=True)", "torch.accelerator.device_count()",
    "torch.accelerator.current_device_index()", "torch.accelerator.current_device_idx()",
    "torch.accelerator.set_device_index(0)", "torch.accelerator.synchronize()", "torch.accelerator.empty_cache()",
    "torch.accelerator.memory_allocated()", "torch.accelerator.max_memory_allocated()",
    "torch.accelerator.reset_peak_memory_stats()", "torch.accelerator.current_stream()",
    "torch.accelerator.get_memory_info()", "torch.accelerator.set_stream(None)",
    "with torch.accelerator.device_index(None): pass\n0", "with torch.accelerator.device_index(0): pass\n0",
    # torch.backends
    "torch.backends.cudnn.enabled", "torch.backends.cudnn.benchmark", "torch.backends.cudnn.deterministic",
    "torch.backends.cudnn.allow_tf32", "torch.backends.cudnn.is_available()", "torch.backends.cudnn.version()",
    "torch.backends.cudnn.is_acceptable(torch.zeros(1))",
    "torch.backends.cudnn.benchmark = True\nv = torch.backends.cudnn.benchmark\n"
    "torch.backends.cudnn.benchmark = False\nv",
    "torch.backends.cudnn.deterministic = True\nv = torch.backends.cudnn.deterministic\n"
    "torch.backends.cudnn.deterministic = False\nv",
    "torch.backends.cudnn.benchmark = 1", "torch.backends.cudnn.deterministic = 'yes'",
    "with torch.backends.cudnn.flags(enabled=False, benchmark=True):\n    v = [torch.backends.cudnn.enabled, "
    "torch.backends.cudnn.benchmark]\nv + [torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark]",
    "torch.backends.cuda.is_built()", "torch.backends.cuda.matmul.allow_tf32",
    "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_tf32 = True\nv = [torch.get_float32_matmul_precision(), "
    "torch.backends.cuda.matmul.allow_tf32]\ntorch.backends.cuda.matmul.allow_tf32 = False\n"
    "v + [torch.get_float32_matmul_precision()]",
    "torch.set_float32_matmul_precision('high')\nv = torch.backends.cuda.matmul.allow_tf32\n"
    "torch.set_float32_matmul_precision('highest')\nv",
    "torch.backends.cuda.matmul.not_a_flag = 1",
    "torch.backends.cuda.flash_sdp_enabled()", "torch.backends.cuda.mem_efficient_sdp_enabled()",
    "torch.backends.cuda.math_sdp_enabled()", "torch.backends.cuda.cudnn_sdp_enabled()",
    "torch.backends.cuda.enable_flash_sdp(False)\nv = torch.backends.cuda.flash_sdp_enabled()\n"
    "torch.backends.cuda.enable_flash_sdp(True)\nv",
    "with torch.backends.cuda.sdp_kernel(enable_flash=False):\n    v = torch.backends.cuda.flash_sdp_enabled()\n"
    "[v, torch.backends.cuda.flash_sdp_enabled()]",
    "sdpa_kernel, SDPBackend = torch.nn.attention.sdpa_kernel, torch.nn.attention.SDPBackend\n"
    "with sdpa_kernel(SDPBackend.MATH):\n"
    "    v = [torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled()]\nv",
    "[int(b) for b in torch.nn.attention.SDPBackend.__members__.values()]",
    "torch.backends.cuda.is_flash_attention_available()", "int(torch.backends.cuda.preferred_linalg_library())",
    "torch.backends.cuda.cufft_plan_cache.max_size",
    "torch.backends.mps.is_available()", "torch.backends.mps.is_built()", "torch.backends.mps.is_macos13_or_newer()",
    "torch.backends.mkldnn.enabled", "torch.backends.mkldnn.deterministic",
    "torch.backends.opt_einsum.enabled", "torch.backends.opt_einsum.strategy",
    "torch.backends.opt_einsum.get_opt_einsum()", "torch.backends.mha.get_fastpath_enabled()",
    "torch.backends.fp32_precision", "torch.backends.flags_frozen()",
    # torch.mps, torch.xpu, torch.cpu
    "torch.mps.is_available()", "torch.mps.device_count()", "torch.mps.manual_seed(0)", "torch.mps.seed()",
    "torch.mps.synchronize()", "torch.mps.empty_cache()", "torch.mps.current_allocated_memory()",
    "torch.mps.Event()", "torch.xpu.is_available()", "torch.xpu.device_count()", "torch.xpu.synchronize()",
    "torch.cpu.is_available()", "torch.cpu.device_count()", "torch.cpu.current_device()",
    "torch.cpu.is_initialized()", "torch.cpu.synchronize()", "torch.cpu.set_device('cpu')",
    "torch.cpu.current_stream().query() if hasattr(torch.cpu.current_stream(), 'query') else True",
    "torch.cpu.Event().query()", "with torch.cpu.stream(None): pass\n0",
    "sorted(k for k in torch.cpu.get_capabilities() if k.startswith(('avx2', 'sse', 'fma3', 'avx512_f')))",
    # version and build
    "isinstance(torch.__version__, str)", "torch.__version__ >= '2.0'", "torch.__version__ >= '2.13'",
    "torch.__version__ < '2.14'", "torch.__version__ >= (2, 1)", "torch.__version__ > '2.9'",
    "torch.__version__ == '2.13.0'", "torch.__version__ >= 'abc'", "torch.__version__.split('+')[0]",
    "hash(torch.__version__) == hash(str(torch.__version__))", "torch.version.__version__.split('+')[0]",
    "type(torch.version.__version__).__name__", "torch.version.cuda", "torch.version.hip", "torch.version.debug",
    "isinstance(torch.version.git_version, str)", "torch.__config__.show().splitlines()[0]",
    "'at::get_num_threads()' in torch.__config__.parallel_info()",
    "torch.get_num_threads() >= 1", "torch.set_flush_denormal(False) in (True, False)",
    "torch.get_float32_matmul_precision()", "torch.set_float32_matmul_precision('bogus')",
    "torch.has_cuda", "torch.has_cudnn", "torch.has_mps", "torch.has_lapack",
    "torch.get_device_module().__name__.split('.')[-1]", "torch.get_device_module('cuda').__name__.split('.')[-1]",
    "torch.get_device_module('foo')", "torch.get_device_module('meta')",
    # devices
    "torch.device('cuda')", "torch.device('cuda', 0)", "torch.device('cuda:1').index", "torch.device('cpu').index",
    "torch.device('cpu', 0)", "torch.device('cpu:0')", "torch.device('mps')", "torch.device('cuda').type",
    "str(torch.device('cuda', 0))", "torch.device(torch.device('cuda'))", "torch.device(type='cuda', index=0)",
    "torch.device('foo')", "torch.device('cuda:x')", "torch.device('cuda:-1')", "torch.device('cuda', -1)",
    "torch.device('cuda:0', 1)", "torch.device(0)", "torch.device('CUDA')",
    "torch.device('cuda') == 'cuda'", "torch.device('cpu') == 'cpu'", "torch.device('cpu') == torch.device('cpu')",
    "torch.device('cuda') == torch.device('cuda:0')", "torch.device('cpu') != torch.device('cuda')",
    "len({torch.device('cpu'), torch.device('cpu')})", "torch.device('cpu') < torch.device('cpu')",
    "import pickle\npickle.loads(pickle.dumps(torch.device('cuda', 1)))",
    "torch.zeros(2).to('cuda')", "torch.zeros(2).to('cuda:0')", "torch.zeros(2).to(torch.device('cuda'))",
    "torch.zeros(2).to(device='cuda')", "torch.zeros(2).to('cuda', torch.float64)", "torch.zeros(2).to('mps')",
    "torch.zeros(2).to('xpu')", "torch.zeros(2).to('foo')", "torch.zeros(2).to(0)", "torch.zeros(2).cuda()",
    "torch.zeros(2).cuda(0)", "torch.zeros(2).cuda('cpu')", "torch.zeros(2).cuda(non_blocking=True)",
    "torch.zeros(2).to('cpu').tolist()", "torch.zeros(2).to('cpu:0').tolist()",
    "torch.zeros(2).to(torch.device('cpu', 0)).tolist()", "torch.zeros(2).to('cpu', non_blocking=True).tolist()",
    "torch.zeros(2).to(None).tolist()", "torch.zeros(2).to(torch.zeros(1).device).tolist()",
    "torch.zeros(2, device='cuda')", "torch.zeros(2, device='cuda:0')", "torch.ones(2, device='mps')",
    "torch.tensor([1.0], device='cuda')", "torch.randn(2, device='cuda')", "torch.rand(2, device='cuda')",
    "torch.randint(0, 3, (2,), device='cuda')", "torch.arange(3, device='cuda')", "torch.empty(2, device='cuda')",
    "torch.zeros(2, device=0)", "torch.zeros(2).new_zeros(2, device='cuda')",
    "torch.zeros(2, device=torch.device('cpu')).tolist()", "torch.zeros(2, pin_memory=True)",
    "torch.zeros(2).pin_memory()", "torch.zeros(2).is_pinned()", "torch.zeros(2).is_cuda",
    "torch.zeros(2).device", "torch.zeros(2).get_device()", "torch.zeros(2).device.type",
    "torch.Generator(device='cuda')", "torch.Generator().device",
    "torch.nn.Linear(1, 1).cuda()", "torch.nn.Linear(1, 1).to('cuda')", "torch.nn.Linear(1, 1).to(0)",
    "torch.nn.Linear(1, 1).cuda('cpu')", "torch.nn.Linear(1, 1).xpu()",
    "torch.nn.Linear(1, 1).to('cpu').weight.shape[0]", "torch.nn.Linear(1, 1).to(None).weight.shape[0]",
    "torch.nn.Linear(1, 1).to(torch.accelerator.current_accelerator()).weight.shape[0]",
    "torch.get_default_device()",
    "torch.set_default_device('cpu')\ntorch.get_default_device()",
    "torch.set_default_device('cuda')\ntry:\n    torch.zeros(1)\nfinally:\n    torch.set_default_device(None)",
    "torch.set_default_device('cuda')\ntry:\n    torch.get_default_device()\n"
    "finally:\n    torch.set_default_device(None)",
    "with torch.device('cuda'):\n    torch.zeros(1)", "with torch.device('cpu'):\n    x = torch.zeros(1)\nx.device",
    "torch.set_default_dtype(torch.int64)",
    "torch.set_default_dtype(torch.float64)\n"
    "v = [torch.get_default_dtype(), torch.ones(1).dtype, torch.tensor([1.5]).dtype]\n"
    "torch.set_default_dtype(torch.float32)\nv",
    "torch.set_printoptions(precision=2)\nv = repr(torch.tensor([1.23456]))\n"
    "torch.set_printoptions(profile='default')\nv",
    "torch.set_printoptions(sci_mode=False)\nv = repr(torch.tensor([1e-8, 1.0]))\n"
    "torch.set_printoptions(profile='default')\nv",
    "torch.strided", "torch.zeros(1).layout", "torch.sparse_coo",
    # DataLoader pin_memory without an accelerator
    "dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2)), batch_size=2, "
    "pin_memory=True)\n[b[0].is_pinned() for b in dl]",
    "torch.nn.parallel.data_parallel(torch.nn.Identity(), torch.ones(2), None)",
    "torch.nn.DataParallel(torch.nn.Identity()).device_ids",
]

# What dynagrad answers differently, on purpose (documented in each module's docstring): the library does not
# use oneDNN, OpenMP, NNPACK or an inter-op pool, and cannot switch the CPU to flushing denormals.
DEVIATIONS = {
    "torch.set_flush_denormal(False) in (True, False)": None,  # both bools; dynagrad's is False
}


def _run(lib, src: str):
    tree = ast.parse(src)
    env = {"torch": lib, "__builtins__": __builtins__}
    last = tree.body[-1]
    body = tree.body[:-1] if isinstance(last, ast.Expr) else tree.body
    code = compile(ast.Module(body=body, type_ignores=[]), "<probe>", "exec")
    exec(code, env)
    if isinstance(last, ast.Expr):
        return eval(compile(ast.Expression(last.value), "<probe>", "eval"), env)
    return None


def _plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if any(c.__name__ in ("device", "dtype", "layout") for c in type(v).__mro__):
        return repr(v).replace("dynagrad.", "torch.")
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist") and hasattr(v, "shape"):
        return ["tensor", v.tolist()]
    return "<object>"


def outcome(lib, src: str):
    """[result or exception type, warning categories] of one probe."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = ["ok", _plain(_run(lib, src))]
        except Exception as e:  # noqa: BLE001 - the exception type is what is compared
            res = ["raise", type(e).__name__]
    cats = sorted({w.category.__name__ for w in caught if not _noise(w)})
    return res + [cats]


def _noise(w) -> bool:
    # PyTorch-internal notices unrelated to the probe
    return "TypedStorage is deprecated" in str(w.message) or "Sparse invariant checks" in str(w.message)


def test_cpu_build_probes_match_torch():
    want = reference(lambda torch: [outcome(torch, p) for p in PROBES])
    got = [outcome(dynagrad, p) for p in PROBES]
    bad = []
    for src, w, g in zip(PROBES, want, got):
        if src in DEVIATIONS:
            continue
        if w != g:
            bad.append(f"{src!r}: torch {w}, dynagrad {g}")
    assert not bad, "\n".join(bad)


def test_deviations_are_what_the_docs_say():
    assert dynagrad.set_flush_denormal(True) is False
    assert dynagrad.backends.mkldnn.is_available() is False and dynagrad.backends.openmp.is_available() is False
    assert dynagrad.backends.nnpack.is_available() is False and dynagrad.get_num_interop_threads() == 1
    assert dynagrad.version.__version__.startswith("2.13.0+dynagrad.")
    assert dynagrad.version.dynagrad_version in dynagrad.__version__


# torch's names that dynagrad does not carry, by module, and why
_NOT_CARRIED = {
    "torch.cuda": {"BFloat16Storage", "BoolStorage", "ByteStorage", "CharStorage", "ComplexDoubleStorage",
                   "ComplexFloatStorage", "DoubleStorage", "FloatStorage", "HalfStorage", "IntStorage",
                   "LongStorage", "ShortStorage",  # legacy storages
                   "CUDAPluggableAllocator", "GreenContext", "MemPool", "use_mem_pool", "change_current_allocator",
                   "caching_allocator_alloc", "caching_allocator_delete", "caching_allocator_disabled",
                   "get_allocator_backend", "check_error", "cudaStatus", "get_stream_from_external",
                   "jiterator", "nccl", "profiler", "sparse", "tunable"},  # allocator/compiler internals
    "torch.accelerator": {"Any", "Graph", "cache", "deprecated", "graphs", "memory", "torch"},
    "torch.mps": {"Tensor", "compile_shader", "load_metallib", "profiler", "event", "torch"},
    "torch.cpu": set(),
    "torch.backends.cuda": {"cuFFTPlanCache", "cuFFTPlanCacheAttrContextProp", "blas_workspace_size",
                            "cublas_workspace_size", "cublaslt_workspace_size", "preferred_rocm_fa_library"},
}


@pytest.mark.parametrize("module", sorted(_NOT_CARRIED))
def test_modules_carry_torchs_names(module):
    names = reference(lambda torch: sorted(getattr(importlib.import_module(module), "__all__", None) or
                                           [n for n in dir(importlib.import_module(module)) if not n.startswith("_")]))
    ours = importlib.import_module("dynagrad" + module[len("torch"):])
    missing = [n for n in names if n not in _NOT_CARRIED[module] and not hasattr(ours, n)]
    assert not missing, f"{module} lacks {missing}"


@pytest.mark.parametrize("sub", ["cpu", "cuda", "cudnn", "mha", "mkl", "mkldnn", "mps", "nnpack", "openmp",
                                 "opt_einsum"])
def test_backends_import_as_modules(sub):
    mod = importlib.import_module(f"dynagrad.backends.{sub}")
    assert mod is getattr(dynagrad.backends, sub)
    assert callable(getattr(mod, "is_available", None) or getattr(mod, "get_cpu_capability", None) or
                    getattr(mod, "is_built", None) or getattr(mod, "get_fastpath_enabled", None))


def test_cudnn_flags_are_module_attributes_that_type_check():
    import dynagrad.backends.cudnn as cudnn
    cudnn.benchmark = True
    try:
        assert dynagrad.backends.cudnn.benchmark is True
    finally:
        cudnn.benchmark = False
    with pytest.raises(RuntimeError, match="expects a bool"):
        cudnn.enabled = 0
    assert cudnn.enabled is True


def test_version_is_packaging_compatible():
    packaging = pytest.importorskip("packaging.version")
    v = packaging.parse(dynagrad.__version__)
    assert v.release[:2] == (2, 13) and v.local.startswith("dynagrad")
    assert v >= packaging.parse("2.0") and dynagrad.__version__ >= packaging.Version("1.12")


def test_import_dynagrad_loads_none_of_the_device_modules():
    code = ("import sys, dynagrad; print(sorted(m for m in sys.modules if m.startswith('dynagrad.') and "
            "m.split('.')[1] in ('cuda', 'backends', 'accelerator', 'mps', 'sparse', 'xpu', 'version', "
            "'torch_version')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
