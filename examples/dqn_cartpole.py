"""The seed's DQN on CartPole-v1 (gymnasium, an extra: pip install gymnasium): a replay buffer, an
epsilon-greedy policy, a target network synchronised by copying the state_dict, Adam, smooth L1 loss and
gradient clipping.

    python examples/dqn_cartpole.py
"""
import collections

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F

try:
    import gymnasium as gym
except ImportError:
    raise SystemExit("this example needs gymnasium: pip install gymnasium") from None


class DQN(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, n_out)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


torch.manual_seed(0)
rng = np.random.default_rng(0)
env = gym.make("CartPole-v1")
model, target = DQN(4, 2), DQN(4, 2)
target.load_state_dict(model.state_dict())
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
memory = collections.deque(maxlen=10000)
rewards, steps = [], 0
for episode in range(300):
    state, _ = env.reset(seed=int(rng.integers(1 << 30)))
    done, total = False, 0.0
    while not done:
        epsilon = max(0.05, 1.0 - steps / 3000)
        if rng.random() < epsilon:
            action = int(rng.integers(2))
        else:
            with torch.no_grad():
                action = int(model(torch.tensor(state, dtype=torch.float32)).argmax().item())
        next_state, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        memory.append((state, action, reward, next_state, float(terminated)))
        state, total, steps = next_state, total + reward, steps + 1
        if len(memory) >= 500:
            idx = rng.integers(len(memory), size=64)
            s, a, r, s2, d = (np.array(col) for col in zip(*(memory[i] for i in idx)))
            s, s2 = torch.tensor(s, dtype=torch.float32), torch.tensor(s2, dtype=torch.float32)
            q = model(s).gather(1, torch.tensor(a).unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                best = target(s2).max(1).values
                goal = torch.tensor(r, dtype=torch.float32) + 0.99 * best * (1 - torch.tensor(d, dtype=torch.float32))
            loss = F.smooth_l1_loss(q, goal)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
        if steps % 500 == 0:
            target.load_state_dict(model.state_dict())
    rewards.append(total)
    if (episode + 1) % 25 == 0:
        print(f"episode {episode + 1:3d}: mean reward of the last 25 episodes {np.mean(rewards[-25:]):6.1f}")
    if len(rewards) >= 20 and np.mean(rewards[-20:]) >= 195:
        print(f"solved at episode {episode + 1}: mean reward {np.mean(rewards[-20:]):.1f} over 20 episodes")
        break
print(f"best 20-episode mean reward: {max(np.mean(rewards[i:i + 20]) for i in range(len(rewards) - 19)):.1f}")
