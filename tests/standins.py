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


class Gain(nn.Module):
    """x times a gain kept in the module's state (as a trained tool keeps its weights), so that a changed gain changes
    the toolbox's fingerprint (the search records of chapters 3 and 4)."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.register_buffer("a", torch.tensor(a))

    def forward(self, x):
        return x * self.a


def toy_toolbox(darken: float = 0.8):
    """Three stand-in tools (a gain in the state, a shift, a blend) in a :class:`~restorelib.toolbox.tools.Toolbox`."""
    from restorelib.toolbox.tools import Toolbox, ToolSpec

    tb = Toolbox(tuple(ToolSpec(f"t{i}", "noise", 0, 1, 3) for i in range(3)))
    tb.nets[0], tb.nets[1], tb.nets[2] = Gain(darken), Shift(0.03), Blend(0.5, 0.2)
    return tb.eval()


def search_inputs() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Three test images, and 4 degraded / clean training patches (63 x 63), for the search-record tests."""
    images = {f"im{i}": torch.rand(3, 70, 66, generator=gen(i)) for i in range(3)}
    clean = torch.rand(4, 3, 63, 63, generator=gen(9)) * 0.6 + 0.2
    return images, (clean * 0.9 + 0.05).clamp(0, 1), clean
