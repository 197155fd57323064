"""Hostile checkpoints cost nothing: each case runs in one subprocess (memory capped, so a regression fails
instead of exhausting the machine), measured with tracemalloc and a clock, and must end in a
CheckpointError naming the file -- or load harmlessly where the bytes describe something valid."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

CASES = textwrap.dedent(r'''
    import io, json, resource, struct, sys, time, tracemalloc, zipfile, zlib
    resource.setrlimit(resource.RLIMIT_DATA, (1 << 30, 1 << 30))   # a runaway allocation fails here
    import numpy as np
    import dynagrad
    from dynagrad.serialization import CheckpointError, load, save

    def zip_of(pkl, storages=None, compress=zipfile.ZIP_STORED):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("archive/data.pkl", pkl, compress_type=compress)
            for k, v in (storages or {}).items():
                zf.writestr(f"archive/data/{k}", v)
        return buf.getvalue()

    def st_file(header, body=b""):
        h = header if isinstance(header, bytes) else json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + body

    def glob(m, n):
        return b"c" + m.encode() + b"\n" + n.encode() + b"\n"

    def ustr(s):
        return b"X" + struct.pack("<I", len(s)) + s.encode()

    def tensor(size, stride, numel=1):
        return (glob("torch._utils", "_rebuild_tensor_v2") + b"((" + ustr("storage") + glob("torch", "FloatStorage")
                + ustr("0") + ustr("cpu") + b"J" + struct.pack("<i", numel) + b"tQK\x00" + size + stride
                + b"\x89" + glob("collections", "OrderedDict") + b")RtR")

    def tup(xs):
        return b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", x) for x in xs) + b"t"

    # a 100,000-deep chain of lists built through the memo (the stack never grows)
    chain = bytearray(b"\x80\x02]r\x00\x00\x00\x00")
    for i in range(1, 100_000):
        chain += b"j" + struct.pack("<I", i - 1) + b"]r" + struct.pack("<I", i) + b"a"
    chain += b"0j\x00\x00\x00\x00."

    # a deflated data.pkl of 16 MB (16 KB compressed), whose zip directory then claims 1 GB, or 100 bytes
    bomb = zip_of(b"\x80\x02]" + b"N" * (16 << 20) + b".", compress=zipfile.ZIP_DEFLATED)

    def claim(data, size):
        at = data.rindex(b"PK\x01\x02")  # the central directory entry of data.pkl (the only record)
        return data[:at + 24] + struct.pack("<I", size) + data[at + 28:]
    ''')

# name -> (expression giving the file's bytes, expected: "error" or "ok")
FILES = {
    "memo index 2**26 (LONG_BINPUT)": ("zip_of(b'\\x80\\x02Nr\\x00\\x00\\x00\\x04.')", "ok"),
    "memo index 2**31 (LONG_BINPUT)": ("zip_of(b'\\x80\\x02Nr\\x00\\x00\\x00\\x80.')", "ok"),
    "memo index 2**32-1, GET of a missing entry": ("zip_of(b'\\x80\\x02j\\xff\\xff\\xff\\xff.')", "error"),
    "FRAME of 2**60 bytes": ("zip_of(b'\\x80\\x04\\x95' + struct.pack('<Q', 1 << 60) + b'N.')", "error"),
    "BINBYTES8 of 2**60 bytes": ("zip_of(b'\\x80\\x04\\x8e' + struct.pack('<Q', 1 << 60) + b'x.')", "error"),
    "BINUNICODE8 of 2**60 bytes": ("zip_of(b'\\x80\\x04\\x8d' + struct.pack('<Q', 1 << 60) + b'x.')", "error"),
    "BYTEARRAY8 of 2**62 bytes": ("zip_of(b'\\x80\\x05\\x96' + struct.pack('<Q', 1 << 62) + b'x.')", "error"),
    "LONG4 of 2**31 bytes": ("zip_of(b'\\x80\\x02\\x8b' + struct.pack('<I', 1 << 31) + b'x.')", "error"),
    "100,000 nested tuples": ("zip_of(b'\\x80\\x02N' + b'\\x85' * 100_000 + b'.')", "error"),
    "100,000 nested lists through the memo": ("zip_of(bytes(chain))", "error"),
    "100,000 MARKs": ("zip_of(b'\\x80\\x02' + b'(' * 100_000 + b'N.')", "error"),
    "deflated data.pkl claiming 1 GB": ("claim(bomb, 1 << 30)", "error"),
    "deflated data.pkl of 16 MB claiming 100 bytes": ("claim(bomb, 100)", "error"),
    "deflated data.pkl of 16 MB, honest": ("bomb", "error"),
    "a size-1 dim with stride 2**61": ("zip_of(b'\\x80\\x02' + tensor(tup([1]), tup([1 << 61])) + b'.', "
                                       "{'0': b'\\x00' * 4})", "ok"),
    "stride 2**62": ("zip_of(b'\\x80\\x02' + tensor(tup([2]), tup([1 << 62])) + b'.', {'0': b'\\x00' * 4})",
                     "error"),
    "shape [0, 2**61] (torch zip)": ("zip_of(b'\\x80\\x02' + tensor(tup([0, 1 << 61]), tup([1, 1])) + b'.', "
                                     "{'0': b'\\x00' * 4})", "error"),
    "shape [0, 2**61] (safetensors)": ("st_file({'w': {'dtype': 'F32', 'shape': [0, 1 << 61], "
                                       "'data_offsets': [0, 0]}})", "error"),
    "safetensors header nested 100,000 deep": ("st_file(b'{\"a\": ' + b'[' * 100_000 + b']' * 100_000 + b'}')",
                                                "error"),
    "format version '¹'": ("st_file({'__metadata__': {'format': 'dynagrad', 'format_version': '\\u00b9', "
                           "'structure': 'null'}})", "error"),
    "unknown structure tag _eq__": ("st_file({'__metadata__': {'format': 'dynagrad', 'format_version': '1', "
                                    "'structure': json.dumps({'$': '_eq__'})}})", "error"),
    "unknown structure tag _subclasshook__": ("st_file({'__metadata__': {'format': 'dynagrad', 'format_version': "
                                              "'1', 'structure': json.dumps({'$': '_subclasshook__'})}})", "error"),
    "unknown structure tag array": ("st_file({'__metadata__': {'format': 'dynagrad', 'format_version': '1', "
                                    "'structure': json.dumps({'$': 'array', 'key': 'x'})}})", "error"),
    "dynagrad structure nested 100,000 deep": ("st_file({'__metadata__': {'format': 'dynagrad', 'format_version': "
                                               "'1', 'structure': '[' * 100_000 + ']' * 100_000}})", "error"),
    "BUILD on an allowed global": ("zip_of(b'\\x80\\x02' + glob('collections', 'OrderedDict') + b'}b.')",
                                   "error"),
    "OBJ of a refused class (protocol 1)": ("zip_of(b'(' + glob('os', 'system') + ustr('ls') + b'o.')", "error"),
    "EXT1 extension code": ("zip_of(b'\\x80\\x02\\x82\\x01.')", "error"),
    "a big integer as text (protocol 0)": ("zip_of(b'I' + b'9' * 60_000 + b'\\n.')", "error"),
}

RUNNER = textwrap.dedent('''
    results = {}
    for name, expr in CASES_TO_RUN.items():
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            data = eval(expr)
        finally:
            tracemalloc.stop()
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            load(io.BytesIO(data), weights_only=False)
            outcome = "ok"
        except CheckpointError as e:
            outcome = "error" if "<BytesIO>" in str(e) else "error without the file name: " + str(e)
        except BaseException as e:
            outcome = f"{type(e).__name__}: {e}"[:300]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[name] = {"outcome": outcome, "peak": peak, "seconds": time.perf_counter() - t0,
                         "size": len(data)}
    print(json.dumps(results))
''')


@pytest.fixture(scope="module")
def results():
    code = CASES + f"CASES_TO_RUN = {json.dumps({k: v[0] for k, v in FILES.items()})}\n" + RUNNER
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", list(FILES))
def test_hostile_file_costs_nothing(results, case):
    got = results[case]
    assert got["outcome"] == FILES[case][1], got
    # bounded before allocation: a few MB beyond the file itself, never its claims
    assert got["peak"] < 8 * got["size"] + (16 << 20), got
    assert got["seconds"] < 20, got
