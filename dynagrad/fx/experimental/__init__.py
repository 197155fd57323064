"""``torch.fx.experimental``: only ``proxy_tensor.get_proxy_mode``, which libraries call to ask whether
``make_fx`` is tracing."""
