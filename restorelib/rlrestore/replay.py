"""The replay memory of RL-Restore's DQN (chapter 4): whole episodes, so the LSTM can be replayed from its start."""
from __future__ import annotations

import torch

from .nets import PATCH

FIELDS = ("images", "prev", "actions", "rewards", "dones", "lengths")


class EpisodeMemory:
    """Whole episodes, padded to ``t_max``: states as uint8 (saves 4x), actions, rewards, done flags, lengths."""

    def __init__(self, capacity: int, t_max: int) -> None:
        self.capacity, self.t_max, self.size, self.pos = capacity, t_max, 0, 0
        self.images = torch.zeros(capacity, t_max + 1, 3, PATCH, PATCH, dtype=torch.uint8)
        self.prev = torch.full((capacity, t_max + 1), -1, dtype=torch.long)
        self.actions = torch.zeros(capacity, t_max, dtype=torch.long)
        self.rewards = torch.zeros(capacity, t_max)
        self.dones = torch.ones(capacity, t_max, dtype=torch.bool)
        self.lengths = torch.zeros(capacity, dtype=torch.long)

    def add(self, images: torch.Tensor, prev: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
            dones: torch.Tensor, length: int) -> None:
        """One episode: images (T+1, 3, 63, 63) in [0, 1], prev (T+1,), actions/rewards/dones (T,), T >= length."""
        i = self.pos
        self.images[i] = (images.clamp(0, 1) * 255).round().byte().cpu()
        self.prev[i], self.actions[i] = prev.cpu(), actions.cpu()
        self.rewards[i], self.dones[i], self.lengths[i] = rewards.cpu(), dones.cpu(), length
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, generator: torch.Generator | None = None
               ) -> dict[str, torch.Tensor]:
        """``n`` whole episodes drawn uniformly: images (n, T+1, 3, 63, 63) in [0, 1], prev
        (n, T+1), actions, rewards, dones (n, T) and lengths (n,). Chapter 4 shows it."""
        idx = torch.randint(self.size, (n,), generator=generator)
        return {"images": self.images[idx].float() / 255, "prev": self.prev[idx],
                "actions": self.actions[idx], "rewards": self.rewards[idx],
                "dones": self.dones[idx], "lengths": self.lengths[idx]}

    def state_dict(self) -> dict:
        """The filled part of the memory and its write position (for a run's checkpoint)."""
        return {"size": self.size, "pos": self.pos, "capacity": self.capacity, "t_max": self.t_max,
                **{k: getattr(self, k)[:self.size].clone() for k in FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` into a memory of the same capacity and ``t_max``."""
        if (state["capacity"], state["t_max"]) != (self.capacity, self.t_max):
            raise ValueError(f"memory state has capacity {state['capacity']} and t_max {state['t_max']}, this "
                             f"memory {self.capacity} and {self.t_max}")
        self.size, self.pos = state["size"], state["pos"]
        for k in FIELDS:
            getattr(self, k)[:self.size] = state[k]
