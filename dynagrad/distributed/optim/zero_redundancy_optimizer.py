"""``ZeroRedundancyOptimizer``: optimizer state sharded across the ranks (ZeRO stage 1), as
``torch.distributed.optim.ZeroRedundancyOptimizer``.

Every rank holds all parameters but owns a shard of them: the parameters of each group, largest first, go
to the rank with the fewest elements so far (PyTorch's sorted-greedy partition). Each rank's local
optimizer (``optimizer_class``) keeps state for and updates only its shard; after the local step every
shard is broadcast from its owner over MPI, so all ranks end the step with the same parameters, the ones
the unsharded optimizer gives. ``consolidate_state_dict(to)`` gathers the shards' states on one rank, whose
``state_dict()`` is then the unsharded optimizer's.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from ...optim.optimizer import Optimizer
from ...tensor import Tensor
from .. import distributed_c10d as c10d

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer(Optimizer):
    """Wrap ``optimizer_class`` so that each rank keeps the state of about ``1 / world_size`` of the
    parameters; ``step()`` updates this rank's shard and broadcasts every shard to all ranks.

    ``parameters_as_bucket_view=True`` lays each rank's shard out in one flat tensor (the parameters'
    ``.data`` become views of it) and broadcasts one message per rank. ``overlap_with_ddp=True`` (which
    needs DDP communication hooks) is not supported.

    >>> from dynagrad.distributed.optim import ZeroRedundancyOptimizer             # doctest: +SKIP
    >>> opt = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=dynagrad.optim.Adam, lr=1e-3)  # doctest: +SKIP
    >>> loss.backward(); opt.step()                                                 # doctest: +SKIP
    >>> opt.consolidate_state_dict(to=0)                                            # doctest: +SKIP
    >>> if dist.get_rank() == 0: dynagrad.save(opt.state_dict(), "opt.pt")         # doctest: +SKIP
    """

    def __init__(self, params, optimizer_class: type, process_group=None, parameters_as_bucket_view: bool = False,
                 overlap_with_ddp: bool = False, **defaults: Any) -> None:
        if overlap_with_ddp:
            raise NotImplementedError("ZeroRedundancyOptimizer(overlap_with_ddp=True) needs DDP communication "
                                      "hooks, which dynagrad's DistributedDataParallel does not have; use "
                                      "overlap_with_ddp=False (the default) and call step() after backward")
        params = self._verify_and_init_params(params)
        self._verify_same_dense_param_type()
        self.initialized = False
        Optimizer.__init__(self, params, defaults)
        self._partition_cache: list[list[dict]] = []
        g = c10d._group(process_group)
        self.process_group = g
        self.world_size: int = g.size()
        self.rank: int = g.rank()
        self.global_rank: int = g._ranks[self.rank]
        self._overlap_with_ddp = False
        self._optim_defaults = defaults
        self._optim_constructor = optimizer_class
        self._is_trainable_mask = [p.requires_grad for p in self._all_params]
        self._init_local_optimizer()
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._buckets: list[Tensor] = []
        self._build_param_buckets()
        self._all_state_dicts: list[dict] = []
        self.initialized = True

    # -- checks -------------------------------------------------------------------------------------------
    def _verify_and_init_params(self, params) -> list:
        if isinstance(params, Tensor):
            raise TypeError(f"`params` argument should be an iterable of Tensors, but got {params.type()}")
        try:
            all_params = list(params)
        except TypeError as e:
            raise TypeError("`params` argument should be an iterable of Tensors or dicts, but got "
                            f"{type(params).__name__}") from e
        if not all_params:
            raise ValueError("ZeroRedundancyOptimizer got an empty parameter list")
        if all(isinstance(p, Tensor) for p in all_params):
            self._all_params = all_params
        elif all(isinstance(p, dict) for p in all_params):
            self._all_params = []
            for group in all_params:
                if "params" not in group:
                    raise ValueError("Each parameter group passed-in via `params` must have a 'params' key "
                                     "mapping to the parameters in the group")
                self._all_params.extend(group["params"])
        else:
            raise TypeError("`params` argument should be an iterable of Tensors or dicts")
        return all_params

    def _verify_same_dense_param_type(self) -> None:
        first = self._all_params[0].type()
        for p in self._all_params[1:]:
            if p.type() != first:
                raise ValueError("ZeroRedundancyOptimizer only supports using the same dense type for all "
                                 f"parameters but got both {first} and {p.type()}")

    # -- the partition ------------------------------------------------------------------------------------
    def _partition_parameters(self, params_per_rank: list[list[Tensor]] | None = None) -> list[list[dict]]:
        """For each rank, its ``param_groups``: copies of the groups holding the parameters it owns."""
        if params_per_rank is not None:
            if self._partition_cache:
                raise AssertionError("Specifying `params_per_rank` should only be done when the parameters "
                                     "have not been partitioned yet")
            if len(self.param_groups) != 1:
                raise RuntimeError("Specifying `params_per_rank` only supports a single parameter group")
            if len(params_per_rank) != self.world_size:
                raise ValueError("`params_per_rank` must have length equal to the world size")
            known = {id(p) for p in self._all_params}
            if any(id(p) not in known for ps in params_per_rank for p in ps):
                raise ValueError("Passing a new parameter in `params_per_rank` that was not passed into the "
                                 "ZeroRedundancyOptimizer constructor")
            self._partition_cache = [[dict(self.param_groups[0], params=list(ps))] for ps in params_per_rank]
            return self._partition_cache
        if not self._partition_cache:
            self._partition_cache = [[] for _ in range(self.world_size)]
            sizes = [0] * self.world_size
            for group in self.param_groups:
                shards: list[list[Tensor]] = [[] for _ in range(self.world_size)]
                for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                    r = sizes.index(min(sizes))  # the first rank with the fewest elements
                    shards[r].append(p)
                    sizes[r] += p.numel()
                for r, ps in enumerate(shards):
                    shard = copy.copy(group)
                    shard["params"] = ps
                    self._partition_cache[r].append(shard)
        return self._partition_cache

    @property
    def _param_to_rank(self) -> dict:
        return {p: r for r, groups in enumerate(self._partition_parameters()) for g in groups for p in g["params"]}

    @property
    def _index_to_param(self) -> list[Tensor]:
        return list(chain.from_iterable(g["params"] for g in self.param_groups))

    @property
    def _param_to_index(self) -> dict:
        return {p: i for i, p in enumerate(self._index_to_param)}

    def _init_local_optimizer(self) -> None:
        self.optim = self._optim_constructor(self._partition_parameters()[self.rank], **self._optim_defaults)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (on every rank): its parameters are partitioned, and this rank's share joins the local
        optimizer."""
        super().add_param_group(param_group)
        if getattr(self, "initialized", False):
            self._partition_cache = []
            groups = self._partition_parameters()[self.rank]
            if len(groups) == len(self.optim.param_groups) + 1:
                self.optim.add_param_group(groups[-1])
            if self.parameters_as_bucket_view:
                self._build_param_buckets()

    # -- buckets (parameters_as_bucket_view) --------------------------------------------------------------
    def _build_param_buckets(self) -> None:
        """One flat tensor per rank holding the parameters it owns (their ``.data`` become views of it)."""
        if not self.parameters_as_bucket_view:
            return
        self._buckets = []
        for groups in self._partition_parameters():
            params = [p for g in groups for p in g["params"]]
            trainable = [p for p in params if p.requires_grad]
            for p in params:
                if not p.requires_grad:
                    p._data = p._data.copy()  # out of any earlier bucket
            if not trainable:
                self._buckets.append(Tensor._wrap(np.zeros(1, self._all_params[0]._data.dtype)))
                continue
            flat = np.empty(sum(p.numel() for p in trainable), trainable[0]._data.dtype)
            off = 0
            for p in trainable:
                n = p.numel()
                flat[off:off + n] = p._data.reshape(-1)
                p._data = flat[off:off + n].reshape(p._data.shape)
                off += n
            self._buckets.append(Tensor._wrap(flat))

    # -- the step -----------------------------------------------------------------------------------------
    @staticmethod
    def _sync_param_groups(src: list[dict], dst: list[dict]) -> None:
        """Copy every option but ``params`` (lr changed by a scheduler, ...) from ``src`` to ``dst``."""
        if len(src) != len(dst):
            raise AssertionError("Mismatch between number of source and destination parameter groups")
        for s, d in zip(src, dst):
            for k, v in s.items():
                if k != "params":
                    d[k] = v

    def _local_step(self, closure: Callable | None = None, **kwargs):
        mask = [p.requires_grad for p in self._all_params]
        if mask != self._is_trainable_mask:
            self._build_param_buckets()
            self._is_trainable_mask = mask
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        loss = self.optim.step(**kwargs) if closure is None else self.optim.step(closure=closure, **kwargs)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        return loss

    def _sync_params(self) -> None:
        """Broadcast every rank's shard from it to all ranks (one message per rank and dtype)."""
        g = self.process_group
        if self.world_size == 1:
            return
        for r, groups in enumerate(self._partition_parameters()):
            if self.parameters_as_bucket_view:
                c10d.broadcast(self._buckets[r], src=g._ranks[r], group=g)
            else:
                params = [p for grp in groups for p in grp["params"]]
                if params:
                    c10d._broadcast_coalesced(params, g, r, "ZeroRedundancyOptimizer (syncing parameters)")

    def step(self, closure: Callable | None = None, **kwargs):
        """Update this rank's shard with the local optimizer, then bring every rank's shard to all ranks."""
        loss = self._local_step(closure=closure, **kwargs)
        self._sync_params()
        return loss

    # -- state --------------------------------------------------------------------------------------------
    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every rank's shard state on rank ``to`` (call it on every rank), for ``state_dict()``."""
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        g = self.process_group
        self._all_state_dicts = []
        mine = self.optim.state_dict()
        for r in range(self.world_size):
            box = [mine if r == self.rank else None]
            if self.world_size > 1:
                c10d.broadcast_object_list(box, src=g._ranks[r], group=g)
            if self.rank == to:
                self._all_state_dicts.append(box[0])

    def state_dict(self) -> dict[str, Any]:
        """The whole optimizer's state, as the unsharded optimizer's ``state_dict()`` (after
        ``consolidate_state_dict`` on this rank)."""
        if not self._all_state_dicts:
            raise RuntimeError("Optimizer state has not been consolidated on this rank. Please call "
                               f"`consolidate_state_dict(to={self.rank})` on all ranks beforehand if you meant "
                               "to save the global state.")
        sd = Optimizer.state_dict(self)
        index = self._param_to_index
        for r, local in enumerate(self._all_state_dicts):
            shards = self._partition_parameters()[r]
            if len(local["param_groups"]) != len(shards):
                raise AssertionError("Mismatch between number of local and global parameter groups")
            for lg, shard in zip(local["param_groups"], shards):
                for li, p in zip(lg["params"], shard["params"]):
                    if li in local["state"]:
                        sd["state"][index[p]] = local["state"][li]
        sd["state"] = dict(sorted(sd["state"].items()))
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a whole optimizer's state (from ``state_dict()``): each rank keeps its shard's part."""
        index_to_param = self._index_to_param
        owner = self._param_to_rank
        self._sync_param_groups(state_dict["param_groups"], self.param_groups)
        local_index = {p: i for i, p in enumerate(chain.from_iterable(g["params"] for g in self.optim.param_groups))}
        local_state = {local_index[index_to_param[i]]: v for i, v in state_dict["state"].items()
                       if owner[index_to_param[i]] == self.rank}
        groups = []
        for g, lg in zip(self.param_groups, self.optim.param_groups):
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = [local_index[p] for p in lg["params"]]
            groups.append(d)
        self.optim.load_state_dict({"state": local_state, "param_groups": groups})
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
