"""Making one MPI job of processes that no MPI launcher started: ``mp.spawn`` workers, ``multiprocessing``
processes, or separate shells with ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` set.

``init_process_group(rank=r, world_size=n, init_method=...)`` meets the other ranks at the ``init_method``
address (``env://`` reads ``MASTER_ADDR``/``MASTER_PORT``; ``tcp://host:port``; ``file:///path``): rank 0
starts a small PMI key-value server there (``_pmi_server.py``, stdlib only) and every rank joins it. Once all
``n`` have joined, each rank points MPICH at it (``PMI_PORT``, ``PMI_ID``) and starts MPI, which then finds
the others as if ``mpiexec`` had started them: ``MPI.COMM_WORLD`` is the job, rank r is rank r, and the
collectives run over MPI's own transports. The server only brokers start-up, as PyTorch's TCPStore does
for gloo.

Why not MPI's dynamic processes (``Open_port``/``Comm_accept``/``Comm_connect``)? MPICH gives every process
started without a launcher the same job name, so two such singletons cannot connect ("local and remote
groups must not overlap"); a process manager that names the job is what they lack, and this is one.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

from .distributed_c10d import DistNetworkError, DistStoreError

_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_pmi_server.py")
_servers: list = []  # rank 0's server processes, kept referenced (they outlive init_process_group)
_MPI_ENV = ("PMI_", "PMIX_", "HYDRA_", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "OMPI_")


def _env(name: str, how: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"Error initializing torch.distributed using {how} rendezvous: environment variable "
                         f"{name} expected, but not set")
    return value


def address(init_method: str | None) -> tuple[str, str | None, int | None]:
    """``(how, host, port)`` for tcp:// and env://, ``("file", path, None)`` for file://."""
    method = init_method or "env://"
    if method.startswith("env://"):
        host = _env("MASTER_ADDR", "env://")
        port = _env("MASTER_PORT", "env://")
        return "env://", host, int(port)
    url = urlparse(method)
    if url.scheme == "tcp":
        if url.port is None:
            raise ValueError("Error initializing torch.distributed using tcp:// rendezvous: port number missing")
        if not url.hostname:
            raise ValueError("Error initializing torch.distributed using tcp:// rendezvous: hostname missing")
        return "tcp://", url.hostname, url.port
    if url.scheme == "file":
        path = url.path if not url.netloc else url.netloc + url.path
        if not path:
            raise ValueError("Error initializing torch.distributed using file:// rendezvous: path missing")
        return "file", path, None
    raise ValueError(f"No rendezvous handler for {url.scheme}:// (dynagrad reads env://, tcp:// and file://)")


def _listen(port: int) -> socket.socket:
    try:
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=128)
        return socket.create_server(("", port), backlog=128)
    except OSError as e:
        import errno
        name = errno.errorcode.get(e.errno, "?")
        raise DistNetworkError(f"The server socket has failed to listen on any local network address. port: "
                               f"{port}, useIpv6: false, code: -{e.errno}, name: {name}, message: "
                               f"{os.strerror(e.errno or 0).lower()} (another job may be using MASTER_PORT "
                               f"{port}; pick another)") from None


def _start_server(sock: socket.socket, size: int, timeout: float, path: str | None) -> None:
    debug = os.environ.get("DYNAGRAD_PMI_DEBUG") == "1"
    args = [sys.executable, "-I", "-S", _SERVER, str(sock.fileno()), str(size), repr(timeout)]
    if path:
        args.append(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_MPI_ENV)}
    _servers.append(subprocess.Popen(args, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=None if debug else subprocess.DEVNULL,
                                     env=env, close_fds=True))
    sock.close()


def _ipv4(host: str, port: int) -> str:
    try:
        return socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror:
        raise DistNetworkError(f"the rendezvous host {host!r} could not be resolved") from None


def _read_file(path: str) -> tuple[str, int] | None:
    try:
        with open(path) as f:
            text = f.read().split()
    except OSError:
        return None
    if len(text) != 3 or text[0] != "dynagrad-rendezvous":
        return None
    host, port = text[1], int(text[2])
    if host == socket.gethostname():
        host = "127.0.0.1"
    return host, port


def join(rank: int, size: int, init_method: str | None, timeout: float) -> None:
    """Meet the other ranks; on return the environment makes MPI's start-up join this job."""
    how, host, port = address(init_method)
    deadline = time.monotonic() + timeout
    if rank == 0:
        if how == "file":
            sock = _listen(0)
            where = sock.getsockname()[1]
            tmp = f"{host}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(f"dynagrad-rendezvous {socket.gethostname()} {where}\n")
            os.replace(tmp, host)
            _start_server(sock, size, timeout, host)
            target = ("127.0.0.1", where)
        else:
            _start_server(_listen(port), size, timeout, None)
            target = ("127.0.0.1", port)
    else:
        target = None if how == "file" else (_ipv4(host, port), port)
    while True:  # the server may not be up yet: retry until the deadline
        if how == "file" and rank != 0:
            target = _read_file(host)
        if target is not None:
            try:
                conn = socket.create_connection(target, timeout=max(0.1, deadline - time.monotonic()))
                break
            except OSError:
                pass
        if time.monotonic() > deadline:
            where = host if how == "file" else f"{host}:{port}"
            raise DistStoreError(f"init_process_group: rank {rank} timed out after {timeout:g} s: no rendezvous "
                                 f"server at {where} (rank 0 has not started, or {how} points elsewhere)")
        time.sleep(0.05)
    with conn:
        conn.settimeout(max(1.0, deadline - time.monotonic() + 10))
        conn.sendall(f"cmd=dg_join rank={rank} size={size} host={socket.gethostname()} pid={os.getpid()}\n"
                     .encode())
        try:
            reply = conn.makefile("rb").readline().decode().strip()
        except OSError:
            reply = ""
        ip = target[0]
    if reply.startswith("cmd=dg_error"):
        raise DistStoreError(f"init_process_group (rank {rank} of {size}): {reply.partition('msg=')[2]}")
    if not reply.startswith("cmd=dg_ready"):
        raise DistStoreError(f"init_process_group (rank {rank} of {size}): the rendezvous server did not answer")
    for k in [k for k in os.environ if k.startswith(_MPI_ENV)]:
        del os.environ[k]  # a launcher's leftovers (inherited from a parent it started) would mislead MPI
    os.environ["PMI_PORT"] = f"{ip}:{target[1]}"
    os.environ["PMI_ID"] = str(rank)
    os.environ["DYNAGRAD_MPI_PID"] = str(os.getpid())


def singleton() -> None:
    """Start MPI as a job of one: drop a launcher's variables this process inherited from its parent."""
    for k in [k for k in os.environ if k.startswith(_MPI_ENV)]:
        del os.environ[k]
    os.environ["DYNAGRAD_MPI_PID"] = str(os.getpid())
