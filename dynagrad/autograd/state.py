"""Process-wide autograd switches, read on every op: kept as plain module attributes for speed."""

grad_enabled = True
inference_mode = False
anomaly_enabled = False
anomaly_check_nan = True
profiler = None  # the active dynagrad.profiler.profile, if any
