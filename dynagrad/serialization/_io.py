"""Files: paths or file objects in; crash-safe writes; which format a stream holds."""
from __future__ import annotations

import io
import os
import re
import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO, Union

import numpy as np

from ._errors import CheckpointError

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
MAX_HEADER = 100_000_000  # the safetensors library's own limit on the JSON header


def is_path(f: object) -> bool:
    return isinstance(f, (str, os.PathLike))


@contextmanager
def reading(f: FileLike) -> Iterator[tuple[BinaryIO, str]]:
    """A seekable binary stream and the name messages use."""
    if is_path(f):
        try:
            fh = open(f, "rb")
        except IsADirectoryError:
            raise IsADirectoryError(f"[Errno 21] Is a directory: '{os.fspath(f)}'") from None
        with fh:
            yield fh, os.fspath(f)
        return
    if not hasattr(f, "read"):
        raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
    name = getattr(f, "name", None)
    name = name if isinstance(name, str) else f"<{type(f).__name__}>"
    if not getattr(f, "seekable", lambda: False)():  # a pipe or socket: sizes must be known up front
        f = io.BytesIO(f.read())
    yield f, name


# -- crash-safe writes -------------------------------------------------------------------------------
# A path is written as a hidden temporary file in the same folder, named after the target and the writing
# process: ".model.pt.<pid>.<random>.tmp". It is flushed and fsync'ed, renamed over the target (atomic on
# POSIX and Windows), and the folder is fsync'ed so the rename itself survives a power cut. A writer killed
# midway leaves only its temporary file, never a torn target; the next save to the same path removes the
# temporary files of writers that no longer run.
def _temp_pattern(base: str) -> re.Pattern:
    return re.compile(r"\." + re.escape(base) + r"\.(\d+)\.[0-9a-f]{8}\.tmp\Z")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # maybe another thread of ours, writing right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process (or no way to tell): keep its file
        return True
    return True


def remove_stale_temps(path: str) -> list[str]:
    """Delete the temporary files that killed writers of ``path`` left behind; returns their names."""
    folder, base = os.path.split(os.path.abspath(path))
    pattern, removed = _temp_pattern(base), []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m and not _alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows, where folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextmanager
def writing(f: FileLike) -> Iterator[BinaryIO]:
    """A binary stream to write; for a path, the crash-safe temporary file described above."""
    if not is_path(f):
        if not hasattr(f, "write"):
            raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
        yield f
        return
    path = os.path.abspath(os.fspath(f))
    folder, base = os.path.split(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"[Errno 21] Is a directory: '{os.fspath(f)}'")
    remove_stale_temps(path)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # open()'s usual permissions
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


# -- reading helpers ---------------------------------------------------------------------------------
def file_size(fh: BinaryIO) -> int:
    pos = fh.tell()
    end = fh.seek(0, io.SEEK_END)
    fh.seek(pos)
    return end


def read_exact(fh: BinaryIO, n: int, name: str, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise CheckpointError(f"{name}: file is truncated (ended while reading {what})")
    return data


def read_into(fh: BinaryIO, arr: np.ndarray, name: str, what: str) -> None:
    """Fill the contiguous ``arr`` straight from the stream; a short read means a truncated file."""
    view = memoryview(arr.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = fh.readinto(view[got:])
        if not n:
            raise CheckpointError(f"{name}: file is truncated (ended while reading {what})")
        got += n


def sniff(fh: BinaryIO, name: str) -> str:
    """Which format a stream holds: 'safetensors', 'torch-zip', 'torch-legacy' or 'torch-tar'."""
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "torch-zip"
    if head[257:262] == b"ustar":
        return "torch-tar"
    # safetensors before pickle: a header length whose low byte is 0x80 looks like pickle's PROTO
    if head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= MAX_HEADER:
        return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "torch-legacy"
    if head[:1] in (b"(", b"c", b"]", b"}", b"L", b"I"):  # how protocol 0 and 1 pickles begin
        return "torch-legacy"
    if not head:
        raise CheckpointError(f"{name}: file is empty")
    if len(head) < 16:
        raise CheckpointError(f"{name}: file is truncated or not a checkpoint (only {len(head)} bytes)")
    raise CheckpointError(f"{name}: not a dynagrad, safetensors or PyTorch checkpoint "
                          f"(unrecognised leading bytes {head[:8]!r})")
