"""``python -m tests.opinfo.api_coverage``: how much of PyTorch's public API dynagrad has (needs torch).

Counted: "documented torch.* functions" are the callable, non-class names of ``torch.__all__`` without a
leading underscore, minus CUDA/cuDNN/MIOpen/MKLDNN/FBGEMM/quantized/sparse-internal/JIT/symbolic-shape names
(prefix lists below); Tensor methods are the public callables of ``dir(torch.Tensor)`` minus the same
families; nn.functional and special are the public callables of those modules.
"""
from __future__ import annotations

import inspect

_INTERNAL = ("cudnn_", "miopen_", "mkldnn_", "fbgemm_", "quantize", "quantized_", "q_", "sym_", "fake_quantize",
             "_", "is_vulkan", "ccol_", "crow_", "col_indices", "row_indices", "sparse_", "to_sparse", "to_mkldnn",
             "import_ir", "parse_", "merge_type", "unify_type", "fork", "wait", "set_autocast", "get_autocast",
             "is_autocast", "autocast_", "clear_autocast", "dequantize", "int_repr", "choose_qparams",
             "fused_moving_avg", "batch_norm_backward", "batch_norm_gather", "batch_norm_stats",
             "batch_norm_update", "batch_norm_elemt", "native_", "is_ipu", "is_xla", "is_xpu", "is_mps", "is_mtia",
             "is_maia", "ipu", "xpu", "mtia", "cuda", "record_stream", "qscheme", "is_quantized")


def _keep(n: str) -> bool:
    return not any(n.startswith(p) for p in _INTERNAL) and not n.endswith("_copy")


def main() -> None:
    import torch
    import torch.nn.functional as TF
    import torch.special as TS

    import dynagrad
    import dynagrad.nn.functional as DF
    import dynagrad.special as DS
    rows = []
    funcs = [n for n in torch.__all__ if _keep(n) and callable(getattr(torch, n, None))
             and not inspect.isclass(getattr(torch, n))]
    rows.append(("torch.* functions", funcs, dynagrad))
    meths = [n for n in dir(torch.Tensor) if _keep(n) and callable(getattr(torch.Tensor, n, None))]
    rows.append(("Tensor methods", meths, dynagrad.Tensor))
    fns = [n for n in dir(TF) if _keep(n) and callable(getattr(TF, n)) and not inspect.isclass(getattr(TF, n))
           and n not in ("Callable", "Optional", "DType", "boolean_dispatch", "handle_torch_function",
                         "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
                         "assert_int_or_pair")]
    rows.append(("torch.nn.functional", fns, DF))
    rows.append(("torch.special", list(TS.__all__), DS))
    print("| API | names | in dynagrad | coverage |\n| --- | --- | --- | --- |")
    missing_all = {}
    for title, names, mod in rows:
        have = [n for n in names if hasattr(mod, n)]
        missing_all[title] = sorted(set(names) - set(have))
        print(f"| {title} | {len(names)} | {len(have)} | {100 * len(have) / len(names):.1f}% |")
    for title, miss in missing_all.items():
        print(f"\nMissing from {title} ({len(miss)}): {' '.join(miss)}")


if __name__ == "__main__":
    main()
