"""Joint training of the tools along the agent's chains (chapter 5; RL-Restore's Algorithm 1).

Each tool is first trained alone on its own distortion (chapter 2). In a chain it then meets inputs it never saw:
the output of the tools before it. Joint training fine-tunes the tools *where the agent uses them*: for a batch of
degraded patches the trained agent (fixed) picks its chains; each patch goes forward through its own chain with
gradients on, the loss is the MSE against the ground truth at the *end* of the chain, and back-propagation sends
gradients into every tool the chain used. Each tool's gradient is summed over the patches that passed through it and
divided by that count (the paper's counter), so a tool used by few patches is not drowned by one used by many, and
every used tool takes one Adam step; unused tools are left as they are.

``joint_step`` is one such update; ``train_joint`` runs it over a patch bank and returns the record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from .degradations import degrade
from .metrics import psnr
from .patches import augment
from .search import run_chains
from .tools import Toolbox
from .training import PatchTrainConfig, PatchTrainRecord


@dataclass
class JointConfig(PatchTrainConfig):
    """Hyper-parameters of :func:`train_joint`: ``spec`` is the agent's training group."""

    steps: int = 2_000
    lr: float = 1e-4                 # fine-tuning: a tenth of the tools' own learning rate


SCALES: dict[str, JointConfig] = {
    "paper": JointConfig(steps=20_000, batch=64),
    "book": JointConfig(steps=1_500, batch=32),
    "ci": JointConfig(steps=3, batch=4, log_every=1),
}


@dataclass
class JointRecord(PatchTrainRecord):
    """The curves (loss, PSNR gain after the step) and how many patches used each tool."""

    uses: dict[str, int] = field(default_factory=dict)


def joint_step(toolbox: Toolbox, opt: torch.optim.Optimizer, degraded: torch.Tensor, clean: torch.Tensor,
               chains: list[list[str]]) -> tuple[float, dict[str, int]]:
    """One update of Algorithm 1: every patch (N, 3, H, W) in [0, 1] through its chain (tool names) with gradients,
    MSE at the end, each used tool's gradient summed over its patches and divided by their number, one step of
    ``opt``. Patches with an empty chain contribute nothing. Returns (mean loss of the patches with a chain, the
    number of patches that used each tool)."""
    if len(chains) != degraded.shape[0]:
        raise ValueError(f"chains must have one chain per patch ({degraded.shape[0]}), got {len(chains)}")
    opt.zero_grad(set_to_none=True)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, c in enumerate(chains):
        if c:
            groups.setdefault(tuple(c), []).append(i)
    uses: dict[str, int] = {}
    total, n = 0.0, 0
    for chain, idx in groups.items():                    # patches with the same chain go through it together
        x = degraded[idx]
        for name in chain:
            x = toolbox.apply(x, name, clip=False)       # no clipping inside: it would stop the gradient
        loss = F.mse_loss(x, clean[idx], reduction="none").mean(dim=(1, 2, 3)).sum()
        loss.backward()
        total, n = total + loss.item(), n + len(idx)
        for name in set(chain):
            uses[name] = uses.get(name, 0) + len(idx)
    for name, count in uses.items():                     # the counter: average over the patches that used the tool
        for p in toolbox.nets[toolbox.index(name)].parameters():
            if p.grad is not None:
                p.grad /= count
    if uses:
        opt.step()
    return (total / n if n else 0.0), uses


def train_joint(toolbox: Toolbox, chooser: Callable[[torch.Tensor], list[list[str]]], bank: torch.Tensor,
                cfg: JointConfig, device: torch.device | str = "cpu", log: Callable | None = None) -> JointRecord:
    """Fine-tune ``toolbox`` (in place) by :func:`joint_step` on patches of ``bank`` (P, 3, 63, 63) degraded by
    ``cfg.spec``; ``chooser(degraded) -> chains`` is the fixed agent (e.g. ``lambda x: restorer.rollout(x)[1]``).
    Returns the record; the toolbox is left in eval mode."""
    g = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(toolbox.parameters(), lr=cfg.lr)
    rec, t0 = JointRecord(), time.perf_counter()
    for step in range(1, cfg.steps + 1):
        clean = augment(bank[torch.randint(len(bank), (cfg.batch,), generator=g)], g).to(device)
        degraded = degrade(clean.cpu(), cfg.spec, generator=g)[0].to(device)
        toolbox.eval()
        with torch.no_grad():
            chains = chooser(degraded)
        toolbox.train()
        loss, uses = joint_step(toolbox, opt, degraded, clean, chains)
        for k, v in uses.items():
            rec.uses[k] = rec.uses.get(k, 0) + v
        toolbox.eval()
        with torch.no_grad():
            out = run_chains(toolbox, degraded, chains)
        gain = (psnr(out, clean) - psnr(degraded, clean)).mean().item()
        if rec.add(step, loss, gain, cfg) and log:
            log(f"[joint] step {step}: loss {rec.losses[-1]:.5f}, PSNR gain {rec.psnr_gain[-1]:+.3f} dB "
                f"(after the step), {time.perf_counter() - t0:.0f} s", flush=True)
    rec.seconds = time.perf_counter() - t0
    toolbox.eval()
    return rec


__all__ = ["JointConfig", "JointRecord", "SCALES", "joint_step", "train_joint"]
