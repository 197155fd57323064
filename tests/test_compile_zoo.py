"""The model zoo, trained eagerly and compiled from the same seed: losses and final weights must agree.

Each entry builds its model(s) and optimizer(s) after ``manual_seed(0)`` (so the same initial weights),
draws its data from a fixed NumPy generator, and trains for STEPS steps with dropout on. It runs three
ways: eagerly; with the model compiled (``torch.compile(model)``, training outside); and with the whole
training step compiled (zero_grad, forward, backward, clipping, optimizer step inside the program). The
compiled programs repeat eager's random draws (dropout, randn_like, randn) in the same order, so the runs
agree to float32 rounding (in practice exactly). What a compiled function cannot capture runs eagerly and
still agrees; the test also checks that the entries meant to compile did compile.
"""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from tests.compile_models import (
    GPT,
    LSTMLM,
    MLP,
    VAE,
    ConvBNDrop,
    Discriminator,
    Generator,
    GPTConfig,
    QNet,
    ResNet,
    Seq2Seq,
    TreeNet,
    get_lr,
    vae_loss,
)

STEPS = 10
MODES = ["module", "step"]


def _maybe(fn, mode, which):
    return torch.compile(fn) if mode == which else fn


def _data(seed=0):
    return np.random.default_rng(seed)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def mlp(mode):
    torch.manual_seed(0)
    model = MLP((32, 64, 32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    m = _maybe(model, mode, "module")
    rng = _data()
    batches = [(_t(rng.standard_normal((16, 32), dtype=np.float32)), _t(rng.integers(0, 10, 16)))
               for _ in range(STEPS)]

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    return [step(x, y).item() for x, y in batches], [model], [step, m]


def convnet_bn_dropout(mode):
    torch.manual_seed(0)
    model = ConvBNDrop()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    m = _maybe(model, mode, "module")
    rng = _data(1)
    batches = [(_t(rng.standard_normal((8, 1, 16, 16), dtype=np.float32)), _t(rng.integers(0, 10, 8)))
               for _ in range(STEPS)]

    def step(x, y):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(m(x), y)
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    losses = [step(x, y).item() for x, y in batches]
    model.eval()
    with torch.no_grad():
        losses.append(m(batches[0][0]).sum().item())  # eval mode: running statistics, no dropout
    return losses, [model], [step, m]


def resnet(mode):
    torch.manual_seed(0)
    model = ResNet(num_classes=5, width=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    m = _maybe(model, mode, "module")
    rng = _data(2)
    batches = [(_t(rng.standard_normal((2, 3, 112, 112), dtype=np.float32)), _t(rng.integers(0, 5, 2)))
               for _ in range(STEPS)]

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    return [step(x, y).item() for x, y in batches], [model], [step, m]


def lstm_lm_truncated_bptt(mode):
    """The word language model's loop: the hidden state carries across calls, detached each time;
    gradients clipped, a manual SGD update on .data."""
    torch.manual_seed(0)
    model = LSTMLM(vocab=50, emb=16, hidden=16, layers=2, dropout=0.2)
    m = _maybe(model, mode, "module")
    bptt, batch, lr = 7, 4, 2.0
    data = _t(_data(3).integers(0, 50, (bptt * STEPS + 1, batch)))

    def repackage(h):
        return h.detach() if isinstance(h, torch.Tensor) else tuple(repackage(v) for v in h)

    def step(source, targets, hidden):
        hidden = repackage(hidden)
        model.zero_grad()
        output, hidden = m(source, hidden)
        loss = F.cross_entropy(output.view(-1, 50), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        return loss, hidden
    step = _maybe(step, mode, "step")
    hidden = model.init_hidden(batch)
    losses = []
    for i in range(STEPS):
        src, tgt = data[i * bptt:(i + 1) * bptt], data[i * bptt + 1:(i + 1) * bptt + 1]
        loss, hidden = step(src, tgt, hidden)
        losses.append(loss.item())
    return losses, [model], [step, m]


def gru_seq2seq_changing_lengths(mode):
    torch.manual_seed(0)
    model = Seq2Seq(input_size=6, hidden_size=16, output_size=6)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    m = _maybe(model, mode, "module")
    rng = _data(4)
    eye = np.eye(6, dtype=np.float32)
    batches = []
    for length in [3, 5, 3, 4, 5, 3, 6, 4, 5, 3][:STEPS]:
        tokens = rng.integers(0, 6, size=(8, length))
        shifted = np.concatenate([np.zeros((8, 1, 6), np.float32), eye[tokens][:, :-1]], axis=1)
        batches.append((_t(eye[tokens]), _t(shifted), _t(tokens)))

    def step(src, tgt, tokens):
        opt.zero_grad()
        logits = m(src, tgt)
        loss = F.cross_entropy(logits.reshape(-1, 6), tokens.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    return [step(*b).item() for b in batches], [model], [step, m]


def tree_recursive(mode):
    torch.manual_seed(0)
    model = TreeNet(vocab=8, dim=8, classes=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    m = _maybe(model, mode, "module")
    trees = [((1, 2), 3), (1, (2, (3, 4))), ((1, 2), 3), ((5, 6), (7, 0)), (1, (2, (3, 4))),
             ((1, 2), 3), (4, 5), ((5, 6), (7, 0)), (4, 5), (1, (2, (3, 4)))][:STEPS]

    def step(tree, label):
        opt.zero_grad()
        loss = F.cross_entropy(m(tree)[None], label)
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    return [step(tr, torch.tensor([i % 3])).item() for i, tr in enumerate(trees)], [model], [step, m]


def gpt(mode):
    """nanoGPT's training loop: tied embedding/head, causal attention, AdamW param groups, gradient clipping,
    the cosine learning-rate schedule set on the param groups before each step."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=16, vocab_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.1))
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-3, betas=(0.9, 0.95))
    m = _maybe(model, mode, "module")
    data = _data(5).integers(0, 32, 2000)
    rng = _data(6)

    def get_batch():
        ix = rng.integers(0, len(data) - 16, 4)
        x = np.stack([data[i:i + 16] for i in ix])
        y = np.stack([data[i + 1:i + 17] for i in ix])
        return _t(x), _t(y)
    batches = [get_batch() for _ in range(STEPS)]

    def step(x, y):
        _, loss = m(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    step = _maybe(step, mode, "step")
    losses = []
    for it, (x, y) in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, learning_rate=3e-3, warmup_iters=2, lr_decay_iters=STEPS, min_lr=3e-4)
        losses.append(step(x, y).item())
    return losses, [model], [step, m]


def gan_two_optimizers(mode):
    torch.manual_seed(0)
    G, D = Generator(nz=8, out=16), Discriminator(inp=16)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    g, d = _maybe(G, mode, "module"), _maybe(D, mode, "module")
    real = [_t(np.tanh(_data(7).standard_normal((8, 16), dtype=np.float32) + i)) for i in range(STEPS)]
    criterion = nn.BCEWithLogitsLoss()

    def d_step(x):
        opt_d.zero_grad()
        z = torch.randn(8, 8)
        fake = g(z)
        loss = criterion(d(x), torch.ones(8, 1)) + criterion(d(fake.detach()), torch.zeros(8, 1))
        loss.backward()
        opt_d.step()
        return loss, fake

    def g_step(fake):
        opt_g.zero_grad()
        loss = criterion(d(fake), torch.ones(8, 1))
        loss.backward()
        opt_g.step()
        return loss
    d_step, g_step = _maybe(d_step, mode, "step"), _maybe(g_step, mode, "step")
    losses = []
    for x in real:
        ld, fake = d_step(x)
        lg = g_step(fake)  # backward reaches G through the fake images d_step returned
        losses += [ld.item(), lg.item()]
    return losses, [G, D], [d_step, g_step, g, d]


def vae(mode):
    torch.manual_seed(0)
    model = VAE(inp=64, hidden=32, z=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    m = _maybe(model, mode, "module")
    rng = _data(8)
    batches = [_t(rng.random((16, 64), dtype=np.float32)) for _ in range(STEPS)]

    def step(x):
        opt.zero_grad()
        recon, mu, logvar = m(x)
        loss = vae_loss(recon, x, mu, logvar)
        loss.backward()
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    return [step(x).item() for x in batches], [model], [step, m]


def dqn_target_network(mode):
    """DQN's update: Q(s, a) against r + gamma * max_a' Q_target(s', a'), the target network copied from the
    policy network by load_state_dict every few steps."""
    torch.manual_seed(0)
    policy, target = QNet(), QNet()
    target.load_state_dict(policy.state_dict())
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    p, tg = _maybe(policy, mode, "module"), _maybe(target, mode, "module")
    rng = _data(9)
    batches = [(_t(rng.standard_normal((16, 4), dtype=np.float32)), _t(rng.integers(0, 2, (16, 1))),
                _t(rng.standard_normal(16, dtype=np.float32)), _t(rng.standard_normal((16, 4), dtype=np.float32)),
                _t((rng.random(16) < 0.1).astype(np.float32))) for _ in range(STEPS)]

    def step(s, a, r, s2, done):
        q = p(s).gather(1, a).squeeze(1)
        with torch.no_grad():
            nxt = tg(s2).max(1)[0]
        expected = r + 0.99 * nxt * (1 - done)
        loss = F.smooth_l1_loss(q, expected)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy.parameters(), 100)
        opt.step()
        return loss
    step = _maybe(step, mode, "step")
    losses = []
    for i, b in enumerate(batches):
        losses.append(step(*b).item())
        if i % 3 == 2:
            target.load_state_dict(policy.state_dict())
    return losses, [policy, target], [step, p]


def gradient_accumulation(mode):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    m = _maybe(model, mode, "module")
    rng = _data(10)
    micro = [[(_t(rng.standard_normal((4, 16), dtype=np.float32)), _t(rng.integers(0, 4, 4))) for _ in range(4)]
             for _ in range(STEPS)]

    def step(batches):
        opt.zero_grad()
        total = 0.0
        for x, y in batches:
            loss = F.cross_entropy(m(x), y) / len(batches)
            loss.backward()
            total = total + loss.detach()
        opt.step()
        return total
    step = _maybe(step, mode, "step")
    return [step(b).item() for b in micro], [model], [step, m]


def mixed_precision(mode):
    """autocast (bfloat16 on the CPU) around the forward, GradScaler around backward and the step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    m = _maybe(model, mode, "module")
    rng = _data(11)
    batches = [(_t(rng.standard_normal((8, 16), dtype=np.float32)), _t(rng.integers(0, 4, 8))) for _ in range(STEPS)]

    def step(x, y):
        opt.zero_grad()
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(m(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss
    step = _maybe(step, mode, "step")
    return [step(x, y).float().item() for x, y in batches], [model], [step, m]


ZOO = [mlp, convnet_bn_dropout, resnet, lstm_lm_truncated_bptt, gru_seq2seq_changing_lengths, tree_recursive, gpt,
       gan_two_optimizers, vae, dqn_target_network, gradient_accumulation, mixed_precision]
# entries whose whole step cannot be one program, and why (they must still agree with eager)
EAGER_STEPS = {"mixed_precision": "GradScaler keeps its scale and per-optimizer stage in Python attributes"}


def _state(models):
    return [t.detach().numpy().astype(np.float64) for m in models for t in list(m.parameters()) + list(m.buffers())]


def _compiled(fns):
    return [f for f in fns if isinstance(f, torch.compile.CompiledFunction) or
            isinstance(getattr(f, "_compiled", None), torch.compile.CompiledFunction)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry", ZOO, ids=[f.__name__ for f in ZOO])
def test_zoo_compiled_training_matches_eager(entry, mode):
    eager_losses, eager_models, _ = entry(None)
    losses, models, fns = entry(mode)
    assert len(eager_losses) >= STEPS
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(_state(eager_models), _state(models)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    compiled = [getattr(f, "_compiled", f) for f in _compiled(fns)]
    assert compiled
    if mode == "module" or entry.__name__ not in EAGER_STEPS:
        programs = sum(len(cf.programs) for cf in compiled)
        reasons = [e["reason"] for cf in compiled for e in cf.events if e["kind"] == "fallback"]
        assert programs >= 1, reasons
