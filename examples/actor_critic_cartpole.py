"""Advantage actor-critic on CartPole-v1 (gymnasium, an extra: pip install gymnasium).

The actor gives the logits of a ``dynagrad.distributions.Categorical`` over the two actions; the critic
estimates the state value V(s), either as a second head on the actor's hidden layer (``--shared``) or as a
network of its own. After each episode, the critic's TD errors ``r + gamma * V(s') - V(s)`` give the
advantages (generalised advantage estimation, lambda=0.95; the episode is bootstrapped from V when the
time limit cuts it, not when the pole falls). The actor follows ``log pi(a|s) * advantage`` plus an entropy
bonus; the critic regresses onto ``advantage + V(s)`` with a Huber loss. Rewards are scaled by 0.1 so the
values stay near 1. Seeded and reproducible; solved means an average reward of 195 over 100 episodes.

    python examples/actor_critic_cartpole.py [--episodes N] [--seed S] [--shared]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from dynagrad.distributions import Categorical

try:
    import gymnasium as gym
except ImportError:
    gym = None

MISSING = "this example needs gymnasium (an optional extra): pip install gymnasium  (or: pip install dynagrad[rl])"


class ActorCritic(nn.Module):
    """Policy logits and state values; ``shared=True`` puts both heads on one hidden layer."""

    def __init__(self, hidden: int = 128, shared: bool = False) -> None:
        super().__init__()
        self.shared = shared
        self.body = nn.Sequential(nn.Linear(4, hidden), nn.ReLU())
        self.policy = nn.Linear(hidden, 2)
        if shared:
            self.value = nn.Linear(hidden, 1)
        else:
            self.value = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        h = self.body(x)
        return self.policy(h), self.value(h if self.shared else x).squeeze(-1)


def gae(rewards: np.ndarray, values: np.ndarray, last_value: float, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates of one episode; ``last_value`` is V of the state after the last step
    (0 when the episode terminated)."""
    next_values = np.append(values[1:], last_value)
    deltas = rewards + gamma * next_values - values
    adv, acc = np.empty_like(deltas), 0.0
    for t in range(len(deltas) - 1, -1, -1):
        acc = deltas[t] + gamma * lam * acc
        adv[t] = acc
    return adv


def main(episodes: int = 1000, seed: int = 0, shared: bool = False, lr: float = 3e-3, gamma: float = 0.99,
         lam: float = 0.95, hidden: int = 128, entropy_coef: float = 0.01, value_coef: float = 0.5,
         reward_scale: float = 0.1, max_grad_norm: float = 1.0, target: float = 195.0, window: int = 100,
         log_every: int = 50, verbose: bool = True) -> dict:
    """Train until the mean reward of the last ``window`` episodes reaches ``target`` (or the budget ends).
    Returns the rewards and ``solved_at``: the episode that completed such a window, or None."""
    if gym is None:
        raise SystemExit(MISSING)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    model = ActorCritic(hidden, shared)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rewards: list[float] = []
    solved_at, start = None, time.perf_counter()
    for episode in range(1, episodes + 1):
        state, _ = env.reset(seed=int(rng.integers(1 << 31)))
        states, actions, ep_rewards, done = [], [], [], False
        while not done:
            obs = torch.tensor(state, dtype=torch.float32)
            with torch.no_grad():  # act without a graph; the episode is replayed in one batch below
                logits, _ = model(obs)
                action = int(Categorical(logits=logits).sample().item())
            state, reward, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            ep_rewards.append(float(reward))
            done = terminated or truncated
        logits, values = model(torch.stack(states))
        with torch.no_grad():
            last_value = 0.0 if terminated else model(torch.tensor(state, dtype=torch.float32))[1].item()
        adv = gae(np.array(ep_rewards, np.float32) * reward_scale, values.detach().numpy(), last_value, gamma, lam)
        value_target = torch.tensor(adv) + values.detach()
        adv = torch.tensor((adv - adv.mean()) / (adv.std() + 1e-8))
        dist = Categorical(logits=logits)
        actor_loss = -(dist.log_prob(torch.tensor(actions)) * adv).sum() - entropy_coef * dist.entropy().sum()
        critic_loss = F.smooth_l1_loss(values, value_target, reduction="sum")
        loss = actor_loss + value_coef * critic_loss
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()

        rewards.append(sum(ep_rewards))
        mean = float(np.mean(rewards[-window:]))
        if verbose and episode % log_every == 0:
            print(f"episode {episode:4d}  reward {rewards[-1]:5.0f}  mean of the last {window}: {mean:6.1f}  "
                  f"V(s0) {values[0].item() / reward_scale:6.1f}  ({time.perf_counter() - start:5.1f} s)")
        if len(rewards) >= window and mean >= target:
            solved_at = episode
            break
    env.close()
    if verbose:
        if solved_at is not None:
            print(f"solved at episode {solved_at}: mean reward {mean:.1f} over episodes "
                  f"{solved_at - window + 1}-{solved_at} ({time.perf_counter() - start:.1f} s)")
        else:
            best = max(np.mean(rewards[i:i + window]) for i in range(max(1, len(rewards) - window + 1)))
            print(f"not solved in {episodes} episodes; best {window}-episode mean reward {best:.1f}")
    return {"rewards": rewards, "solved_at": solved_at}


if __name__ == "__main__":
    if gym is None:
        sys.exit(MISSING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", action="store_true", help="one hidden layer for both heads")
    args = parser.parse_args()
    main(episodes=args.episodes, seed=args.seed, shared=args.shared)
