"""Joint training of the tools along the agent's chains (chapter 5; RL-Restore's Algorithm 1).

Each tool is first trained alone on its own distortion (chapter 2). In a chain it then meets inputs it never saw:
the output of the tools before it. Joint training fine-tunes the tools *where the agent uses them*: for a batch of
degraded patches the trained agent (fixed) picks its chains; each patch goes forward through its own chain with
gradients on, the loss is the MSE against the ground truth at the *end* of the chain, and back-propagation sends
gradients into every tool the chain used. Each tool's gradient is summed over the patches that passed through it and
divided by that count (the paper's counter), so a tool used by few patches is not drowned by one used by many, and
every used tool takes one Adam step; unused tools are left as they are. As in Algorithm 1, the counter goes up at
every *step*: a chain that applies a tool twice adds two to its counter (and both gradients to its sum).

``joint_step`` is one such update; ``train_joint`` runs it over a patch bank (or fresh crops of whole photos) and
returns the record; it can save its whole state every few minutes and continue from it after a stop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..core.banks import check_bank, draw_clean
from ..core.degradations import degrade
from ..core.scales import build_scales
from ..core.long_runs import Progress
from ..core.metrics import psnr
from ..core.patches import CropSampler
from ..rlrestore.restore import AgentRestorer
from ..core.resume import RunCheckpoint
from ..search.chains import run_chains
from ..toolbox.tools import Toolbox
from ..toolbox.training import PatchTrainConfig, PatchTrainRecord


@dataclass
class JointConfig(PatchTrainConfig):
    """Hyper-parameters of :func:`train_joint`: ``spec`` is the agent's training group."""

    steps: int = 2_000
    lr: float = 1e-4                 # fine-tuning: a tenth of the tools' own learning rate
    counter: bool = True             # False: the plain batch mean instead of the per-tool counter (an ablation)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["joint"]`` says what each changes and why.
SCALES: dict[str, JointConfig] = build_scales("joint", JointConfig)


@dataclass
class JointRecord(PatchTrainRecord):
    """The curves (loss, PSNR gain after the step) and how many times each tool was applied."""

    uses: dict[str, int] = field(default_factory=dict)


def joint_step(toolbox: Toolbox, opt: torch.optim.Optimizer, degraded: torch.Tensor,
               clean: torch.Tensor, chains: list[list[str]],
               counter: bool = True) -> tuple[float, dict[str, int]]:
    """One update of Algorithm 1 (chapter 5).

    Every patch of ``degraded`` (N, 3, H, W) in [0, 1] goes through its chain (tool
    names) with gradients on, each output clipped to [0, 1] as at test time by a
    straight-through clamp (its gradient is the unclipped output's); the loss is the
    MSE against ``clean`` (N, 3, H, W) at the end of the chain; each used tool's
    gradient is summed over its applications and divided by their number (the
    counter); ``opt`` takes one step. Patches with an empty chain contribute nothing.
    With ``counter=False`` every gradient is divided by the number of patches with a
    chain instead (the usual batch mean: a rarely used tool gets a small step;
    exercise ch5-ex4). Returns (mean loss of the patches with a chain, the counters:
    how many times each tool was applied).
    """
    if len(chains) != degraded.shape[0]:
        raise ValueError(f"chains must have one chain per patch ({degraded.shape[0]}), "
                         f"got {len(chains)}")
    opt.zero_grad(set_to_none=True)
    groups: dict[tuple[str, ...], list[int]] = {}      # chain -> the patches taking it
    for i, c in enumerate(chains):
        if c:
            groups.setdefault(tuple(c), []).append(i)
    uses: dict[str, int] = {}
    total, n = 0.0, 0
    for chain, idx in groups.items():   # the patches of a chain go through it together
        x = degraded[idx]                                # (n_c, 3, H, W)
        for name in chain:
            y = toolbox.apply(x, name, clip=False)
            x = y + (y.clamp(0, 1) - y).detach()    # clipped value, y's gradient
        loss = F.mse_loss(x, clean[idx], reduction="none").mean(dim=(1, 2, 3)).sum()
        loss.backward()                 # gradients into every tool of the chain
        total, n = total + loss.item(), n + len(idx)
        for name in chain:              # per step, as Algorithm 1: c_a <- c_a + 1
            uses[name] = uses.get(name, 0) + len(idx)
    for name, count in uses.items():    # the counter: G_a / c_a
        for p in toolbox.nets[toolbox.index(name)].parameters():
            if p.grad is not None:
                p.grad /= count if counter else n
    if uses:
        opt.step()
    return (total / n if n else 0.0), uses


def train_joint(toolbox: Toolbox, chooser: Callable[[torch.Tensor], list[list[str]]],
                bank: "torch.Tensor | CropSampler", cfg: JointConfig, device: torch.device | str = "cpu",
                log: Callable | None = None, checkpoint: str | Path | None = None,
                checkpoint_every: float = 300.0, progress: bool | str = False) -> JointRecord:
    """Fine-tune ``toolbox`` (in place) by :func:`joint_step` on patches of ``bank`` (P, 3, 63, 63), or fresh crops
    of a :class:`~restorelib.core.patches.CropSampler`, degraded by ``cfg.spec``; ``chooser(degraded) -> chains`` is the
    fixed agent (e.g. ``lambda x: restorer.rollout(x)[1]``). ``checkpoint``: a file that holds the whole run (the
    tools, optimiser, step, random state, curves and counters) every ``checkpoint_every`` seconds and when the run is
    done; a run started with an existing one continues from it to the same result. ``progress``: a bar with an ETA
    (:class:`restorelib.core.long_runs.Progress`). Returns the record; the toolbox is left in eval mode."""
    check_bank(bank, min_size=16)
    g = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(toolbox.parameters(), lr=cfg.lr)
    rec = JointRecord()
    run = RunCheckpoint(checkpoint, checkpoint_every, {**cfg.to_dict(), "train_patches": len(bank)},
                        {"toolbox": toolbox, "opt": opt}, g, rec)
    start = (run.resume() or {"step": 0})["step"] + 1
    bar = Progress(progress, cfg.steps, start - 1, "joint steps")
    for step in range(start, cfg.steps + 1):
        clean = draw_clean(bank, cfg.batch, g).to(device)
        degraded = degrade(clean.cpu(), cfg.spec, generator=g)[0].to(device)
        toolbox.eval()
        with torch.no_grad():
            chains = chooser(degraded)
        toolbox.train()
        loss, uses = joint_step(toolbox, opt, degraded, clean, chains, counter=cfg.counter)
        for k, v in uses.items():
            rec.uses[k] = rec.uses.get(k, 0) + v
        toolbox.eval()
        with torch.no_grad():
            out = run_chains(toolbox, degraded, chains)
        gain = (psnr(out, clean) - psnr(degraded, clean)).mean().item()
        if rec.add_step(step, cfg.log_every, cfg.steps, loss=loss, gain=gain) and log:
            log(f"[joint] step {step}: loss {rec.losses[-1]:.5f}, PSNR gain {rec.psnr_gain[-1]:+.3f} dB "
                f"(after the step), {run.seconds():.0f} s", flush=True)
        run.save_if_due(step=step)
        bar.update_to(step)
    bar.close()
    run.finish(step=max(cfg.steps, start - 1))
    toolbox.eval()
    return rec


def get_joint_toolbox(profile, agent: AgentRestorer, bank: torch.Tensor | None = None,
                      device: torch.device | str = "cpu", log: Callable | None = None, progress: bool | str = False
                      ) -> tuple[Toolbox, dict]:
    """Chapter 5's jointly trained tools at the active scale: when ``profile.train``, a copy of the tools of
    ``agent`` (a :class:`restorelib.rlrestore.restore.AgentRestorer`, left as it is) fine-tuned here by :func:`train_joint`,
    the agent choosing each batch's chains *with the tools being fine-tuned*, as Algorithm 1 and
    ``scripts/train_joint.py`` do; else the shipped ``tools-joint``. Where ``profile.long_runs`` the run shows a
    progress bar and keeps its state in :func:`restorelib.core.long_runs.run_checkpoint`'s folder (it resumes). Returns
    (toolbox in eval mode, record with ``seconds``, ``uses`` and the ``curve``)."""
    import copy

    from ..core.artifacts import load_or_train
    from ..core.checkpoints import RECORD, read_json
    from ..toolbox.tools import toolset_dir

    def load() -> tuple[Toolbox, dict]:
        folder = toolset_dir("joint")
        return Toolbox.load(folder, device), read_json(folder / RECORD)

    def train(cfg: JointConfig, **run: object) -> tuple[Toolbox, dict]:
        box = copy.deepcopy(agent.toolbox)
        tuned = AgentRestorer(agent.net, agent.cfg, box)       # the same (fixed) network, rolling out the copy
        rec = train_joint(box, lambda x: tuned.rollout(x)[1], bank, cfg, device, log, **run)
        return box, {"seconds": rec.seconds, "command": f"train_joint at {profile.name} scale", "uses": rec.uses,
                     "curve": rec.curve()}
    # the run's key fingerprints agent.toolbox: the copy that will be fine-tuned, still equal to it at the start
    return load_or_train(profile, bank, load, train, config=SCALES.__getitem__, run="joint",
                         inputs=(agent.net, agent.toolbox, bank), progress=progress)

__all__ = ["JointConfig", "JointRecord", "SCALES", "get_joint_toolbox", "joint_step", "train_joint"]
