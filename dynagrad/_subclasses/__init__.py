"""``torch._subclasses``: PyTorch's tensor subclasses for tracing (FakeTensor). dynagrad traces with its own
Proxies and has no fake tensors; ``fake_tensor.is_fake`` answers the one question libraries ask of it."""
