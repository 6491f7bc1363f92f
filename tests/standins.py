"""Stand-in tools with known behaviour, for tests of the environment and the searchers."""
import torch
import torch.nn as nn


class Scale(nn.Module):
    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, x):
        return x * self.a


class Shift(nn.Module):
    def __init__(self, b: float) -> None:
        super().__init__()
        self.b = b

    def forward(self, x):
        return x + self.b


class Blend(nn.Module):
    """Move every image a fraction ``w`` of the way toward a fixed target (w=1: replace it by the target)."""

    def __init__(self, target: torch.Tensor | float, w: float = 0.5) -> None:
        super().__init__()
        self.target, self.w = target, w

    def forward(self, x):
        return x + self.w * (self.target - x)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
