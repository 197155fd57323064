"""The rendezvous of processes that no MPI launcher started (``mp.spawn``, ``multiprocessing.Process``, separate
shells): a PMI-1 key-value server, so that the processes become one MPI job and MPICH does the rest.

MPICH processes started with ``PMI_PORT=host:port`` and ``PMI_ID=rank`` ask a process manager at that
address for their rank and the job's size and swap their addresses through its key-value space (``put``,
``get``, ``barrier``): that is all an MPI launcher gives them. This server is that manager for one job. It
carries only start-up metadata (as PyTorch's TCPStore does for gloo); every collective then runs over MPI's
own transports (shared memory between processes on one machine).

Before starting MPI, each rank joins with ``cmd=dg_join rank=R size=N host=H pid=P`` and waits until all N
have joined (``cmd=dg_ready``), so a missing or duplicated rank is a clear error within the timeout, not a
hang inside MPI. The server exits when every rank's MPI session has ended (``PMI_Finalize`` or the process
exited), or when the ranks do not all join in time.

Rank 0's ``init_process_group`` starts it as ``python -I -S _pmi_server.py FD SIZE TIMEOUT [FILE]``, handing
over the listening socket (file descriptor FD); it needs nothing but the standard library.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time

_DEBUG = os.environ.get("DYNAGRAD_PMI_DEBUG") == "1"


def _log(*a) -> None:
    if _DEBUG:
        print("[dynagrad pmi]", *a, file=sys.stderr, flush=True)


def _parse(line: str) -> dict:
    out = {}
    for tok in line.split(" "):
        k, eq, v = tok.partition("=")
        if eq:
            out[k] = v
    return out


class Job:
    def __init__(self, size: int, timeout: float, path: str | None) -> None:
        self.size, self.timeout, self.path = size, timeout, path
        self.cond = threading.Condition()
        self.joined: dict[int, tuple[str, int]] = {}  # rank -> (host, pid)
        self.error = ""
        self.error_at = 0.0
        self.answered = 0
        self.ready_at = None
        self.kvs: dict[str, str] = {}
        self.barrier_count = 0
        self.barrier_gen = 0
        self.sessions_open: set[int] = set()
        self.sessions_done: set[int] = set()
        self.start = time.monotonic()

    # -- the joining handshake ---------------------------------------------------------------------------
    def join(self, d: dict) -> str:
        try:
            rank, size = int(d["rank"]), int(d["size"])
        except (KeyError, ValueError):
            return "cmd=dg_error msg=malformed join request"
        with self.cond:
            if size != self.size:
                self.error = (f"rank {rank} was started with world_size={size} but rank 0 with "
                              f"world_size={self.size}")
            elif not 0 <= rank < self.size:
                self.error = f"rank {rank} is outside [0, {self.size - 1}] (world_size={self.size})"
            elif rank in self.joined:
                self.error = (f"two processes joined as rank {rank} (pids {self.joined[rank][1]} and "
                              f"{d.get('pid')}); every process needs its own rank")
            else:
                self.joined[rank] = (d.get("host", ""), int(d.get("pid", 0)))
                if len(self.joined) == self.size:
                    self.ready_at = time.monotonic()
                    # every rank has read the file to get here: remove it now, so that it is gone when the
                    # ranks end (and a later job on the same path is not confused, or later removed by us)
                    self.remove_file()
            self.cond.notify_all()
            end = self.start + self.timeout
            while not self.error and self.ready_at is None:
                left = end - time.monotonic()
                if left <= 0:
                    missing = sorted(set(range(self.size)) - set(self.joined))
                    self.error = (f"timed out after {self.timeout:g} s waiting for the other ranks: "
                                  f"{len(self.joined)}/{self.size} joined, missing rank(s) {missing}")
                    self.cond.notify_all()
                    break
                self.cond.wait(min(left, 1.0))
            self.answered += 1
            if self.error:
                self.error_at = self.error_at or time.monotonic()
                return "cmd=dg_error msg=" + self.error
            return "cmd=dg_ready mapping=" + self.mapping()

    def remove_file(self) -> None:
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None

    def mapping(self) -> str:
        """PMI_process_mapping: which ranks share a machine (and so MPI's shared-memory transport)."""
        hosts = [self.joined[r][0] for r in range(self.size)]
        node = {}
        blocks = []
        for h in hosts:
            n = node.setdefault(h, len(node))
            if blocks and blocks[-1][0] == n:
                blocks[-1][1] += 1
            else:
                blocks.append([n, 1])
        return "(vector," + ",".join(f"({n},1,{c})" for n, c in blocks) + ")"

    # -- PMI-1 ----------------------------------------------------------------------------------------------
    def pmi(self, d: dict, who: list) -> str | None:
        cmd = d.get("cmd")
        if cmd == "initack":
            who[0] = int(d.get("pmiid", -1))
            with self.cond:
                self.sessions_open.add(who[0])
            return f"cmd=initack rc=0\ncmd=set size={self.size}\ncmd=set rank={who[0]}\ncmd=set debug=0"
        if cmd == "init":
            return "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0"
        if cmd == "get_maxes":
            return "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0"
        if cmd == "get_appnum":
            return "cmd=appnum appnum=0 rc=0"
        if cmd == "get_my_kvsname":
            return "cmd=my_kvsname kvsname=dynagrad_kvs rc=0"
        if cmd == "get_universe_size":
            return f"cmd=universe_size size={self.size} rc=0"
        if cmd == "put":
            with self.cond:
                self.kvs[d.get("key", "")] = d.get("value", "")
            return "cmd=put_result rc=0"
        if cmd == "get":
            key = d.get("key", "")
            with self.cond:
                value = self.mapping() if key == "PMI_process_mapping" else self.kvs.get(key)
            if value is None:
                return "cmd=get_result rc=-1 msg=key_not_found"
            return f"cmd=get_result rc=0 value={value}"
        if cmd == "barrier_in":
            with self.cond:
                gen = self.barrier_gen
                self.barrier_count += 1
                if self.barrier_count == self.size:
                    self.barrier_count = 0
                    self.barrier_gen += 1
                    self.cond.notify_all()
                while self.barrier_gen == gen and not self.error:
                    self.cond.wait(1.0)
            return "cmd=barrier_out rc=0"
        if cmd == "finalize":
            return "cmd=finalize_ack rc=0"
        if cmd == "abort":
            self.abort(who[0], d.get("exitcode", "1"))
            return None
        if cmd in ("publish_name", "unpublish_name", "lookup_name", "spawn"):
            return f"cmd={cmd}_result rc=-1 msg=not_supported_by_dynagrad"
        return f"cmd={cmd} rc=-1 msg=unknown_command"

    def abort(self, rank: int, code: str) -> None:
        """MPI_Abort: end the job's other processes on this machine, as a launcher would."""
        _log("abort from rank", rank, "exit code", code)
        me = socket.gethostname()
        with self.cond:
            targets = [pid for r, (host, pid) in self.joined.items() if r != rank and host == me and pid > 0]
            self.error = f"rank {rank} called MPI_Abort"
            self.cond.notify_all()
        for pid in targets:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    def finished(self) -> bool:
        with self.cond:
            if self.error and not self.sessions_open - self.sessions_done:
                # stay a little for the ranks still on their way, so they learn why rather than find no one
                return self.answered >= self.size or time.monotonic() - (self.error_at or self.start) > 5
            if self.ready_at is None:
                return time.monotonic() - self.start > self.timeout + 5
            if len(self.sessions_done) == self.size:
                return True
            # ranks that never started their MPI session within the timeout are given up on
            late = time.monotonic() - self.ready_at > self.timeout
            return late and not self.sessions_open - self.sessions_done


def serve(conn: socket.socket, job: Job) -> None:
    who = [-1]
    f = conn.makefile("rb")
    try:
        while True:
            line = f.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            _log("<", who[0], text)
            d = _parse(text)
            reply = job.join(d) if d.get("cmd") == "dg_join" else job.pmi(d, who)
            if reply is None:
                break
            _log(">", who[0], reply)
            conn.sendall((reply + "\n").encode())
            if d.get("cmd") == "finalize":
                break
    except OSError:
        pass
    finally:
        if who[0] >= 0:
            with job.cond:
                job.sessions_done.add(who[0])
                job.cond.notify_all()
        try:
            conn.close()
        except OSError:
            pass


def main(argv: list[str]) -> int:
    fd, size, timeout = int(argv[0]), int(argv[1]), float(argv[2])
    path = argv[3] if len(argv) > 3 else None
    sock = socket.socket(fileno=fd)
    sock.settimeout(0.5)
    job = Job(size, timeout, path)
    threads = []
    try:
        while not job.finished():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=serve, args=(conn, job), daemon=True)
            t.start()
            threads.append(t)
    finally:
        sock.close()
        for t in threads:  # let replies already decided (errors, acknowledgements) reach their ranks
            t.join(0.5)
        job.remove_file()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
