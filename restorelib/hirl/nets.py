"""HIRL's networks and transition memory (chapter 6): the Q-networks T and D, and the memory T learns from.

Re-exported by :mod:`restorelib.hirl.hirl`, which holds the learning rules and the training loop.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..rlrestore.nets import PATCH
from .tools import N_DEGREES, N_TYPES
from ..toolbox.tools import zero_init


class ResBlock(nn.Module):
    """Two 3x3 convs with a skip (identity, or a strided 1x1 conv when the shape changes). No batch norm: a
    Q-network's batch statistics differ between acting, learning and the target network; instead the branch's
    last conv starts at zero (Fixup-style), so every block starts as its skip, as in IMPALA's ResNet."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        zero_init(self.conv2)
        self.skip = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.skip(x) + self.conv2(F.relu(self.conv1(x))))


#: ``slim``: a 3x3 stride-2 stem and one block per stage at widths 16/32/64 (63x63 -> 32 -> 16 -> 8), ~77k
#: parameters, the CPU book scale. ``resnet18``: ResNet18's 7x7 stride-2 stem, max-pool and 2+2+2+2 blocks at
#: widths 64..512 (63x63 -> 32 -> 16 -> 16 -> 8 -> 4 -> 2), ~11M parameters, the paper's network.
ARCHS: dict[str, dict] = {
    "slim": {"stem": (16, 3), "pool": False, "widths": (16, 32, 64), "blocks": (1, 1, 1)},
    "resnet18": {"stem": (64, 7), "pool": True, "widths": (64, 128, 256, 512), "blocks": (2, 2, 2, 2)},
}


class HirlQNet(nn.Module):
    """ResNet-style Q-network: images (B, 3, H, W) in [0, 1], H, W >= 16 -> values (B, n_out); global average
    pooling makes it independent of the patch size (trained on 63x63). Chapter 6."""

    def __init__(self, n_out: int, arch: str = "slim") -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {arch!r}")
        if not isinstance(n_out, int) or n_out < 1:
            raise ValueError(f"n_out must be a positive int, got {n_out!r}")
        a = ARCHS[arch]
        width, k = a["stem"]
        self.stem = nn.Conv2d(3, width, k, 2, k // 2)
        self.pool = nn.MaxPool2d(3, 2, 1) if a["pool"] else nn.Identity()
        blocks, cin = [], width
        for i, (w, n) in enumerate(zip(a["widths"], a["blocks"])):
            for j in range(n):
                blocks.append(ResBlock(cin, w, 2 if i > 0 and j == 0 else 1))
                cin = w
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3 or min(x.shape[-2:]) < 16:
            raise ValueError(f"x must have shape (B, 3, H, W) with H, W >= 16, got {tuple(x.shape)}")
        h = self.pool(F.relu(self.stem(x * 2 - 1)))
        return self.head(self.body(h).mean(dim=(2, 3)))


class HirlAgent(nn.Module):
    """HIRL's two strategies: ``type_net`` T (B, 3, H, W) -> (B, n_types) and ``degree_net`` D -> (B, n_types,
    n_degrees), the values of every degree of every type.

    D has one output head per type rather than the type as an input: a single pass gives the degree values of every
    type, which both D's choice (the chosen type's row) and its target (the max over all rows) need, while a one-hot
    type input would cost a pass per type, or fuse late and amount to the same heads. Chapter 6.
    """

    def __init__(self, n_types: int = N_TYPES, n_degrees: int = N_DEGREES, arch: str = "slim") -> None:
        super().__init__()
        if not isinstance(n_types, int) or n_types < 1 or not isinstance(n_degrees, int) or n_degrees < 1:
            raise ValueError(f"n_types and n_degrees must be positive ints, got {n_types!r} and {n_degrees!r}")
        self.n_types, self.n_degrees, self.arch = n_types, n_degrees, arch
        self.type_net = HirlQNet(n_types, arch)
        self.degree_net = HirlQNet(n_types * n_degrees, arch)

    def type_values(self, x: torch.Tensor) -> torch.Tensor:
        """T(s): (B, 3, H, W) -> (B, n_types)."""
        return self.type_net(x)

    def degree_values(self, x: torch.Tensor) -> torch.Tensor:
        """D(s): (B, 3, H, W) -> (B, n_types, n_degrees)."""
        return self.degree_net(x).view(x.shape[0], self.n_types, self.n_degrees)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.type_values(x), self.degree_values(x)


class TransitionMemory:
    """HIRL's transition memory [s, t, s', r] (plus the degree d and a done flag), a ring buffer of ``capacity``
    transitions with the images kept as uint8 (4x smaller; as :class:`restorelib.rlrestore.replay.EpisodeMemory`)."""

    def __init__(self, capacity: int, size: int = PATCH) -> None:
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        self.capacity, self.size, self.pos = capacity, 0, 0
        self.s = torch.zeros(capacity, 3, size, size, dtype=torch.uint8)
        self.s2 = torch.zeros_like(self.s)
        self.t = torch.zeros(capacity, dtype=torch.long)
        self.d = torch.zeros(capacity, dtype=torch.long)
        self.r = torch.zeros(capacity)
        self.done = torch.zeros(capacity, dtype=torch.bool)

    def add(self, s: torch.Tensor, t: torch.Tensor, d: torch.Tensor, r: torch.Tensor, s2: torch.Tensor,
            done: torch.Tensor) -> None:
        """A batch of B transitions: s, s2 (B, 3, S, S) in [0, 1]; t, d (B,) long; r (B,); done (B,) bool."""
        b = min(s.shape[0], self.capacity)
        idx = (self.pos + torch.arange(b)) % self.capacity
        for name, v in (("s", s), ("s2", s2)):
            getattr(self, name)[idx] = (v[-b:].detach().clamp(0, 1) * 255).round().byte().cpu()
        self.t[idx], self.d[idx], self.r[idx] = t[-b:].cpu(), d[-b:].cpu(), r[-b:].float().cpu()
        self.done[idx] = done[-b:].cpu()
        self.pos = (self.pos + b) % self.capacity
        self.size = min(self.size + b, self.capacity)

    def sample(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``n`` transitions drawn uniformly with replacement; images back as float in [0, 1]."""
        if self.size == 0:
            raise ValueError("the memory is empty")
        i = torch.randint(self.size, (n,), generator=generator)
        return {"s": self.s[i].float() / 255, "t": self.t[i], "d": self.d[i], "r": self.r[i],
                "s2": self.s2[i].float() / 255, "done": self.done[i]}

    def state_dict(self) -> dict:
        """Everything in the memory (its images as uint8), for a training run's checkpoint."""
        return {"pos": self.pos, "size": self.size, **{k: getattr(self, k) for k in ("s", "s2", "t", "d", "r", "done")}}

    def load_state_dict(self, state: dict) -> None:
        """Put a :meth:`state_dict` back; ``ValueError`` when it was made with another capacity or patch size."""
        if tuple(state["s"].shape) != tuple(self.s.shape):
            raise ValueError(f"state holds transitions of shape {tuple(state['s'].shape)}, this memory "
                             f"{tuple(self.s.shape)}")
        self.pos, self.size = int(state["pos"]), int(state["size"])
        for k in ("s", "s2", "t", "d", "r", "done"):
            getattr(self, k).copy_(state[k])


# ----------------------------------------------------------------------------- the agent's decision
@torch.no_grad()
def choose(agent: HirlAgent, x: torch.Tensor, eps: float = 0.0,
           generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Type then degree for images x (B, 3, H, W): T picks t, D picks d among t's
    degrees, each epsilon-greedy with its own draw. Returns (types (B,), degrees (B,),
    D's value of the chosen (t, d) (B,)). Chapter 6."""
    tq, dq = agent(x)                       # (B, n_types), (B, n_types, n_degrees)
    t = _eps_greedy(tq, eps, generator)     # (B,)
    rows = dq[torch.arange(x.shape[0], device=x.device), t]   # row t: (B, n_degrees)
    d = _eps_greedy(rows, eps, generator)   # (B,)
    return t, d, rows.gather(1, d[:, None])[:, 0]


def hierarchical_tool(type_values: torch.Tensor, degree_values: torch.Tensor) -> torch.Tensor:
    """The greedy hierarchical decision: type t = argmax T(s), then degree d = argmax of D(s)'s row *of that type*;
    type_values (B, n_types), degree_values (B, n_types, n_degrees) -> toolbox indices ``t * n_degrees + d`` (B,)
    long. Chapter 6 (exercise)."""
    t = type_values.argmax(dim=1)
    d = degree_values[torch.arange(len(t), device=t.device), t].argmax(dim=1)
    return t * degree_values.shape[2] + d


def _eps_greedy(q: torch.Tensor, eps: float, generator: torch.Generator | None) -> torch.Tensor:
    if eps <= 0:
        return q.argmax(dim=1)
    explore = torch.rand(q.shape[0], generator=generator).to(q.device) < eps
    rand = torch.randint(q.shape[1], (q.shape[0],), generator=generator).to(q.device)
    return torch.where(explore, rand, q.argmax(dim=1))
