"""Process-wide autograd switches, read on every op: kept as plain module attributes for speed."""

grad_enabled = True
inference_mode = False
anomaly_enabled = False
anomaly_check_nan = True
sample_graph = False  # set by memory's graph-growth check: the next backward records graph_sample
graph_sample = None  # (weakrefs to up to 16 of that backward's nodes, ids of all its nodes)
profiler = None  # the active dynagrad.profiler.profile, if any
record_hook = None  # called with every new graph node (activation checkpointing uses it)
autocast_dtype = None  # numpy dtype of the active autocast region, or None
transform_hook = None  # autograd._dispatch.dispatch while forward AD (a dual level) or vmap is active
tracer = None  # the dynagrad.compile tracer recording now (compile/tracer.py), else None. The core calls it
# at a few Python-level points (backward, .grad, reads of values into Python, in-place version bumps,
# tensor creation, optimizer steps, zero_grad, random draws); each is one attribute check when not tracing
