"""HIRL's greedy rollout (chapter 6): every patch follows its own chain, type by T, degree by D, until D predicts no
gain; its mean PSNR gain is the validation figure of training (:func:`restorelib.hirl.hirl.train_hirl`) and the
restorer's patch protocol (:meth:`restorelib.hirl.restore.HirlRestorer.rollout`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from ..core.metrics import psnr
from ..toolbox.tools import Toolbox
from .nets import HirlAgent, choose

if TYPE_CHECKING:
    from .hirl import HirlConfig


@torch.no_grad()
def greedy_rollout(agent: HirlAgent, toolbox: Toolbox | nn.Module, tool_ids: list[int], patches: torch.Tensor,
                   max_len: int) -> tuple[torch.Tensor, list[list[str]], torch.Tensor]:
    """Each patch (N, 3, H, W) in [0, 1] follows its own chain: type by T, degree by D, until D's value of that
    tool is not positive or after ``max_len`` tools; ``tool_ids`` maps the agent's t * n_degrees + d to toolbox
    indices. Returns (restored (N, 3, H, W), chains of tool names, tool applications per patch (N,) long)."""
    dev = patches.device
    x, n = patches.clone(), patches.shape[0]
    running = torch.ones(n, dtype=torch.bool, device=dev)
    calls = torch.zeros(n, dtype=torch.long, device=dev)
    chains: list[list[str]] = [[] for _ in range(n)]
    for _ in range(max_len):
        idx = running.nonzero().flatten()
        if not len(idx):
            break
        t, d, v = choose(agent, x[idx])
        go = v > 0
        running[idx[~go]] = False                       # no gain predicted: this patch's chain is over
        idx, tools = idx[go], torch.tensor(tool_ids, device=dev)[(t * agent.n_degrees + d)[go]]
        x[idx] = toolbox.apply_each(x[idx], tools)
        for i, tool in zip(idx.tolist(), tools.tolist()):
            chains[i].append(toolbox.names[tool])
        calls[idx] += 1
    return x, chains, calls


@torch.no_grad()
def greedy_gain(agent: HirlAgent, toolbox: Toolbox | nn.Module, degraded: torch.Tensor, clean: torch.Tensor,
                cfg: HirlConfig, max_len: int | None = None) -> float:
    """Mean PSNR gain (dB) of the greedy rollout (type, degree, stop when no gain) on (degraded, clean) patches."""
    dev = next(agent.parameters()).device
    tool_ids = list(range(len(toolbox))) if cfg.tools is None else [toolbox.index(t) for t in cfg.tools]
    out, _, _ = greedy_rollout(agent.eval(), toolbox, tool_ids, degraded.to(dev),
                               cfg.max_len if max_len is None else max_len)
    return (psnr(out, clean.to(dev)) - psnr(degraded.to(dev), clean.to(dev))).mean().item()


__all__ = ["greedy_gain", "greedy_rollout"]
