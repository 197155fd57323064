"""dynagrad.utils.data against torch.utils.data: collation, samplers, splits, DataLoader, worker processes.

Structures, dtypes and deterministic orders are compared with real PyTorch (tests skip without it);
random orders cannot match PyTorch's bit generator, so for those the tests check the properties that
must hold (a permutation, reproducible for a seed, different across seeds).
"""
from __future__ import annotations

import collections
import gc
import os
import random
import time
import warnings

import numpy as np
import pytest

import dynagrad
from dynagrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def _torch():
    return pytest.importorskip("torch")


def norm(x):
    """A framework-neutral picture of a (nested) batch: tensors become ("T", dtype, shape, values)."""
    if type(x).__name__ == "Tensor":
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), x.tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: norm(v) for k, v in x.items()})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return ("namedtuple", type(x).__name__, tuple(norm(v) for v in x))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [norm(v) for v in x])
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.str, x.tolist())
    return ("leaf", type(x).__name__, x)


Point = collections.namedtuple("Point", ["x", "y"])

# Each case builds a batch with a given tensor library (torch or dynagrad), so both get equal inputs.
COLLATE_CASES = {
    "python_scalars": lambda T: [(0, 1.5, True, "a", b"x"), (1, 2.5, False, "b", b"y")],
    "dict_of_numpy": lambda T: [
        {"f": np.float32(1), "i": np.array([1, 2], dtype=np.int32), "d": np.float64(0.5)},
        {"f": np.float32(2), "i": np.array([3, 4], dtype=np.int32), "d": np.float64(1.5)},
    ],
    "namedtuple": lambda T: [Point(1, 2.0), Point(3, 4.0)],
    "nested_lists": lambda T: [[1, [2.0, "s"]], [3, [4.0, "t"]]],
    "tensors": lambda T: [
        (T.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)), T.from_numpy(np.array(i)))
        for i in range(3)
    ],
    "numpy_scalars": lambda T: [
        (np.int32(1), np.bool_(True), np.float16(1.5)),
        (np.int32(2), np.bool_(False), np.float16(2)),
    ],
    "numpy_arrays": lambda T: [np.ones((2, 3)), np.zeros((2, 3))],
    "uint8_arrays": lambda T: [np.full((2, 2), 7, dtype=np.uint8)] * 2,
    "ordered_dict": lambda T: [collections.OrderedDict(a=1, b=2.0), collections.OrderedDict(a=3, b=4.0)],
    "bools": lambda T: [True, False, True],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    torch = _torch()
    from torch.utils.data import default_collate as torch_collate

    ours = default_collate(COLLATE_CASES[case](dynagrad))
    theirs = torch_collate(COLLATE_CASES[case](torch))
    assert norm(ours) == norm(theirs)


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_convert_matches_torch(case):
    torch = _torch()
    from torch.utils.data import default_convert as torch_convert

    sample = COLLATE_CASES[case](dynagrad)[0]
    assert norm(default_convert(sample)) == norm(torch_convert(COLLATE_CASES[case](torch)[0]))


@pytest.mark.parametrize(
    "batch",
    [
        [np.array(["a", "b"]), np.array(["c", "d"])],  # strings have no tensor type
        [object(), object()],
        [[1, 2], [3]],  # ragged
    ],
    ids=["str_array", "object", "ragged"],
)
def test_default_collate_errors_match_torch(batch):
    torch = _torch()
    with pytest.raises(Exception) as theirs:
        torch.utils.data.default_collate(batch)
    with pytest.raises(theirs.type) as ours:
        default_collate(batch)
    # Messages name the offending type, e.g. "<class 'object'>", in both frameworks.
    assert str(ours.value) == str(theirs.value)


def test_default_collate_stacks_tensors():
    out = default_collate([dynagrad.tensor([1.0, 2.0]), dynagrad.tensor([3.0, 4.0])])
    assert tuple(out.shape) == (2, 2) and out.dtype == dynagrad.float32
    assert out.tolist() == [[1.0, 2.0], [3.0, 4.0]]


# ---------------------------------------------------------------------------------------------------
# Samplers
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False), (7, 7, True)]
)
def test_batch_sampler_matches_torch(n, bs, drop_last):
    torch = _torch()
    tu = torch.utils.data
    theirs = tu.BatchSampler(tu.SequentialSampler(range(n)), bs, drop_last)
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.BatchSampler(range(3), 0, False),
        lambda m: m.BatchSampler(range(3), True, False),
        lambda m: m.BatchSampler(range(3), 2, 1),
        lambda m: m.RandomSampler(range(3), replacement=1),
        lambda m: m.RandomSampler(range(3), num_samples=0),
        lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
        lambda m: m.WeightedRandomSampler([[1.0], [2.0]], 2),
    ],
)
def test_sampler_argument_errors_match_torch(make):
    torch = _torch()
    import dynagrad.utils.data as ours_mod

    with pytest.raises(Exception) as theirs:
        make(torch.utils.data)
    with pytest.raises(theirs.type, match=None) as ours:
        make(ours_mod)
    assert str(ours.value) == str(theirs.value)


def test_sequential_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler("abc")) == 3


def test_random_sampler_permutation_and_reproducible():
    g = dynagrad.Generator().manual_seed(5)
    s = RandomSampler(range(20), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != second  # a fresh permutation per pass
    again = RandomSampler(range(20), generator=dynagrad.Generator().manual_seed(5))
    assert list(again) == first
    other = RandomSampler(range(20), generator=dynagrad.Generator().manual_seed(6))
    assert list(other) != first


def test_random_sampler_default_generator_follows_manual_seed():
    dynagrad.manual_seed(3)
    a = list(RandomSampler(range(30)))
    dynagrad.manual_seed(3)
    b = list(RandomSampler(range(30)))
    assert a == b and sorted(a) == list(range(30))


def test_random_sampler_num_samples():
    g = dynagrad.Generator().manual_seed(0)
    s = RandomSampler(range(4), num_samples=10, generator=g)
    out = list(s)
    assert len(s) == 10 and len(out) == 10
    # Without replacement PyTorch concatenates whole permutations, then a prefix of one more.
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3] and len(set(out[8:])) == 2
    r = RandomSampler(range(4), replacement=True, num_samples=70, generator=g)
    drawn = list(r)
    assert len(drawn) == 70 and set(drawn) <= {0, 1, 2, 3} and len(set(drawn)) == 4


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=dynagrad.Generator().manual_seed(1))
    assert sorted(s) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler():
    g = dynagrad.Generator().manual_seed(0)
    s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 4000, generator=g)
    out = np.array(list(s))
    assert len(s) == 4000 and set(out.tolist()) == {1, 3}
    assert abs((out == 3).mean() - 0.75) < 0.05
    assert s.weights.dtype == dynagrad.float64
    without = list(WeightedRandomSampler([1.0, 2.0, 3.0, 4.0, 0.5], 5, replacement=False, generator=g))
    assert sorted(without) == [0, 1, 2, 3, 4]
    a = list(WeightedRandomSampler([1, 2, 3], 10, generator=dynagrad.Generator().manual_seed(9)))
    b = list(WeightedRandomSampler([1, 2, 3], 10, generator=dynagrad.Generator().manual_seed(9)))
    assert a == b
    with pytest.raises(RuntimeError, match="without replacement"):
        list(WeightedRandomSampler([1.0, 2.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="< 0"):
        list(WeightedRandomSampler([1.0, -2.0], 3))


def test_custom_sampler_subclass():
    class Backwards(Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    loader = DataLoader(list(range(5)), batch_size=2, sampler=Backwards(5))
    assert [b.tolist() for b in loader] == [[4, 3], [2, 1], [0]]


# ---------------------------------------------------------------------------------------------------
# Datasets and random_split
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,lengths", [(10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.7]), (30, [10, 20]), (5, [1.0])]
)
def test_random_split_lengths_match_torch(n, lengths):
    torch = _torch()
    theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    ours = random_split(range(n), lengths, generator=dynagrad.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    got = [i for s in ours for i in s]
    assert sorted(got) == list(range(n))
    assert all(isinstance(s, Subset) for s in ours)


def test_random_split_reproducible_and_errors():
    a = random_split(range(20), [0.5, 0.5], generator=dynagrad.Generator().manual_seed(4))
    b = random_split(range(20), [0.5, 0.5], generator=dynagrad.Generator().manual_seed(4))
    assert [list(s) for s in a] == [list(s) for s in b]
    dynagrad.manual_seed(1)
    c = random_split(range(20), [5, 15])
    dynagrad.manual_seed(1)
    d = random_split(range(20), [5, 15])
    assert [list(s) for s in c] == [list(s) for s in d]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(5), [2, 2])
    with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
        random_split(range(3), [0.5, 0.5, 0.0])


def test_dataset_combinators_match_torch():
    torch = _torch()
    tu = torch.utils.data
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 22))]
    ours, theirs = ConcatDataset(parts), tu.ConcatDataset(parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    everywhere = range(-len(ours), len(ours))
    assert [ours[i] for i in everywhere] == [theirs[i] for i in everywhere]

    class Squares(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i * i

    both = Squares() + Squares()
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(6)] == [0, 1, 4, 0, 1, 4]

    sub = Subset(list("abcdef"), [5, 0, 2])
    assert len(sub) == 3 and sub[0] == "f" and sub.__getitems__([1, 2]) == ["a", "c"]

    st = StackDataset([1, 2], ["a", "b"])
    assert st[1] == tu.StackDataset([1, 2], ["a", "b"])[1] == (2, "b")
    sd = StackDataset(x=[1, 2], y=["a", "b"])
    assert sd.__getitems__([0, 1]) == [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset([1], [1, 2])


def test_tensor_dataset():
    x, y = dynagrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), dynagrad.tensor([0, 1, 0])
    ds = TensorDataset(x, y)
    assert len(ds) == 3
    xi, yi = ds[1]
    assert xi.tolist() == [3.0, 4.0] and yi.item() == 1
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(x, dynagrad.tensor([0, 1]))


class Stream(IterableDataset):
    """range(start, end); sharded across workers when shard=True."""

    def __init__(self, start, end, shard=True):
        self.start, self.end, self.shard = start, end, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.start, self.end))
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))

    def __len__(self):
        return self.end - self.start


def test_chain_dataset_and_iterable_add():
    chained = Stream(0, 2) + Stream(5, 7)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 5, 6] and len(chained) == 4
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Stream(0, 1)])


# ---------------------------------------------------------------------------------------------------
# DataLoader, single process
# ---------------------------------------------------------------------------------------------------


def _samples(n):
    return [(np.full((2,), i, dtype=np.float32), i, {"name": f"s{i}", "w": 0.5 * i}) for i in range(n)]


@pytest.mark.parametrize(
    "batch_size,drop_last", [(3, False), (3, True), (4, True), (1, False), (None, False)]
)
def test_dataloader_batches_match_torch(batch_size, drop_last):
    torch = _torch()
    data = _samples(10)
    theirs = torch.utils.data.DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    ours = DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [norm(b) for b in ours] == [norm(b) for b in theirs]


def test_dataloader_iterable_matches_torch():
    torch = _torch()

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for kw in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}):
        theirs = torch.utils.data.DataLoader(TorchStream(), **kw)
        ours = DataLoader(Stream(0, 7), **kw)
        assert len(ours) == len(theirs)
        assert [norm(b) for b in ours] == [norm(b) for b in theirs]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shuffle": True, "sampler": [0, 1]},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
        {"multiprocessing_context": "fork"},
    ],
)
def test_dataloader_argument_errors_match_torch(kwargs):
    torch = _torch()
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(theirs.type):
        DataLoader(list(range(4)), **kwargs)


def test_dataloader_iterable_rejects_shuffle_and_attribute_freeze():
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(0, 3), shuffle=True)
    loader = DataLoader(list(range(4)))
    with pytest.raises(ValueError, match="should not be set after DataLoader is initialized"):
        loader.batch_size = 3


def test_dataloader_batch_sampler_and_collate_fn():
    loader = DataLoader(list(range(10)), batch_sampler=[[0, 1], [5, 6, 7]], collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 18] and len(loader) == 2


def test_dataloader_shuffle_reproducible():
    data = list(range(25))

    def epochs(seed):
        g = dynagrad.Generator().manual_seed(seed)
        loader = DataLoader(data, batch_size=5, shuffle=True, generator=g)
        return [[b.tolist() for b in loader] for _ in range(2)]

    a, b = epochs(11), epochs(11)
    assert a == b
    assert a[0] != a[1]  # a new order each epoch
    assert sorted(sum(a[0], [])) == data
    assert epochs(12) != a


def test_tensor_dataset_loader_dtypes():
    x = dynagrad.from_numpy(np.arange(20, dtype=np.float32).reshape(10, 2))
    y = dynagrad.from_numpy(np.arange(10, dtype=np.int64))
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=4, pin_memory=True)))
    assert tuple(xb.shape) == (4, 2) and xb.dtype == dynagrad.float32
    assert yb.dtype == dynagrad.int64 and yb.tolist() == [0, 1, 2, 3]


# ---------------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------------


class RandomProbe(Dataset):
    """Each item reports which worker made it and what the worker's random generators give."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "index": i,
            "worker": -1 if info is None else info.id,
            "seed": -1 if info is None else info.seed,
            "numpy": float(np.random.rand()),
            "python": random.random(),
            "dynagrad": float(dynagrad.rand(1).item()),
            "pid": os.getpid(),
        }


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 4:
            raise ValueError(f"bad sample {i}")
        return i


class Dying(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if get_worker_info() is not None:
            os._exit(3)
        return i


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(1.5)
        return i


def test_workers_match_single_process():
    data = _samples(23)
    for shuffle in (False, True):
        g1, g2 = dynagrad.Generator().manual_seed(3), dynagrad.Generator().manual_seed(3)
        single = DataLoader(data, batch_size=4, shuffle=shuffle, generator=g1)
        multi = DataLoader(data, batch_size=4, shuffle=shuffle, num_workers=2, generator=g2)
        assert [norm(b) for b in multi] == [norm(b) for b in single]
    # Tensors come back from workers as ordinary tensors.
    x = dynagrad.from_numpy(np.arange(12, dtype=np.float32).reshape(6, 2))
    batches = list(DataLoader(TensorDataset(x), batch_size=4, num_workers=2))
    assert batches[0][0].dtype == dynagrad.float32 and batches[1][0].tolist() == [[8.0, 9.0], [10.0, 11.0]]
    assert not batches[0][0].requires_grad


def test_worker_error_reraised_with_traceback():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as err:
        list(loader)
    msg = str(err.value)
    assert "Caught ValueError in DataLoader worker process 0." in msg
    assert "Original Traceback (most recent call last):" in msg
    assert "in __getitem__" in msg and "bad sample 4" in msg


def test_worker_init_error_and_unpicklable_batch():
    def bad_init(worker_id):
        raise KeyError("no such thing")

    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(DataLoader(list(range(4)), num_workers=1, worker_init_fn=bad_init))
    loader = DataLoader([0, 1], batch_size=1, num_workers=1, collate_fn=lambda b: (lambda: b))
    with pytest.raises(Exception, match="while pickling its batch"):
        list(loader)


def _probe(seed, **kw):
    g = dynagrad.Generator().manual_seed(seed)
    return list(DataLoader(RandomProbe(), batch_size=None, num_workers=2, generator=g, **kw))


def test_worker_seeds_distinct_and_reproducible():
    a, b, c = _probe(7), _probe(7), _probe(8)
    strip = lambda items: [{k: v for k, v in d.items() if k != "pid"} for d in items]
    assert strip(a) == strip(b)  # same generator seed, same worker streams
    assert strip(a) != strip(c)
    assert [d["index"] for d in a] == list(range(8))  # sampler order, whatever the arrival order
    assert {d["worker"] for d in a} == {0, 1}
    by_worker = {w: [d for d in a if d["worker"] == w] for w in (0, 1)}
    for key in ("numpy", "python", "dynagrad"):
        assert by_worker[0][0][key] != by_worker[1][0][key]
    # PyTorch's rule: worker seed = base_seed + worker id.
    assert by_worker[1][0]["seed"] == by_worker[0][0]["seed"] + 1
    # A new epoch draws a new base seed.
    g = dynagrad.Generator().manual_seed(7)
    loader = DataLoader(RandomProbe(), batch_size=None, num_workers=2, generator=g)
    first, second = list(loader), list(loader)
    assert first[0]["seed"] != second[0]["seed"]


def test_worker_numpy_seed_is_pytorchs():
    torch = _torch()
    from torch.utils.data._utils.worker import _generate_state

    item = _probe(21)[0]
    base_seed = item["seed"] - item["worker"]
    state = np.random.get_state()
    try:
        np.random.seed(_generate_state(base_seed, item["worker"]))
        assert np.random.rand() == item["numpy"]
    finally:
        np.random.set_state(state)
    random.seed(item["seed"])  # Python's random is seeded with the worker seed itself, as in PyTorch
    assert random.random() == item["python"]
    del torch


def test_worker_info_sharding_iterable():
    assert get_worker_info() is None
    loader = DataLoader(Stream(3, 14), batch_size=2, num_workers=2)
    got = [x for b in loader for x in b.tolist()]
    assert sorted(got) == list(range(3, 14))
    # Without sharding, every worker yields the whole stream.
    dup = [x for b in DataLoader(Stream(0, 3, shard=False), batch_size=None, num_workers=2) for x in [int(b)]]
    assert sorted(dup) == [0, 0, 1, 1, 2, 2]
    kept = list(DataLoader(Stream(0, 10), batch_size=3, drop_last=True, num_workers=2))
    assert all(len(b) == 3 for b in kept)  # each worker drops its own short tail, as in PyTorch


def test_worker_init_fn_configures_copy():
    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2
        info.dataset.offset = 100 * (worker_id + 1)

    class Offset(Dataset):
        offset = 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.offset + i

    out = [int(b) for b in DataLoader(Offset(), batch_size=None, num_workers=2, worker_init_fn=init)]
    assert out == [100, 201, 102, 203]  # round robin: even tasks to worker 0, odd to worker 1


def test_persistent_workers_and_in_order():
    loader = DataLoader(RandomProbe(), batch_size=2, num_workers=2, persistent_workers=True)
    e1, e2 = list(loader), list(loader)
    pids = lambda epoch: {p for b in epoch for p in b["pid"].tolist()}
    assert pids(e1) == pids(e2) and len(pids(e1)) == 2  # the same two workers served both epochs
    order = lambda epoch: [b["index"].tolist() for b in epoch]
    assert order(e1) == order(e2) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    workers = loader._iterator._workers
    del loader, e1, e2
    gc.collect()
    for w in workers:
        w.join(timeout=5)
        assert not w.is_alive()
    unordered = DataLoader(list(range(9)), batch_size=2, num_workers=2, in_order=False)
    assert sorted(x for b in unordered for x in b.tolist()) == list(range(9))


def test_workers_shut_down_when_iterator_deleted():
    it = iter(DataLoader(list(range(100)), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    assert all(w.is_alive() for w in workers)
    del it
    gc.collect()
    for w in workers:
        w.join(timeout=5)
        assert not w.is_alive()
    it = iter(DataLoader(list(range(4)), batch_size=2, num_workers=2))
    list(it)  # finishing an epoch shuts workers down too
    assert all(not w.is_alive() for w in it._workers)


def test_worker_death_and_timeout():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Dying(), num_workers=1))
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.2))


def test_spawn_context():
    x = dynagrad.from_numpy(np.arange(8, dtype=np.float32))
    loader = DataLoader(TensorDataset(x), batch_size=3, num_workers=1, multiprocessing_context="spawn")
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0]]


def test_dataloader_len_and_warnings():
    assert len(DataLoader(list(range(10)), batch_size=3)) == 4
    assert len(DataLoader(list(range(10)), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(Stream(0, 10), batch_size=4)) == 3
    loader = DataLoader(Stream(0, 4, shard=False), batch_size=None, num_workers=2)
    assert len(loader) == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(list(loader)) == 8
    assert any("was reported to be 4" in str(w.message) for w in caught)
