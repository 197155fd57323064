"""Seeded training that draws random numbers gives PyTorch's results: an MLP with dropout and a GRU language
model with dropout (in the GRU and around it) reach PyTorch's losses step for step over 20 steps, and a
REINFORCE agent sampling its actions from a Categorical plays PyTorch's first 5 CartPole episodes.

Both libraries run the same program: the initial weights, the data, the dropout masks and the sampled
actions are the same draws, so the only differences left are the last bits of float arithmetic.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import reference

import dynagrad


def mlp_losses(m, steps: int = 20) -> list[float]:
    m.manual_seed(0)
    nn = m.nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 64), nn.ReLU(),
                          nn.Dropout(0.5), nn.Linear(64, 10))
    opt = m.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = m.randn(256, 64), m.randint(0, 10, (256,))
    losses = []
    for _ in range(steps):
        idx = m.randperm(256)[:32]  # a fresh minibatch each step, from the same stream
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


class _GruLM:
    """Embedding -> dropout -> 2-layer GRU (dropout between layers) -> dropout -> linear, as a module of
    either library."""

    def __init__(self, m, vocab: int = 30, emb: int = 16, hidden: int = 32) -> None:
        nn = m.nn

        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(vocab, emb)
                self.drop = nn.Dropout(0.3)
                self.gru = nn.GRU(emb, hidden, num_layers=2, dropout=0.25, batch_first=True)
                self.out = nn.Linear(hidden, vocab)

            def forward(self, tokens):
                h, _ = self.gru(self.drop(self.emb(tokens)))
                return self.out(self.drop(h))

        self.module = LM()


def gru_lm_losses(m, steps: int = 20) -> list[float]:
    m.manual_seed(1)
    model = _GruLM(m).module
    opt = m.optim.Adam(model.parameters(), lr=3e-3)
    text = m.randint(0, 30, (4000,))
    losses = []
    for _ in range(steps):
        starts = m.randint(0, 4000 - 21, (8,))
        batch = m.stack([text[int(s):int(s) + 21] for s in starts])
        logits = model(batch[:, :-1])
        loss = m.nn.functional.cross_entropy(logits.reshape(-1, 30), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        m.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.item()))
    return losses


@pytest.mark.parametrize("run", [mlp_losses, gru_lm_losses], ids=["mlp_dropout", "gru_lm_dropout"])
def test_training_with_dropout_follows_pytorch(run):
    ref = reference(lambda torch: run(torch))
    mine = run(dynagrad)
    np.testing.assert_allclose(mine, ref, rtol=2e-5, atol=1e-6)
    assert len(set(np.round(ref, 4))) > 5  # the losses move: the run really trains


def reinforce_returns(m, episodes: int = 5, seed: int = 0) -> list[float]:
    """examples/reinforce_cartpole.py's training loop, for either library."""
    import gymnasium as gym
    m.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    nn = m.nn
    policy = nn.Sequential(nn.Linear(4, 128), nn.ReLU(), nn.Linear(128, 2))
    opt = m.optim.Adam(policy.parameters(), lr=1e-2)
    totals = []
    for _ in range(episodes):
        state, _ = env.reset(seed=int(rng.integers(1 << 31)))
        states, actions, rewards, done = [], [], [], False
        while not done:
            obs = m.tensor(state, dtype=m.float32)
            with m.no_grad():
                action = int(m.distributions.Categorical(logits=policy(obs)).sample().item())
            state, reward, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            done = terminated or truncated
        g, returns = 0.0, np.empty(len(rewards), np.float32)
        for t in range(len(rewards) - 1, -1, -1):
            g = rewards[t] + 0.99 * g
            returns[t] = g
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        dist = m.distributions.Categorical(logits=policy(m.stack(states)))
        loss = -(dist.log_prob(m.tensor(actions)) * m.tensor(returns)).sum() - 0.01 * dist.entropy().sum()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        totals.append(sum(rewards))
    env.close()
    return totals


@pytest.mark.parametrize("seed", [0, 1])
def test_reinforce_plays_pytorchs_episodes(seed):
    pytest.importorskip("gymnasium")
    ref = reference(lambda torch: reinforce_returns(torch, seed=seed))
    assert reinforce_returns(dynagrad, seed=seed) == ref
