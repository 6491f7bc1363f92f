"""PixelRL's networks (chapter 7, the paper's Fig. 8): a shared dilated trunk, a policy branch with an optional
convGRU, a value branch; and the reward-map convolution, the learned 33x33 kernel w of R <- r_t + gamma * (w * R).

:mod:`restorelib.pixelrl.a2c` trains them (and re-exports them); :mod:`restorelib.pixelrl.baselines` builds the
supervised twin of :class:`PixelRLNet` from them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .actions import N_ACTIONS

RMC_SIZE = 33                 # = the receptive field of the network, as in the paper


# ----------------------------------------------------------------------------- the network (Fig. 8)
def _conv(cin: int, cout: int, dilation: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation), nn.ReLU())


class ConvGRU(nn.Module):
    """Convolutional GRU cell (3x3 convs): x, h (N, width, H, W) -> new h. Chapter 7."""

    def __init__(self, width: int) -> None:
        super().__init__()
        # W_z, W_r and W of the paper in one conv of x; U_z and U_r in one conv of h
        self.wx = nn.Conv2d(width, 3 * width, 3, padding=1, bias=False)
        self.uh = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.u = nn.Conv2d(width, width, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        xz, xr, xh = self.wx(x).chunk(3, dim=1)             # each (N, width, H, W)
        hz, hr = self.uh(h).chunk(2, dim=1)
        # inference: the same operations, in place
        if not torch.is_grad_enabled():
            z, r = xz.add_(hz).sigmoid_(), xr.add_(hr).sigmoid_()
            t = xh.add_(self.u(r.mul_(h))).tanh_()
            return (1 - z).mul_(h).add_(z.mul_(t))
        z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)   # update and reset gates
        return (1 - z) * h + z * torch.tanh(xh + self.u(r * h))


class RewardMapConv(nn.Module):
    """The reward-map convolution w: a 1->1 ``size`` x ``size`` conv, no bias, initialised to the identity (a delta).

    forward: a map (N, 1, H, W) -> (N, 1, H, W), zero padding. Chapter 7.
    """

    def __init__(self, size: int = RMC_SIZE) -> None:
        super().__init__()
        if not isinstance(size, int) or size < 1 or size % 2 == 0:
            raise ValueError(f"size must be a positive odd int, got {size!r}")
        self.weight = nn.Parameter(torch.zeros(1, 1, size, size))
        with torch.no_grad():
            self.weight[0, 0, size // 2, size // 2] = 1.0

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return F.conv2d(r, self.weight, padding=self.weight.shape[-1] // 2)


class PixelRLNet(nn.Module):
    """The fully convolutional actor-critic of the paper's Fig. 8 and the authors' ``MyFCN.py``. Chapter 7.

    Shared trunk: 3x3 convs with dilation 1, 2, 3, 4 (``width`` channels, ReLU). Policy branch: dilation 3, 2, an
    optional :class:`ConvGRU` (``gru``), a 3x3 conv to ``n_actions`` logits. Value branch: dilation 3, 2, a 3x3 conv
    to one value. ``rmc`` adds the :class:`RewardMapConv` of the training (kept here so checkpoints hold it).
    ``action_ids``: for a net trained on a subset of the nine denoising actions (an action set of the paper's
    Table 8), the id in :data:`~restorelib.pixelrl.actions.ACTIONS` of each of its ``n_actions`` outputs; None when
    output k is action k.
    """

    def __init__(self, in_channels: int = 1, n_actions: int = N_ACTIONS, width: int = 64, gru: bool = True,
                 rmc: bool = False, action_ids: tuple[int, ...] | None = None) -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("n_actions", n_actions), ("width", width)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if action_ids is not None and (len(action_ids) != n_actions or len(set(action_ids)) != n_actions
                                       or not all(isinstance(i, int) and 0 <= i < N_ACTIONS for i in action_ids)):
            raise ValueError(f"action_ids must be {n_actions} distinct ids in 0..{N_ACTIONS - 1}, got {action_ids!r}")
        self.in_channels, self.n_actions, self.width = in_channels, n_actions, width
        self.action_ids = None if action_ids is None else tuple(action_ids)
        self.trunk = nn.Sequential(_conv(in_channels, width, 1), _conv(width, width, 2), _conv(width, width, 3),
                                   _conv(width, width, 4))
        self.pi_head = nn.Sequential(_conv(width, width, 3), _conv(width, width, 2))
        self.gru = ConvGRU(width) if gru else None
        self.pi_out = nn.Conv2d(width, n_actions, 3, padding=1)
        self.v_head = nn.Sequential(_conv(width, width, 3), _conv(width, width, 2))
        self.v_out = nn.Conv2d(width, 1, 3, padding=1)
        self.rmc = RewardMapConv() if rmc else None

    def forward(self, x: torch.Tensor, hidden: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """x (N, in_channels, H, W) in [0, 1], any H, W; hidden (N, width, H, W) or None (zeros).

        Returns (log_probs (N, n_actions, H, W) -- a log-softmax over actions per pixel, value (N, 1, H, W),
        new hidden state (N, width, H, W), or None without the convGRU).
        """
        h = self.trunk(x)
        p = self.pi_head(h)
        if self.gru is not None:
            hidden = self.gru(p, torch.zeros_like(p) if hidden is None else hidden)
            p = hidden
        # float32 softmax and value under bf16 autocast (a no-op otherwise): the A2C loss needs their precision
        return F.log_softmax(self.pi_out(p).float(), dim=1), self.v_out(self.v_head(h)).float(), hidden

    def policy(self, x: torch.Tensor, hidden: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The policy alone, for inference: (log_probs, new hidden) of :meth:`forward`, bit for bit, without the
        value branch (2 of the 13 width x width convolutions of a step) and with in-place ReLUs (fewer large
        allocations). A subclass with its own ``forward`` gets that forward's. Chapter 7."""
        if type(self).forward is not PixelRLNet.forward:
            lp, _, hidden = self(x, hidden)
            return lp, hidden
        p = x
        for conv, _ in (*self.trunk, *self.pi_head):      # each block is (Conv2d, ReLU)
            p = F.relu_(conv(p)) if not torch.is_grad_enabled() else F.relu(conv(p))
        if self.gru is not None:
            hidden = p = self.gru(p, torch.zeros_like(p) if hidden is None else hidden)
        return F.log_softmax(self.pi_out(p).float(), dim=1), hidden


__all__ = ["ConvGRU", "PixelRLNet", "RMC_SIZE", "RewardMapConv"]
