"""RL-Restore's agent (chapter 4): a CNN + LSTM deep-Q network that picks a tool per step, or stops.

Network (Yu et al., 2018; sizes read from the authors' checkpoints): conv 9x9/32 stride 2, three conv 5x5/24 stride 2
("same" padding), fc -> 32, concatenated with the one-hot previous tool (12), an LSTM with 50 units, fc -> 13 action
values. A 63x63 input shrinks to 32, 16, 8, 4, so the flattened features are 4 x 4 x 24 = 384.
The authors' TF1 LSTM has one bias vector (87,863 parameters in all); PyTorch's has two, so ours has 88,063.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.tiling import PATCH    # 63: the side of the patches the agent sees

#: RL-Restore's ablations on DIV2K (Yu et al., 2018: Table 4, toolbox size and chain length; Table 6, the reward;
#: Table 7, the stop action), PSNR (dB) on the mild, moderate and severe groups, keyed as ``dqn.ABLATIONS``.
PAPER_ABLATIONS: dict[str, tuple[float, float, float]] = {
    "ablation-base": (27.78, 26.20, 24.97), "ablation-no-stop": (27.61, 26.08, 24.85),
    "ablation-final-mse": (27.14, 25.66, 24.55), "ablation-6-tools": (27.57, 25.72, 24.27),
    "ablation-tmax2": (27.74, 25.99, 24.63), "ablation-tmax4": (27.73, 26.20, 24.98),
}


def _same_conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    # TF's SAME padding with stride 2 pads (k - 1) // 2 on both sides for odd inputs; 63 -> 32 -> 16 -> 8 -> 4.
    return nn.Conv2d(cin, cout, k, stride=2, padding=(k - 1) // 2)


class RLRestoreNet(nn.Module):
    """Q-network: (image (B, 3, 63, 63) in [0, 1], previous tool (B,) long, -1 = none, LSTM state) -> Q (B, A).

    ``n_tools`` sizes the one-hot previous-action input; ``n_actions`` is ``n_tools`` + 1 with the stop action.
    """

    def __init__(self, n_tools: int = 12, n_actions: int = 13, hidden: int = 50) -> None:
        super().__init__()
        self.n_tools, self.n_actions = n_tools, n_actions
        self.convs = nn.ModuleList([_same_conv(3, 32, 9), _same_conv(32, 24, 5), _same_conv(24, 24, 5),
                                    _same_conv(24, 24, 5)])
        self.fc = nn.Linear(4 * 4 * 24, 32)
        self.lstm = nn.LSTMCell(32 + n_tools, hidden)
        self.head = nn.Linear(hidden, n_actions)

    def features(self, image: torch.Tensor, prev_action: torch.Tensor) -> torch.Tensor:
        """The LSTM's input: image features (B, 32) joined with the one-hot previous tool (B, n_tools)."""
        if image.dim() != 4 or image.shape[1:] != (3, PATCH, PATCH):
            raise ValueError(f"image must have shape (B, 3, {PATCH}, {PATCH}), got {tuple(image.shape)}")
        h = image
        for conv in self.convs:
            h = F.relu(conv(h))
        h = F.relu(self.fc(h.flatten(1)))
        onehot = torch.zeros(image.shape[0], self.n_tools, device=image.device, dtype=h.dtype)
        known = (prev_action >= 0) & (prev_action < self.n_tools)      # -1 (start) and stop give a zero vector
        onehot[known.nonzero().flatten(), prev_action[known]] = 1.0
        return torch.cat([h, onehot], dim=1)

    def forward(self, image: torch.Tensor, prev_action: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = self.lstm(self.features(image, prev_action), state)
        return self.head(h), (h, c)

    def forward_sequence(self, images: torch.Tensor, prev_actions: torch.Tensor) -> torch.Tensor:
        """Q-values along whole episodes from a zero state: images (T, B, 3, 63, 63), prev_actions (T, B) -> (T, B, A)."""
        t, b = prev_actions.shape
        feats = self.features(images.flatten(0, 1), prev_actions.flatten()).view(t, b, -1)
        state, out = None, []
        for k in range(t):
            h, c = self.lstm(feats[k], state)
            state = (h, c)
            out.append(self.head(h))
        return torch.stack(out)


def epsilon(step: int, start: float = 1.0, end: float = 0.1, decay_steps: int = 1_000_000) -> float:
    """Linearly decaying exploration rate: ``start`` at step 0, ``end`` from ``decay_steps`` on."""
    if decay_steps <= 0:
        return end
    return end + (start - end) * max(0.0, 1.0 - step / decay_steps)


def td_targets(q_next_target: torch.Tensor, rewards: torch.Tensor, dones: torch.Tensor,
               gamma: float = 0.99, q_next_online: torch.Tensor | None = None) -> torch.Tensor:
    """One-step deep-Q targets r + gamma * max_a Q'(s', a) * (1 - done); all inputs (..., A) / (...).

    With ``q_next_online`` (the online network's Q(s', .)) the target is Double DQN's (van Hasselt et al. 2016):
    the online network picks a' = argmax_a Q(s', a) and the target network values it, r + gamma Q'(s', a').
    """
    if q_next_online is None:
        v_next = q_next_target.max(dim=-1).values
    else:
        v_next = q_next_target.gather(-1, q_next_online.argmax(dim=-1, keepdim=True))[..., 0]
    return rewards + gamma * v_next * (~dones).to(rewards.dtype)
