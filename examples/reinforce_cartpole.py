"""REINFORCE (Monte-Carlo policy gradient) on CartPole-v1 (gymnasium, an extra: pip install gymnasium).

A small policy MLP gives the logits of a ``dynagrad.distributions.Categorical`` over the two actions. After
each episode the discounted returns are normalised (a baseline that also fixes their scale), and Adam
minimises ``-sum(log pi(a|s) * G)`` minus a small entropy bonus, with gradient clipping. The run is seeded
(dynagrad's generator samples the actions, the environment is reset from a seeded NumPy generator), so it
is reproducible. CartPole counts as solved at an average reward of 195 over 100 consecutive episodes.

    python examples/reinforce_cartpole.py [--episodes N] [--seed S]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
from dynagrad.distributions import Categorical

try:
    import gymnasium as gym
except ImportError:
    gym = None

MISSING = "this example needs gymnasium (an optional extra): pip install gymnasium  (or: pip install dynagrad[rl])"


def discounted_returns(rewards: list[float], gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}``, normalised to mean 0 and standard deviation 1."""
    out, g = np.empty(len(rewards), np.float32), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        out[t] = g
    return (out - out.mean()) / (out.std() + 1e-8)


def main(episodes: int = 1000, seed: int = 0, lr: float = 1e-2, gamma: float = 0.99, hidden: int = 128,
         entropy_coef: float = 0.01, max_grad_norm: float = 1.0, target: float = 195.0, window: int = 100,
         log_every: int = 50, verbose: bool = True) -> dict:
    """Train until the mean reward of the last ``window`` episodes reaches ``target`` (or the budget ends).
    Returns the rewards and ``solved_at``: the episode that completed such a window, or None."""
    if gym is None:
        raise SystemExit(MISSING)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    rewards: list[float] = []
    solved_at, start = None, time.perf_counter()
    for episode in range(1, episodes + 1):
        state, _ = env.reset(seed=int(rng.integers(1 << 31)))
        states, actions, ep_rewards, done = [], [], [], False
        while not done:
            obs = torch.tensor(state, dtype=torch.float32)
            with torch.no_grad():  # act without a graph; the log-probabilities are recomputed in one batch
                action = int(Categorical(logits=policy(obs)).sample().item())
            state, reward, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            ep_rewards.append(float(reward))
            done = terminated or truncated
        dist = Categorical(logits=policy(torch.stack(states)))
        returns = torch.tensor(discounted_returns(ep_rewards, gamma))
        loss = -(dist.log_prob(torch.tensor(actions)) * returns).sum() - entropy_coef * dist.entropy().sum()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
        optimizer.step()

        rewards.append(sum(ep_rewards))
        mean = float(np.mean(rewards[-window:]))
        if verbose and episode % log_every == 0:
            print(f"episode {episode:4d}  reward {rewards[-1]:5.0f}  mean of the last {window}: {mean:6.1f}  "
                  f"({time.perf_counter() - start:5.1f} s)")
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
    args = parser.parse_args()
    main(episodes=args.episodes, seed=args.seed)
