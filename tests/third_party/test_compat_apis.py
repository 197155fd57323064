"""The PyTorch APIs the third-party libraries need, checked against torch (and against PyTorch's values written
out, where torch is absent): storages (safetensors' shared-memory checks and zero-copy loading),
``torch.asarray``, ``torch.frombuffer``, ``Tensor.view(dtype=)``, ``torch.utils.hooks``, ``torch._C``'s API-usage
log (torchmetrics) and the ``Tensor.is_<device>`` flags."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import dynagrad
from tests.helpers import HAVE_TORCH, torch

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="compares with a live PyTorch")


def _both():
    return [dynagrad] + ([torch] if HAVE_TORCH else [])


def test_untyped_storage_is_the_memory_views_share():
    for m in _both():
        x = m.arange(6.0)
        v = x[2:]
        s = v.untyped_storage()
        assert isinstance(s, m.UntypedStorage) and isinstance(s, m.storage.UntypedStorage)
        assert (s.nbytes(), s.size(), len(s), s.element_size()) == (24, 24, 24, 1)
        assert s.data_ptr() == x.data_ptr() and v.data_ptr() == x.data_ptr() + 8
        assert s[4:8].tolist() == [0, 0, 128, 63] and s[-1] == 64 and s[4:8].nbytes() == 4
        assert str(s.device) == "cpu" and not s.is_cuda
        other = m.arange(6.0)
        assert other.untyped_storage().data_ptr() != s.data_ptr()
        s[0:4].copy_(m.tensor([2.0]).untyped_storage())  # writing the storage writes the tensor
        assert x[0].item() == 2.0
        s[20] = 300 + 256  # the low byte, as PyTorch keeps it
        assert s[20] == 44
        with pytest.raises(RuntimeError, match="can only set storage content with a int types, but got list"):
            s[0:2] = [1, 2]
        t = x.t() if x.dim() == 2 else x.reshape(2, 3).t()  # a non-contiguous view keeps the whole storage
        assert t.untyped_storage().nbytes() == 24
        with pytest.raises(IndexError):
            s[24]


def test_storage_printing_and_construction():
    for m in _both():
        s = m.UntypedStorage([1, 2, 255])
        assert repr(s) == " 1\n 2\n 255\n[torch.storage.UntypedStorage(device=cpu) of size 3]"
        assert m.UntypedStorage(5).nbytes() == 5 and s.clone().tolist() == [1, 2, 255]
        assert m.UntypedStorage.from_buffer(b"abcd", dtype=m.uint8).tolist() == [97, 98, 99, 100]
    with pytest.raises(TypeError):
        dynagrad.UntypedStorage([1, 300])


def test_typed_storage_warns_once_as_pytorch():
    for m in _both():
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            ts = m.tensor([1.5, 2.5, -1.0]).storage()
        assert ts.dtype == m.float32 and ts.size() == 3 and ts.nbytes() == 12 and ts[1] == 2.5
        assert ts.tolist() == [1.5, 2.5, -1.0] and ts.untyped().nbytes() == 12
        assert repr(ts).endswith("[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 3]")
        assert all("TypedStorage is deprecated" in str(w.message) for w in seen)


def test_storage_from_file_and_asarray_of_a_storage(tmp_path):
    path = tmp_path / "raw.bin"
    path.write_bytes(np.arange(4, dtype=np.float32).tobytes() + b"\x01\x02")
    for m in _both():
        s = m.UntypedStorage.from_file(str(path), shared=False, nbytes=18)
        assert s.nbytes() == 18
        f = m.asarray(s[0:16], dtype=m.uint8).view(dtype=m.float32)
        assert f.tolist() == [0.0, 1.0, 2.0, 3.0]
        f.add_(1)  # a file read without sharing gives writable memory
        assert m.asarray(s[0:4], dtype=m.float32).tolist() == [1.0]
        assert m.asarray(s[16:18], dtype=m.uint8).tolist() == [1, 2]
        assert m.asarray(m.arange(4.0).untyped_storage()).dtype == m.int64  # PyTorch's default for storages
        with pytest.raises(RuntimeError):
            m.UntypedStorage.from_file(str(path), shared=False, nbytes=100)


def test_asarray_shares_or_copies_as_pytorch():
    for m in _both():
        a = np.arange(3.0)
        t = m.asarray(a)
        a[0] = 5
        assert t[0].item() == 5.0 and t.dtype == m.float64
        assert m.asarray(a, copy=True).data_ptr() != t.data_ptr()
        with pytest.raises(ValueError, match="can't alias tensor with dtype 'Double' into dtype 'Float'"):
            m.asarray(a, dtype=m.float32, copy=False)
        with pytest.raises(ValueError, match="can't alias arbitrary sequence into a tensor"):
            m.asarray([1, 2], copy=False)
        x = m.ones(2)
        assert m.asarray(x) is x and m.asarray(x, copy=True) is not x
        assert m.asarray(x, dtype=m.float64).dtype == m.float64
        r = m.asarray([1, 2.5], dtype=m.float64, requires_grad=True)
        assert r.requires_grad and r.dtype == m.float64
        b = bytearray(8)
        u = m.asarray(b)
        assert u.dtype == m.float32 and tuple(u.shape) == (2,)
        u[0] = 1.0
        assert b[:4] == np.float32(1).tobytes()


def test_frombuffer_checks_and_readonly_buffers():
    for m in _both():
        for bad, kw, msg in [(b"", {}, r"both buffer length \(0\) and count \(-1\) must not be 0"),
                             (b"abc", {}, r"must be a multiple of element size \(2\)"),
                             (b"abcd", {"count": 3}, r"must not be greater than actual buffer length \(4 bytes\)"),
                             (b"abcd", {"offset": 4}, r"offset \(4 bytes\) must be non-negative")]:
            with pytest.raises(ValueError, match=msg):
                m.frombuffer(bad, dtype=m.int16, **kw)
        ba = bytearray(4)
        m.frombuffer(ba, dtype=m.uint8)[1] = 7  # a writable buffer is shared
        assert ba == bytearray(b"\x00\x07\x00\x00")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = m.frombuffer(bytes(range(4)), dtype=m.uint8)
        t.add_(1)  # a read-only buffer gives a writable tensor (dynagrad: a copy; PyTorch writes the bytes)
        assert t.tolist() == [1, 2, 3, 4]


def test_view_dtype_keyword():
    for m in _both():
        assert m.ones(2).view(dtype=m.int32).tolist() == [1065353216, 1065353216]
        assert m.ones(2).view(m.int32).tolist() == [1065353216, 1065353216]
        assert tuple(m.zeros(2, 4, dtype=m.uint8).view(dtype=m.float32).shape) == (2, 1)


def test_utils_hooks_removable_handle():
    from dynagrad.utils.hooks import RemovableHandle, unserializable_hook
    mods = [(dynagrad, RemovableHandle)]
    if HAVE_TORCH:
        from torch.utils.hooks import RemovableHandle as TorchHandle
        mods.append((torch, TorchHandle))
    for m, handle_cls in mods:
        lin = m.nn.Linear(2, 2)
        with lin.register_forward_pre_hook(lambda mod, args: None) as h:
            assert isinstance(h, handle_cls) and len(lin._forward_pre_hooks) == 1
        assert len(lin._forward_pre_hooks) == 0
    f = unserializable_hook(lambda g: g)
    assert f.__torch_unserializable__ is True


def test_log_api_usage_once_prints_only_when_asked():
    code = ("import dynagrad as torch, dynagrad._C\n"
            "torch._C._log_api_usage_once('a.b'); torch._C._log_api_usage_once('a.b');"
            "torch._C._log_api_usage_once('c')\n")
    env = dict(os.environ, PYTORCH_API_USAGE_STDERR="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stderr.splitlines() == ["PYTORCH_API_USAGE a.b", "PYTORCH_API_USAGE c"]
    env.pop("PYTORCH_API_USAGE_STDERR")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    with pytest.raises(TypeError):
        dynagrad._C._log_api_usage_once(3)


def test_device_flags():
    names = ("is_mps", "is_xpu", "is_ipu", "is_maia", "is_mtia", "is_xla", "is_vulkan", "is_mkldnn", "is_nested")
    for m in _both():
        t = m.ones(2)
        assert [getattr(t, n) for n in names] == [False] * len(names)


def test_parameters_share_storage_with_their_detached_views():
    w = dynagrad.nn.Linear(3, 3).weight
    assert w.untyped_storage().data_ptr() == w.detach().untyped_storage().data_ptr()
    assert w.untyped_storage().data_ptr() != w.clone().untyped_storage().data_ptr()


def test_dlpack_round_trips_share_memory():
    for m in _both():
        a = np.arange(3.0)
        t = m.from_dlpack(a)
        a[0] = 9
        assert t.tolist() == [9.0, 1.0, 2.0] and m.utils.dlpack.from_dlpack is m.from_dlpack
        back = np.from_dlpack(m.arange(4, dtype=m.int32))
        assert back.dtype == np.int32 and back.tolist() == [0, 1, 2, 3]
        cap = m.utils.dlpack.to_dlpack(m.ones(2))
        assert m.from_dlpack(cap).tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            m.from_dlpack(cap)
        with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
            np.from_dlpack(m.ones(2, requires_grad=True))
        assert m.from_dlpack(np.arange(4)[::2]).tolist() == [0, 2]
        dev = m.ones(1).__dlpack_device__()
        assert (int(dev[0]), dev[1]) == (1, 0)
        assert int(m.utils.dlpack.DLDeviceType.kDLCUDA) == 2


def test_fusion_matches_the_pair_it_replaces():
    for m in _both():
        m.manual_seed(0)
        conv, bn = m.nn.Conv2d(2, 3, 3), m.nn.BatchNorm2d(3)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        conv.eval(), bn.eval()
        x = m.randn(2, 2, 6, 6)
        fused = m.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
        assert m.allclose(fused(x), bn(conv(x)), atol=1e-5) and isinstance(fused.weight, m.nn.Parameter)
        lin, bn1 = m.nn.Linear(4, 3).eval(), m.nn.BatchNorm1d(3).eval()
        bn1.running_mean.fill_(0.3)
        y = m.randn(5, 4)
        assert m.allclose(m.nn.utils.fusion.fuse_linear_bn_eval(lin, bn1)(y), bn1(lin(y)), atol=1e-6)
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            m.nn.utils.fusion.fuse_conv_bn_eval(conv.train(), bn)
    if HAVE_TORCH:  # same numbers from the same weights
        conv, bn = dynagrad.nn.Conv2d(2, 3, 3).eval(), dynagrad.nn.BatchNorm2d(3).eval()
        bn.running_var.fill_(3.0)
        w, b = dynagrad.nn.utils.fusion.fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean,
                                                             bn.running_var, bn.eps, bn.weight, bn.bias)
        tw, tb = torch.nn.utils.fusion.fuse_conv_bn_weights(*(torch.tensor(t.detach().numpy()) for t in (
            conv.weight, conv.bias, bn.running_mean, bn.running_var)), bn.eps, torch.ones(3), torch.zeros(3))
        np.testing.assert_array_equal(w.detach().numpy(), tw.detach().numpy())
        np.testing.assert_array_equal(b.detach().numpy(), tb.detach().numpy())


def test_sync_batchnorm_is_batchnorm_without_a_process_group():
    for m in _both():
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Conv2d(1, 2, 1), m.nn.BatchNorm2d(2))
        net[1].running_mean.fill_(0.25)
        sync = m.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        assert type(sync[1]).__name__ == "SyncBatchNorm" and sync[1].running_mean is net[1].running_mean
        assert repr(sync[1]) == ("SyncBatchNorm(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                                 "track_running_stats=True)")
        x = m.randn(3, 1, 2, 2)
        ref = m.nn.BatchNorm2d(2)
        assert m.allclose(m.nn.SyncBatchNorm(2)(x.repeat(1, 2, 1, 1)), ref(x.repeat(1, 2, 1, 1)))
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
            m.nn.SyncBatchNorm(2)(m.ones(2))
        with pytest.raises(ValueError, match="number of input channels should be non-zero"):
            m.nn.SyncBatchNorm(0)(m.ones(2, 0))


def test_frozen_batchnorm_and_module_utils():
    from dynagrad.nn.modules import utils as U
    from dynagrad.vision.ops.misc import FrozenBatchNorm2d
    bn = dynagrad.nn.BatchNorm2d(3)
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
    bn.eval()
    frozen = FrozenBatchNorm2d(3)
    assert str(frozen.load_state_dict(bn.state_dict())) == "<All keys matched successfully>"
    x = dynagrad.randn(2, 3, 4, 4)
    assert dynagrad.allclose(frozen(x), bn(x), atol=1e-6) and not list(frozen.parameters())
    assert U._pair(3) == (3, 3) and U._triple((1, 2, 3)) == (1, 2, 3) and U._single(2) == (2,)
    assert U._reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1) and U._list_with_default([None, 3], [1, 5, 7]) == [5, 3]
    if HAVE_TORCH:
        from torch.nn.modules import utils as TU
        for fn in ("_pair", "_triple", "_quadruple"):
            assert getattr(U, fn)(4) == getattr(TU, fn)(4)
        sd, tsd = {"module.a": 1, "b": 2}, {"module.a": 1, "b": 2}
        U.consume_prefix_in_state_dict_if_present(sd, "module.")
        TU.consume_prefix_in_state_dict_if_present(tsd, "module.")
        assert list(sd.items()) == list(tsd.items())


def test_hub_reads_the_cache_and_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    import dynagrad.hub as hub
    monkeypatch.setattr(hub, "_hub_dir", None)
    assert hub.get_dir() == str(tmp_path / "th" / "hub")
    if HAVE_TORCH:
        monkeypatch.setattr(torch.hub, "_hub_dir", None)
        assert torch.hub.get_dir() == hub.get_dir()
        assert torch.hub.HASH_REGEX.pattern == hub.HASH_REGEX.pattern
    url = "https://example.com/models/tiny-7f3a.pth"
    with pytest.raises(RuntimeError, match="never downloads"):
        hub.load_state_dict_from_url(url)
    folder = tmp_path / "th" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    dynagrad.save({"w": dynagrad.ones(2)}, str(folder / "tiny-7f3a.pth"))
    assert hub.load_state_dict_from_url(url, weights_only=True)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(url, check_hash=True)
    with pytest.raises(RuntimeError, match="never downloads"):
        hub.download_url_to_file(url, str(tmp_path / "x"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text("def tiny(n=2):\n    'A tiny model.'\n    import torch\n    return n * 3\n")
    assert hub.list(str(repo), source="local") == ["tiny"] and hub.help(str(repo), "tiny", source="local") == \
        "A tiny model."
    with pytest.raises(RuntimeError, match="never does"):
        hub.load("owner/repo", "tiny")


def test_small_surface_names():
    import typing

    from dynagrad.jit.annotations import List
    for m in _both():
        assert m.jit.Final is typing.Final and m.jit.annotate(int, 3) == 3 and m.torch is m
        assert not isinstance(3, m.SymInt) and isinstance(3, (int, m.SymInt))
        assert m.chalf is m.complex32 and m.complex32.is_complex and m.complex32.itemsize == 4
        for other, want in [(m.float16, m.complex32), (m.float32, m.complex64), (m.bfloat16, m.complex64),
                            (m.float64, m.complex128), (m.int64, m.complex32), (m.complex128, m.complex128)]:
            assert m.promote_types(m.complex32, other) == want and m.promote_types(other, m.complex32) == want
        assert m.ones(2).is_inference() is False
    assert List[int] == typing.List[int]  # noqa: UP006
    with pytest.raises(TypeError, match="no complex32 tensors"):
        dynagrad.ones(2, dtype=dynagrad.complex32)
    with pytest.raises(TypeError, match="no symbolic sizes"):
        dynagrad.SymInt()
    from dynagrad._subclasses.fake_tensor import is_fake
    from dynagrad.fx.experimental.proxy_tensor import get_proxy_mode
    assert is_fake(dynagrad.ones(1)) is False and get_proxy_mode() is None


def test_distributed_constants():
    from datetime import timedelta

    from dynagrad.distributed import constants
    assert constants.default_pg_timeout == timedelta(minutes=30) and constants.default_pg_nccl_timeout is None
    if HAVE_TORCH:
        from torch.distributed import constants as tc
        assert (tc.default_pg_timeout, tc.default_pg_nccl_timeout) == (constants.default_pg_timeout, None)
