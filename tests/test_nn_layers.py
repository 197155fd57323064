"""Every layer and activation against PyTorch: the same weights (copied through NumPy), then outputs, input
gradients, parameter gradients and buffers; reprs compared as strings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_nn_tools import check_module, compare  # noqa: E402

import dynagrad  # noqa: E402

R = np.random.default_rng(0)


def randn(*shape, scale=1.0, shift=0.0):
    return (R.standard_normal(shape) * scale + shift).astype(np.float32)


ACTIVATIONS = [
    ("ReLU", {}),
    ("ReLU6", {}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("PReLU", {}),
    ("PReLU", {"num_parameters": 4, "init": 0.1}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("SELU", {}),
    ("CELU", {"alpha": 0.7}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Tanh", {}),
    ("Sigmoid", {}),
    ("Hardtanh", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("Hardsigmoid", {}),
    ("Hardswish", {}),
    ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}),
    ("Softsign", {}),
    ("Tanhshrink", {}),
    ("Threshold", {"threshold": 0.1, "value": 20.0}),
    ("Softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": -1}),
    ("Softmin", {"dim": 1}),
    ("GLU", {"dim": 1}),
    ("LogSigmoid", {}),
    ("Hardshrink", {"lambd": 0.3}),
    ("Softshrink", {}),
    ("Softmax2d", {}),
    ("Identity", {}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}{kw}" for n, kw in ACTIVATIONS])
def test_activation(name, kw):
    x = randn(2, 4, 3, 2, scale=3)
    check_module(lambda m: getattr(m.nn, name)(**kw), x)
    assert repr(getattr(dynagrad.nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


INPLACE = [
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SELU",
    "CELU",
    "SiLU",
    "Mish",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_activation(name):
    compare(lambda m, F, x: getattr(m.nn, name)(inplace=True)(x * 1), randn(3, 4, scale=4))
    assert repr(getattr(dynagrad.nn, name)(inplace=True)) == repr(getattr(torch.nn, name)(inplace=True))
    x = dynagrad.tensor(randn(5, scale=4))
    y = getattr(dynagrad.nn, name)(inplace=True)(x)
    assert y is x and x._version == 1
    compare(lambda m, F, x: F.threshold(x * 1, 0.5, -1.0, inplace=True), randn(3, 4))
    compare(lambda m, F, x: F.rrelu(x * 1, training=False, inplace=True), randn(3, 4))


def test_rrelu_training_uses_random_slopes_in_range():
    x = dynagrad.tensor(-np.ones(1000, np.float32), requires_grad=True)
    y = dynagrad.nn.RReLU(0.1, 0.3)(x)
    slopes = -y.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and slopes.std() > 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)
    assert repr(dynagrad.nn.RReLU()) == repr(torch.nn.RReLU())


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 8), (8,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    check_module(lambda m: m.nn.Linear(8, 4, bias=bias), randn(*shape))
    assert repr(dynagrad.nn.Linear(8, 4, bias=bias)) == repr(torch.nn.Linear(8, 4, bias=bias))


def test_linear_float64_and_bilinear():
    check_module(lambda m: m.nn.Linear(3, 2, dtype=m.float64), R.standard_normal((4, 3)))
    check_module(lambda m: m.nn.Bilinear(3, 4, 2), randn(5, 3), randn(5, 4))
    check_module(lambda m: m.nn.Bilinear(3, 4, 2, bias=False), randn(3), randn(4))
    assert repr(dynagrad.nn.Bilinear(3, 4, 2)) == repr(torch.nn.Bilinear(3, 4, 2))


def test_flatten_unflatten_identity():
    x = randn(2, 3, 4, 5)
    check_module(lambda m: m.nn.Flatten(), x)
    check_module(lambda m: m.nn.Flatten(0, 2), x)
    check_module(lambda m: m.nn.Unflatten(1, (3, 1)), x)
    for d, t in [
        (dynagrad.nn.Flatten(1, 2), torch.nn.Flatten(1, 2)),
        (dynagrad.nn.Unflatten(1, (2, 2)), torch.nn.Unflatten(1, (2, 2))),
        (dynagrad.nn.Identity(3, foo=1), torch.nn.Identity(3, foo=1)),
    ]:
        assert repr(d) == repr(t)


@pytest.mark.parametrize("kw", [{}, {"elementwise_affine": False}, {"bias": False}, {"eps": 1e-3}])
def test_layer_norm(kw):
    check_module(lambda m: m.nn.LayerNorm(6, **kw), randn(4, 3, 6, scale=2, shift=1))
    check_module(lambda m: m.nn.LayerNorm((3, 6), **kw), randn(4, 3, 6))
    assert repr(dynagrad.nn.LayerNorm((3, 6), **kw)) == repr(torch.nn.LayerNorm((3, 6), **kw))


BN = [
    ({}, (8, 3)),
    ({}, (4, 3, 5)),
    ({"momentum": None}, (6, 3)),
    ({"affine": False}, (4, 3, 5)),
    ({"track_running_stats": False}, (4, 3, 5)),
    ({"momentum": 0.3, "eps": 1e-3}, (8, 3)),
    ({"bias": False}, (8, 3)),
]


@pytest.mark.parametrize("kw,shape", BN, ids=[f"{kw}{s}" for kw, s in BN])
def test_batch_norm_1d(kw, shape):
    x = randn(*shape, scale=2, shift=1)
    check_module(lambda m: m.nn.BatchNorm1d(3, **kw), x, steps=3)  # running stats after 3 updates
    check_module(lambda m: m.nn.BatchNorm1d(3, **kw), x, train=False)
    assert repr(dynagrad.nn.BatchNorm1d(3, **kw)) == repr(torch.nn.BatchNorm1d(3, **kw))


def test_batch_norm_eval_uses_trained_running_stats():
    x = randn(8, 3, scale=2, shift=1)
    dm, tm = check_module(lambda m: m.nn.BatchNorm1d(3), x, steps=4)
    assert int(dm.num_batches_tracked) == int(tm.num_batches_tracked) == 4
    for mod in (dm, tm):
        mod.eval()
    xe = randn(5, 3)
    np.testing.assert_allclose(
        dm(dynagrad.tensor(xe)).detach().numpy(), tm(torch.tensor(xe)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("cls,shape", [("BatchNorm2d", (2, 3, 4, 5)), ("BatchNorm3d", (2, 3, 2, 3, 2))])
def test_batch_norm_nd(cls, shape):
    x = randn(*shape, scale=2, shift=1)
    check_module(lambda m: getattr(m.nn, cls)(3), x, steps=2)
    check_module(lambda m: getattr(m.nn, cls)(3, momentum=None), x, steps=2)
    check_module(lambda m: getattr(m.nn, cls)(3), x, train=False)


def test_batch_norm_errors_match_torch():
    for m in (dynagrad, torch):
        with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
            m.nn.BatchNorm1d(3)(m.zeros(2, 3, 4, 5))
        with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
            m.nn.BatchNorm1d(3)(m.zeros(1, 3))
        with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
            m.nn.BatchNorm1d(3)(m.zeros(2, 4))


def test_sync_batch_norm_as_torch_cpu(monkeypatch):
    """One process: batch norm over any >= 2-D input; convert_sync_batchnorm keeps parameters and buffers;
    in training once a process group exists, PyTorch's CPU-build error."""
    x = randn(4, 3, 5, 2, scale=2, shift=1)
    check_module(lambda m: m.nn.SyncBatchNorm(3, momentum=None), x, steps=2)
    check_module(lambda m: m.nn.SyncBatchNorm(3), x, train=False)

    def convert(m):
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Conv2d(2, 3, 1), m.nn.BatchNorm2d(3), m.nn.Sequential(m.nn.BatchNorm1d(3)))
        net[1].running_mean.fill_(0.5)
        net.eval()
        out = m.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        bn = m.nn.SyncBatchNorm.convert_sync_batchnorm(m.nn.BatchNorm1d(2, affine=False))
        return ([type(mod).__name__ for mod in out.modules()], list(out.state_dict()), out[1].training,
                out[1].running_mean is net[1].running_mean, repr(out[2][0]), repr(bn),
                out(m.ones(1, 2, 2, 2))[0, :, 0].detach().numpy())
    mine, theirs = convert(dynagrad), convert(torch)
    assert mine[:-1] == theirs[:-1]
    np.testing.assert_allclose(mine[-1], theirs[-1], rtol=1e-5, atol=1e-6)
    for m in (dynagrad, torch):
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
            m.nn.SyncBatchNorm(3)(m.zeros(3))
        with pytest.raises(ValueError, match="SyncBatchNorm number of input channels should be non-zero"):
            m.nn.SyncBatchNorm(0)(m.zeros(2, 0))
    import dynagrad.distributed as dist
    monkeypatch.setattr(dist.distributed_c10d, "is_initialized", lambda: True)
    with pytest.raises(ValueError, match="SyncBatchNorm expected input tensor to be on GPU"):
        dynagrad.nn.SyncBatchNorm(3)(dynagrad.zeros(2, 3))
    assert dynagrad.nn.SyncBatchNorm(3).eval()(dynagrad.zeros(2, 3)).shape == (2, 3)  # eval: no sync


@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"eps": 1e-3}])
def test_group_norm(kw):
    check_module(lambda m: m.nn.GroupNorm(2, 6, **kw), randn(3, 6, 4, 2, scale=2, shift=1))
    check_module(lambda m: m.nn.GroupNorm(3, 6, **kw), randn(3, 6))
    assert repr(dynagrad.nn.GroupNorm(2, 6, **kw)) == repr(torch.nn.GroupNorm(2, 6, **kw))


def test_instance_rms_and_local_response_norm():
    x = randn(2, 3, 5, 4, scale=2, shift=1)
    check_module(lambda m: m.nn.InstanceNorm2d(3), x)
    check_module(lambda m: m.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), x, steps=2)
    check_module(lambda m: m.nn.InstanceNorm1d(3, affine=True), randn(3, 7))  # unbatched (C, L)
    check_module(lambda m: m.nn.RMSNorm(4), x)
    check_module(lambda m: m.nn.RMSNorm((5, 4), eps=1e-3, elementwise_affine=False), x)
    check_module(lambda m: m.nn.LocalResponseNorm(3), x)
    for cls, args in [("InstanceNorm2d", (3,)), ("RMSNorm", (4,)), ("LocalResponseNorm", (2,))]:
        assert repr(getattr(dynagrad.nn, cls)(*args)) == repr(getattr(torch.nn, cls)(*args))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"padding_idx": 0},
        {"padding_idx": -1},
        {"scale_grad_by_freq": True},
        {"max_norm": 1.0},
        {"max_norm": 1.5, "norm_type": 1.0},
    ],
)
def test_embedding(kw):
    idx = np.array([[1, 2, 2, 0], [9, 0, 3, 3]])
    dm, tm = check_module(lambda m: m.nn.Embedding(10, 4, **kw), idx)
    assert repr(dm) == repr(tm)


def test_embedding_padding_row_and_from_pretrained():
    emb = dynagrad.nn.Embedding(5, 3, padding_idx=2)
    assert not emb.weight.detach().numpy()[2].any()
    emb(dynagrad.tensor([[2, 2, 1]])).sum().backward()
    assert not emb.weight.grad.numpy()[2].any() and emb.weight.grad.numpy()[1].all()
    w = dynagrad.randn(4, 2)
    frozen = dynagrad.nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen.weight.detach().numpy(), w.numpy())
    free = dynagrad.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert free.weight.requires_grad and free.padding_idx == 1
    with pytest.raises(IndexError, match="index out of range"):
        free(dynagrad.tensor([4]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types"):
        free(dynagrad.tensor([1.0]))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    flat = np.array([1, 2, 2, 0, 9, 0, 3, 3])
    offsets = np.array([0, 3, 4, 5])
    dm, tm = check_module(lambda m: m.nn.EmbeddingBag(10, 4, mode=mode), flat, offsets)
    assert repr(dm) == repr(tm)
    check_module(lambda m: m.nn.EmbeddingBag(10, 4, mode=mode), flat.reshape(2, 4))
    check_module(lambda m: m.nn.EmbeddingBag(10, 4, mode=mode, padding_idx=2), flat, offsets)
    if mode == "sum":
        check_module(
            lambda m: m.nn.EmbeddingBag(10, 4, mode=mode),
            flat,
            offsets,
            randn(8),
            call=lambda mod, i, o, w: mod(i, o, per_sample_weights=w),
        )


def test_dropout_statistics_train_eval_and_inplace():
    dynagrad.manual_seed(0)
    d = dynagrad.nn.Dropout(0.3)
    x = dynagrad.ones(200, 500, requires_grad=True)
    y = d(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)
    d.eval()
    assert d(x) is x
    d.train()
    z = dynagrad.ones(10, 10) * 1
    out = dynagrad.nn.Dropout(0.5, inplace=True)(z)
    assert out is z and set(np.unique(z.numpy())) <= {0.0, 2.0}
    assert dynagrad.nn.functional.dropout(x, 0.0) is x
    assert not dynagrad.nn.functional.dropout(x, 1.0).detach().numpy().any()
    dynagrad.manual_seed(3)
    a = dynagrad.nn.functional.dropout(dynagrad.ones(50))
    dynagrad.manual_seed(3)
    b = dynagrad.nn.functional.dropout(dynagrad.ones(50))
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # dynagrad's global generator
    for p, inplace in [(0.5, False), (0.1, True)]:
        assert repr(dynagrad.nn.Dropout(p, inplace)) == repr(torch.nn.Dropout(p, inplace))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        dynagrad.nn.Dropout(1.5)


def test_channel_and_alpha_dropout():
    x = dynagrad.ones(4, 16, 3, 3, requires_grad=True)
    y = dynagrad.nn.Dropout2d(0.5)(x).detach().numpy()
    per_channel = y.reshape(4, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    y1 = dynagrad.nn.Dropout1d(0.5)(dynagrad.ones(8, 5)).numpy()
    assert ((y1 == 0).all(-1) | (y1 == 2).all(-1)).all()
    y3 = dynagrad.nn.Dropout3d(0.5)(dynagrad.ones(2, 4, 2, 2, 2)).numpy().reshape(2, 4, -1)
    assert ((y3 == 0).all(-1) | (y3 == 2).all(-1)).all()
    dynagrad.manual_seed(0)
    a = dynagrad.nn.AlphaDropout(0.2)(dynagrad.randn(100000)).numpy()
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02  # keeps SELU's fixed point
    assert dynagrad.nn.AlphaDropout(0.2).eval()(x) is x


@pytest.mark.parametrize(
    "name,args,shape",
    [
        ("ZeroPad2d", (1,), (1, 2, 3, 4)),
        ("ConstantPad1d", ((2, 1), 3.5), (2, 3, 4)),
        ("ConstantPad3d", (1, 0.5), (1, 2, 2, 3, 2)),
        ("ReflectionPad1d", (2,), (2, 3, 4)),
        ("ReflectionPad2d", ((1, 2, 0, 1),), (1, 2, 3, 4)),
        ("ReplicationPad2d", (2,), (1, 2, 3, 4)),
        ("ReplicationPad3d", (1,), (1, 1, 2, 3, 2)),
        ("CircularPad2d", ((1, 1, 2, 0),), (1, 2, 3, 4)),
        ("PixelShuffle", (2,), (2, 8, 3, 3)),
        ("PixelUnshuffle", (2,), (2, 2, 4, 6)),
    ],
)
def test_padding_and_pixel_shuffle_modules(name, args, shape):
    dm, tm = check_module(lambda m: getattr(m.nn, name)(*args), randn(*shape))
    assert repr(dm) == repr(tm)


def test_distance_modules():
    a, b = randn(5, 4), randn(5, 4)
    check_module(lambda m: m.nn.PairwiseDistance(), a, b)
    check_module(lambda m: m.nn.PairwiseDistance(p=1.0, keepdim=True), a, b)
    check_module(lambda m: m.nn.CosineSimilarity(dim=1), a, b)
    check_module(lambda m: m.nn.CosineSimilarity(dim=0, eps=1e-3), a, b)


def test_module_path_in_shape_errors():
    class Encoder(dynagrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = dynagrad.nn.Linear(784, 128)

        def forward(self, x):
            return dynagrad.nn.functional.relu(self.fc1(x))

    class Model(dynagrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.head = dynagrad.nn.Sequential(dynagrad.nn.Linear(128, 10))

        def forward(self, x):
            return self.head(self.encoder(x))

    model = Model()
    with pytest.raises(RuntimeError) as info:
        model(dynagrad.randn(64, 100))
    msg = str(info.value)
    assert msg.startswith("in encoder.fc1 (Linear(in_features=784, out_features=128, bias=True)): ")
    assert "mat1 and mat2 shapes cannot be multiplied (64x100 and 784x128)" in msg
    assert msg.count("in encoder.fc1") == 1
    with pytest.raises(RuntimeError, match=r"^in 0 \(Linear\(in_features=128"):  # paths from the called root
        model.head(dynagrad.randn(2, 5))
    with pytest.raises(ValueError, match=r"^in BatchNorm1d\(3, .*\): expected 2D or 3D input"):
        dynagrad.nn.BatchNorm1d(3)(dynagrad.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        torch.nn.Linear(784, 128)(torch.randn(64, 100))  # the same message in torch, without the path


def test_parameter_initialisations_use_dynagrad_generator():
    dynagrad.manual_seed(1)
    a = dynagrad.nn.Linear(3, 2).weight.detach().numpy().copy()
    dynagrad.manual_seed(1)
    b = dynagrad.nn.Linear(3, 2).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_warnings_like_torch_for_mismatched_target_sizes():
    for m in (dynagrad, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m.nn.functional.mse_loss(m.zeros(3, 1), m.zeros(3))
        assert any("target size" in str(x.message) for x in w)
