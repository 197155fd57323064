"""torch.save's format both ways with live PyTorch (skipped without it), whole models under ``dynagrad run``
(from fixtures PyTorch wrote, so that part runs without torch too), safe globals, map_location, mmap,
float8 safetensors, and crash-safe writes."""
from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import pytest

import dynagrad
import dynagrad.nn as nn
from dynagrad import serialization
from dynagrad.serialization import CheckpointError, UnsafeCheckpointError, load, save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
MODELS = os.path.join(FIXTURES, "torch", "models")
ENV = dict(os.environ, PYTHONPATH=ROOT)
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64", "float16",
          "bfloat16", "float32", "float64", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2"]
LEGACY_OK = [d for d in DTYPES if not d.startswith(("uint16", "uint32", "uint64", "float8"))]  # (torch's own
# legacy loader cannot read those either: it needs a typed storage class they lack)


def arr(t):
    return t.detach().numpy()


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint8).reshape(a.shape + (a.dtype.itemsize,))


def values(dtype: str, shape=(3, 4)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 20
    if dtype == "bool":
        return x > 0
    if dtype.startswith("complex"):
        return (x + 1j * x[::-1]).astype(dtype)
    import ml_dtypes

    np_dtype = getattr(ml_dtypes, dtype, None) or np.dtype(dtype)
    return np.abs(x).astype(np_dtype) if dtype.startswith("u") else x.astype(np_dtype)


def zoo(dtypes=DTYPES):
    """Every structure the issue lists, from dynagrad: dtypes, views, sharing, 0-d, empty, parameters."""
    base = dynagrad.from_numpy(np.arange(24, dtype=np.float32).reshape(4, 6))
    tensors = {d: dynagrad.from_numpy(values(d)) for d in dtypes}
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = dynagrad.optim.Adam(model.parameters(), lr=0.01)
    model(dynagrad.randn(5, 3)).sum().backward()
    opt.step()
    sched = dynagrad.optim.lr_scheduler.StepLR(opt, step_size=2)
    return OrderedDict(
        tensors=tensors, base=base, same=base, row=base[1], col=base[:, 2], t=base.t(), block=base[1:3, 2:5],
        strided=base[::2, ::3], scalar=dynagrad.tensor(2.5), empty=dynagrad.zeros(0, 3), int0=base[0, 0],
        param=nn.Parameter(dynagrad.ones(2, 2)), frozen=nn.Parameter(dynagrad.ones(3), requires_grad=False),
        grad=dynagrad.ones(2).requires_grad_(), model=model.state_dict(), optimizer=opt.state_dict(),
        scheduler=sched.state_dict(),
        meta={"epoch": 3, "lr": 0.1, "name": "run", "none": None, "nested": [(1, 2), {"k": [3.5, -(2 ** 70)]}],
              "size": dynagrad.Size([2, 3]), "dtype": dynagrad.float16, "bytes": b"\x00\xff", "set": {1, 2},
              "complex": 1 - 2j, "nan": float("nan"), "device": dynagrad.device("cpu")})


def check_torch_side(got, obj, torch):
    """torch.load's result against what dynagrad saved: values, dtypes, sharing, strides."""
    for d, t in obj["tensors"].items():
        g = got["tensors"][d]
        assert str(g.dtype) == f"torch.{d}", d
        want = arr(t)
        have = g.view(torch.uint8).numpy() if g.dtype.itemsize == 1 and d.startswith("float8") else None
        if have is not None:
            np.testing.assert_array_equal(have, want.view(np.uint8), err_msg=d)
        elif d == "bfloat16":
            np.testing.assert_array_equal(g.view(torch.int16).numpy(), want.view(np.int16), err_msg=d)
        else:
            np.testing.assert_array_equal(g.numpy(), want, err_msg=d)
    assert got["same"] is got["base"]
    ptr = got["base"].untyped_storage().data_ptr()
    for k in ("row", "col", "t", "block", "strided", "int0"):
        np.testing.assert_array_equal(got[k].numpy(), arr(obj[k]), err_msg=k)
        assert got[k].untyped_storage().data_ptr() == ptr, k  # views of one storage, as in PyTorch
        assert got[k].stride() == obj[k].stride() and got[k].storage_offset() == obj[k].storage_offset(), k
    assert got["scalar"].shape == () and got["scalar"].item() == 2.5 and tuple(got["empty"].shape) == (0, 3)
    assert isinstance(got["param"], torch.nn.Parameter) and got["param"].requires_grad
    assert isinstance(got["frozen"], torch.nn.Parameter) and not got["frozen"].requires_grad
    assert got["grad"].requires_grad and not isinstance(got["grad"], torch.nn.Parameter)
    assert list(got["model"]) == list(obj["model"]) and hasattr(got["model"], "_metadata")
    assert got["optimizer"]["param_groups"][0]["lr"] == 0.01 and got["scheduler"]["step_size"] == 2
    m = got["meta"]
    assert m["size"] == torch.Size([2, 3]) and m["dtype"] is torch.float16 and m["device"] == torch.device("cpu")
    assert m["nested"] == obj["meta"]["nested"] and m["bytes"] == b"\x00\xff" and m["set"] == {1, 2}
    assert m["complex"] == 1 - 2j and m["nan"] != m["nan"]
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    tm.load_state_dict(got["model"])  # a state_dict dynagrad saved loads into PyTorch's own modules
    opt = torch.optim.Adam(tm.parameters())
    opt.load_state_dict(got["optimizer"])


def check_dynagrad_side(got, obj):
    """dynagrad reading its own file (or PyTorch's of the same objects): bit for bit, sharing and strides."""
    for d, t in obj["tensors"].items():
        g = got["tensors"][d]
        assert g.dtype == t.dtype, d
        np.testing.assert_array_equal(bits(arr(g)), bits(arr(t)), err_msg=d)
    assert got["same"] is got["base"]
    for k in ("row", "col", "t", "block", "strided", "int0"):
        np.testing.assert_array_equal(arr(got[k]), arr(obj[k]), err_msg=k)
        assert np.shares_memory(arr(got[k]), arr(got["base"])), k
        assert got[k].stride() == obj[k].stride(), k
    arr(got["base"])[1, 2] = -7  # writable, and the views see it
    assert arr(got["row"])[2] == -7 and arr(got["t"])[2, 1] == -7
    assert isinstance(got["param"], nn.Parameter) and got["param"].requires_grad
    assert isinstance(got["frozen"], nn.Parameter) and not got["frozen"].requires_grad
    assert got["grad"].requires_grad and got["grad"].is_leaf
    assert got["scalar"].shape == () and tuple(got["empty"].shape) == (0, 3)
    m = got["meta"]
    assert type(m["size"]) is dynagrad.Size and m["dtype"] is dynagrad.float16 and m["set"] == {1, 2}
    assert m["nested"] == obj["meta"]["nested"] and m["bytes"] == b"\x00\xff" and m["complex"] == 1 - 2j
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model.load_state_dict(got["model"])
    assert got["optimizer"]["state"][0]["step"] is not None and got["scheduler"]["step_size"] == 2


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_dynagrad_writes_torch_reads(tmp_path, legacy):
    torch = pytest.importorskip("torch")
    obj = zoo(LEGACY_OK if legacy else DTYPES)
    path = tmp_path / "ckpt.pt"
    save(obj, path, _use_new_zipfile_serialization=not legacy)
    for mmap in ([False] if legacy else [False, True]):
        check_torch_side(torch.load(path, weights_only=True, mmap=mmap), obj, torch)
    check_dynagrad_side(load(path), obj)
    if not legacy:
        check_dynagrad_side(load(path, mmap=True), obj)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_protocols_and_file_objects(protocol):
    torch = pytest.importorskip("torch")
    obj = zoo(["float32", "int64", "bfloat16"])
    buf = io.BytesIO()
    save(obj, buf, pickle_protocol=protocol)
    buf.seek(0)
    # (torch's weights_only unpickler has no FRAME opcode, so it cannot read its own protocol 4 files)
    check_torch_side(torch.load(buf, weights_only=protocol < 4), obj, torch)
    buf.seek(0)
    check_dynagrad_side(load(buf), obj)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_writes_dynagrad_reads(legacy):
    """The same structures built by PyTorch and saved by torch.save, read by dynagrad bit for bit."""
    torch = pytest.importorskip("torch")
    obj = zoo(LEGACY_OK if legacy else DTYPES)
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    tobj = torch.load(buf, weights_only=True)  # PyTorch's own objects now
    out = io.BytesIO()
    torch.save(tobj, out, _use_new_zipfile_serialization=not legacy)
    out.seek(0)
    check_dynagrad_side(load(out), obj)


def test_whole_model_dynagrad_to_torch_and_back(tmp_path):
    """torch.save(model) from dynagrad writes PyTorch's class names: real torch builds its own modules, with
    the same outputs; dynagrad reads the file back (weights_only=False) into its own modules."""
    model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 5), nn.LayerNorm(5))
    rnn = nn.LSTM(4, 6, num_layers=2, bidirectional=True)
    attn = nn.MultiheadAttention(4, 2)
    for m in (model, rnn, attn):
        m.eval()
    x, seq = dynagrad.randn(2, 2, 6), dynagrad.randn(5, 1, 4)
    path = tmp_path / "models.pt"
    save({"model": model, "rnn": rnn, "attn": attn}, path)
    back = load(path, weights_only=False)
    assert type(back["attn"]) is nn.MultiheadAttention and back["model"][3].weight.requires_grad
    np.testing.assert_array_equal(arr(back["model"](x)), arr(model(x)))
    np.testing.assert_array_equal(arr(back["rnn"](seq)[0]), arr(rnn(seq)[0]))
    torch = pytest.importorskip("torch")
    got = torch.load(path, weights_only=False)
    assert type(got["model"][3]) is torch.nn.Linear and type(got["attn"]) is torch.nn.MultiheadAttention
    with torch.no_grad():
        np.testing.assert_allclose(got["model"](torch.from_numpy(arr(x))).numpy(), arr(model(x)), atol=1e-6)
        np.testing.assert_allclose(got["rnn"](torch.from_numpy(arr(seq)))[0].numpy(), arr(rnn(seq)[0]), atol=1e-6)
        q = torch.from_numpy(arr(seq))
        np.testing.assert_allclose(got["attn"](q, q, q)[0].numpy(), arr(attn(seq, seq, seq)[0]), atol=1e-6)


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", script, *args], capture_output=True,
                          text=True, env=ENV, timeout=240)


def test_torch_whole_models_load_under_dynagrad_run():
    """Files real PyTorch wrote with torch.save(model) (recorded in tests/fixtures/torch/models) give PyTorch's
    outputs under `dynagrad run`."""
    out = _run(os.path.join(FIXTURES, "load_torch_models.py"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(" ok") == 4, out.stdout


def test_torch_whole_models_live(tmp_path):
    """The same with files written now by the installed PyTorch."""
    pytest.importorskip("torch")
    made = subprocess.run([sys.executable, os.path.join(FIXTURES, "make_torch_models.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=240)
    assert made.returncode == 0, made.stderr
    out = _run(os.path.join(FIXTURES, "load_torch_models.py"), str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)


def test_weights_only_default_and_safe_globals():
    buf = io.BytesIO()
    save(Net(), buf)
    data = buf.getvalue()
    with pytest.raises(UnsafeCheckpointError, match=r"weights_only=False.*add_safe_globals") as info:
        load(io.BytesIO(data))
    assert isinstance(info.value, pickle.UnpicklingError) and f"{__name__}.Net" in str(info.value)
    assert serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == [
        f"{__name__}.Net", "torch.nn.modules.linear.Linear"]
    with serialization.safe_globals([Net]):  # every class the file names must be vouched for
        with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear"):
            load(io.BytesIO(data))
        with serialization.safe_globals([nn.Linear]):
            got = load(io.BytesIO(data))
        assert nn.Linear not in serialization.get_safe_globals()
    assert Net not in serialization.get_safe_globals()
    serialization.add_safe_globals([Net, (nn.Linear, "torch.nn.modules.linear.Linear")])
    try:
        assert type(load(io.BytesIO(data))) is Net
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []
    assert type(got) is Net and type(got.fc) is nn.Linear and not got.fc.weight.grad
    assert dynagrad.serialization.load is dynagrad.load


class Evil(nn.Module):
    def __setstate__(self, state):  # a class's own __setstate__ is the one thing loading calls on it
        raise RuntimeError("must not be reached for a refused file")


def test_whole_model_loading_refuses_what_is_not_a_module():
    # a class that is loaded but not an nn.Module, a module not imported, and a function: all refused by name
    for module, name in (("collections", "UserDict"), ("not_imported_anywhere", "Thing"), ("os", "getcwd"),
                         ("builtins", "eval"), ("subprocess", "Popen")):
        pkl = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")\x81."
        zf = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(zf, "w") as z:
            z.writestr("archive/data.pkl", pkl)
        with pytest.raises(UnsafeCheckpointError, match=rf"<BytesIO>: refusing to load global '{module}\.{name}'"):
            load(io.BytesIO(zf.getvalue()), weights_only=False)
    assert "not_imported_anywhere" not in sys.modules  # looked up, never imported


def test_map_location_forms():
    buf = io.BytesIO()
    save({"w": dynagrad.ones(2)}, buf)
    seen = []

    def keep(storage, location):
        seen.append(location)
        return storage

    for loc in (None, "cpu", dynagrad.device("cpu"), {"cuda:0": "cpu"}, keep, lambda s, loc: None):
        buf.seek(0)
        assert arr(load(buf, map_location=loc)["w"]).tolist() == [1.0, 1.0]
    assert seen == ["cpu"]
    for loc in ("cuda:0", dynagrad.device("cuda"), {"cpu": "cuda:1"}, lambda s, loc: s.cuda()):
        buf.seek(0)
        with pytest.raises(RuntimeError, match="CPU"):
            load(buf, map_location=loc)
    with pytest.raises(ValueError, match="file path"):
        load(io.BytesIO(buf.getvalue()), mmap=True)


def test_format_choice(tmp_path):
    obj = {"w": dynagrad.ones(2)}
    save(obj, tmp_path / "a.pt")
    save(obj, tmp_path / "b.safetensors")
    save(obj, tmp_path / "c.bin", format="dynagrad")
    save(obj, tmp_path / "d.safetensors", format="torch")
    kinds = {p: serialization.inspect_file(tmp_path / p).format for p in ("a.pt", "b.safetensors", "c.bin",
                                                                           "d.safetensors")}
    assert kinds == {"a.pt": "torch-zip", "b.safetensors": "dynagrad v1", "c.bin": "dynagrad v1",
                     "d.safetensors": "torch-zip"}
    for p in kinds:
        assert arr(load(tmp_path / p)["w"]).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="format"):
        save(obj, io.BytesIO(), format="pickle")


@pytest.mark.parametrize("code", ["F8_E4M3", "F8_E5M2"])
def test_float8_safetensors(tmp_path, code):
    import ml_dtypes
    import safetensors

    np_dtype = ml_dtypes.float8_e4m3fn if code == "F8_E4M3" else ml_dtypes.float8_e5m2
    a = np.array([0.5, -1.5, 3.0, 240.0], np.float32).astype(np_dtype)
    spec = safetensors.TensorSpec(dtype=np.dtype(np_dtype).name, shape=[4], data_ptr=a.ctypes.data, data_len=4)
    (tmp_path / "f8.safetensors").write_bytes(safetensors.serialize({"w": spec}))
    got = load(tmp_path / "f8.safetensors")["w"]
    assert got.dtype is getattr(dynagrad, np.dtype(np_dtype).name)
    assert got.to(dynagrad.float32).tolist() == a.astype(np.float32).tolist()
    save({"w": got}, tmp_path / "back.pt")
    assert load(tmp_path / "back.pt")["w"].to(dynagrad.float32).tolist() == a.astype(np.float32).tolist()


def test_inspect_lists_values_for_every_format(tmp_path, capsys):
    obj = {"model": {"w": dynagrad.zeros(2, 3)}, "epoch": 7, "name": "run-1", "betas": (0.9, 0.999),
           "history": [{"loss": 0.5}]}
    save(obj, tmp_path / "a.pt")
    save(obj, tmp_path / "b.safetensors")
    save(obj, tmp_path / "c.pt", _use_new_zipfile_serialization=False)
    from dynagrad.cli import main

    for p, fmt in (("a.pt", "PyTorch zip"), ("b.safetensors", "dynagrad v1"), ("c.pt", "PyTorch legacy")):
        assert main(["inspect", str(tmp_path / p)]) == 0
        text = capsys.readouterr().out
        assert fmt in text and "model.w" in text and "[2, 3]" in text, text
        for line in ("epoch", "7"), ("name", "'run-1'"), ("betas", "(0.9, 0.999)"), ("history.0.loss", "0.5"):
            assert any(line[0] in row and line[1] in row for row in text.splitlines()), (line, text)
    assert main(["inspect", os.path.join(MODELS, "tagger.pt")]) == 0
    text = capsys.readouterr().out
    assert "__main__.Tagger" in text and "lstm.weight_ih_l0" in text and "torch.nn.modules.rnn.LSTM" in text
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04 not really")
    assert main(["inspect", str(tmp_path / "bad.pt")]) == 1
    assert "bad.pt" in capsys.readouterr().err


# -- crash-safe writes -----------------------------------------------------------------------------------------
WRITER = r'''
import sys, numpy as np, dynagrad
path = sys.argv[1]
w = dynagrad.from_numpy(np.zeros(2_000_000, np.float32))   # 8 MB: a save takes a while
print("ready", flush=True)
i = 0
while True:
    i += 1
    w.fill_(i)
    dynagrad.save({"step": i, "w": w}, path)
'''


def test_killed_writer_never_leaves_a_torn_file(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    save({"step": 0, "w": dynagrad.zeros(2_000_000)}, path)
    rng = np.random.default_rng(0)
    left_behind = 0
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, env=ENV)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        got = load(path)  # whatever moment the kill hit, the target is one complete checkpoint
        assert arr(got["w"]).min() == arr(got["w"]).max() == got["step"]
        left_behind += len([n for n in os.listdir(tmp_path) if n.endswith(".tmp")])
    assert left_behind > 0  # (some kills did land mid-write)
    save({"step": -1}, path)  # the next save removes what killed writers left
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_save_fsyncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real(fd)))
    save({"w": dynagrad.ones(2)}, tmp_path / "m.pt")
    assert len(synced) == 2 and synced[0].endswith(".tmp") and synced[1] == str(tmp_path)
    with pytest.raises(CheckpointError):  # and a file that is not a checkpoint is never taken for one
        load(io.BytesIO(b"\x00" * 64))
