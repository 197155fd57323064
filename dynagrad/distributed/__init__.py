"""``dynagrad.distributed``: data-parallel training over MPI, with ``torch.distributed``'s names.

Start N ranks with ``dynagrad launch -n N script.py`` (``mpiexec`` from the ``mpich`` wheel underneath;
``pip install "dynagrad[distributed]"``). In the script::

    import dynagrad as torch
    import dynagrad.distributed as dist
    dist.init_process_group("mpi")          # rank and world size come from the MPI launcher
    t = torch.ones(3) * (dist.get_rank() + 1)
    dist.all_reduce(t)                      # in place on every rank; async_op=True gives a Work
    model = torch.nn.parallel.DistributedDataParallel(model)

Collectives give up with an error after ``timeout`` (``init_process_group(timeout=...)``, default 30 min,
or ``DYNAGRAD_DIST_TIMEOUT`` seconds), and an uncaught exception on any rank ends the whole job naming
that rank.
"""
from .distributed_c10d import (
    Backend,
    DistBackendError,
    DistError,
    DistNetworkError,
    DistStoreError,
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    gather,
    gather_object,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    irecv,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    isend,
    monitored_barrier,
    new_group,
    recv,
    reduce,
    reduce_op,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
)

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("distributed_c10d",)]
