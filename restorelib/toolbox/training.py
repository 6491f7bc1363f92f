"""Training the tools of chapter 2: MSE on each tool's own level interval, with RL-Restore's robustness trick.

RL-Restore adds "slight Gaussian noise and JPEG compression to all the training data" of every tool so that
tools tolerate what other tools leave behind. Here that is ``robust=True``: besides its own distortion, every
training patch gets Gaussian noise of sigma U(0, 2) (0-255 scale) and JPEG of quality U(90, 100) -- unless the
tool's own distortion is that kind, in which case the tool's own level is used.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.degradations import apply_levels
from ..core.metrics import psnr
from ..core.patches import CropSampler, augment
from ..core.resume import Checkpointer, MixedPrecision
from ..core.training_log import TrainingLog
from .tools import ToolSpec

SLIGHT_NOISE = (0.0, 2.0)
SLIGHT_JPEG = (90.0, 100.0)


@dataclass
class PatchTrainConfig:
    """A training on 63x63 patches degraded on the fly by ``spec`` (chapter 5's baselines and joint training)."""

    steps: int = 1_000
    batch: int = 32
    lr: float = 1e-3
    spec: str = "moderate"
    log_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        from ..core.validation import positive_ints
        from ..core.degradations import parse_spec
        positive_ints(self, "steps", "batch", "log_every")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        parse_spec(self.spec)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PatchTrainRecord(TrainingLog):
    """Curves of a :class:`PatchTrainConfig` training: per log, the mean loss and PSNR gain (dB) of the batches
    since the previous log; and the seconds of the whole run (:class:`~restorelib.core.training_log.TrainingLog`:
    ``rec.add_step(step, cfg.log_every, cfg.steps, loss=..., gain=...)``)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    psnr_gain: list[float] = field(default_factory=list)

    MEANS = {"losses": "loss", "psnr_gain": "gain"}
    JSON = {"steps": "steps", "losses": "loss", "psnr_gain": "psnr_gain_db"}


def _uniform(low: float, high: float, n: int, generator: torch.Generator | None) -> list[float]:
    return (low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)).tolist()


def tool_levels(spec: ToolSpec, n: int, robust: bool = True, generator: torch.Generator | None = None,
                robust_p: float = 1.0) -> list[dict[str, float]]:
    """Levels for ``n`` training patches of tool ``spec``: its own distortion drawn in [low, high] (+ slight ones).

    With ``robust``, each slight kind (noise, JPEG) other than the tool's own is added to a patch with probability
    ``robust_p`` (1: every patch, the paper's wording; chapter 2 shows why we use 0.5).
    """
    own = _uniform(spec.low, spec.high, n, generator)
    levels = [{spec.distortion: round(v) if spec.distortion == "jpeg" else v} for v in own]
    if robust:
        for kind, (lo, hi) in (("noise", SLIGHT_NOISE), ("jpeg", SLIGHT_JPEG)):
            if kind != spec.distortion:
                vals = _uniform(lo, hi, n, generator)
                keep = [True] * n if robust_p >= 1 else (torch.rand(n, generator=generator) < robust_p).tolist()
                for lv, v, k in zip(levels, vals, keep):
                    if k:
                        lv[kind] = round(v) if kind == "jpeg" else v
    return levels


def tool_batch(patches: "torch.Tensor | CropSampler", spec: ToolSpec, batch: int, robust: bool = True,
               generator: torch.Generator | None = None, robust_p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A training pair (degraded, clean), each (batch, 3, S, S), drawn from a patch bank (P, 3, S, S) or a
    :class:`~restorelib.core.patches.CropSampler` (fresh S x S crops)."""
    if isinstance(patches, CropSampler):
        clean = augment(patches.sample(batch, generator), generator)
    else:
        idx = torch.randint(patches.shape[0], (batch,), generator=generator)
        clean = augment(patches[idx], generator)
    levels = tool_levels(spec, batch, robust, generator, robust_p)
    return apply_levels(clean, levels, generator), clean


@dataclass
class TrainLog(TrainingLog):
    """What a tool's training measured: the mean loss per logged step, seconds, final validation figures, and
    (with ``val_every``) the validation PSNR gain (dB) along the run (:class:`~restorelib.core.training_log.TrainingLog`)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    psnr_in: float = math.nan
    psnr_out: float = math.nan
    val_steps: list[int] = field(default_factory=list)
    val_gains: list[float] = field(default_factory=list)

    MEANS = {"losses": "loss"}
    JSON = {"steps": "steps", "losses": "loss", "val_steps": "val_steps", "val_gains": "val_gains"}


def _check_train_args(steps: object, batch: object, log_every: object, robust_p: object) -> None:
    for name, v in (("steps", steps), ("batch", batch), ("log_every", log_every)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if not isinstance(robust_p, (int, float)) or not 0 <= robust_p <= 1:
        raise ValueError(f"robust_p must be a probability in [0, 1], got {robust_p!r}")


def train_tool(net: nn.Module, spec: ToolSpec, train: "torch.Tensor | CropSampler", *, steps: int,
               batch: int = 64, lr: float = 1e-3, robust: bool = True, robust_p: float = 1.0,
               val: tuple[torch.Tensor, torch.Tensor] | None = None, val_every: int | None = None,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu", amp: bool = False,
               log_every: int = 50, progress: bool = False, checkpoint: str | Path | None = None,
               checkpoint_every: float = 180.0) -> TrainLog:
    """Train one tool with Adam (cosine learning-rate decay) on MSE; returns a :class:`TrainLog`. Chapter 2.

    train: a patch bank (P, 3, S, S) in [0, 1] on the CPU, or a :class:`~restorelib.core.patches.CropSampler`; val: an
    optional fixed (degraded, clean) pair, measured at the end (and every ``val_every`` steps). ``amp`` trains in
    bfloat16 autocast (channels-last on a CPU). ``checkpoint``: a file that holds the whole state every
    ``checkpoint_every`` seconds; a run started with an existing one continues from it, to the same result.
    """
    _check_train_args(steps, batch, log_every, robust_p)
    device = torch.device(device)
    mp = MixedPrecision(device, amp)
    fmt = mp.memory_format
    net.to(device, memory_format=fmt).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    log, ck, start, spent = TrainLog(), Checkpointer(checkpoint, checkpoint_every), 1, 0.0
    if (state := ck.load()) is not None:
        start, spent = _restore(state, net, opt, sched, log, generator, steps, log_every)
    t0 = time.perf_counter()
    it = range(start, steps + 1)
    if progress:
        from ..core.long_runs import progress_bar
        it = progress_bar(it, desc=spec.name, leave=False, initial=start - 1, total=steps)
    for step in it:
        x, y = tool_batch(train, spec, batch, robust, generator, robust_p)
        x, y = x.to(device, memory_format=fmt), y.to(device, memory_format=fmt)
        with mp.autocast():
            out = net(x)
        loss = F.mse_loss(out.float(), y)       # the loss in float32 even under autocast
        opt.zero_grad(set_to_none=True)
        mp.step(loss, opt)
        sched.step()
        log.add_step(step, log_every, steps, loss=loss.item())
        if val is not None and val_every and step % val_every == 0 and step != steps:
            _validate(net, val, device, log, step)
        if ck.due():
            ck.save(_state(net, opt, sched, log, generator, step, spent + time.perf_counter() - t0))
    net.to(memory_format=torch.contiguous_format).eval()
    log.seconds = spent + time.perf_counter() - t0
    if val is not None:
        log.psnr_in, log.psnr_out = evaluate_pair(net, *val, device=device)
        if val_every:
            log.val_steps.append(steps)
            log.val_gains.append(log.psnr_out - log.psnr_in)
    return log


def _validate(net: nn.Module, val: tuple[torch.Tensor, torch.Tensor], device: torch.device, log: TrainLog,
              step: int) -> None:
    net.eval()
    p_in, p_out = evaluate_pair(net, *val, device=device)
    net.train()
    log.val_steps.append(step)
    log.val_gains.append(p_out - p_in)


def _state(net: nn.Module, opt: torch.optim.Optimizer, sched: object, log: TrainLog,
           generator: torch.Generator | None, step: int, seconds: float) -> dict:
    return {"net": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
            "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
            "seconds": seconds, "generator": generator.get_state() if generator is not None else None,
            "log": {"steps": log.steps, "losses": log.losses, "val_steps": log.val_steps,
                    "val_gains": log.val_gains, "running": log.running}}


def _restore(state: dict, net: nn.Module, opt: torch.optim.Optimizer, sched: object, log: TrainLog,
             generator: torch.Generator | None, steps: int, log_every: int) -> tuple[int, float]:
    """Load a :func:`_state` back; returns (next step, seconds spent so far)."""
    if state["sched"]["T_max"] != steps:
        raise ValueError(f"checkpoint was made for a run of {state['sched']['T_max']} steps, "
                         f"this one has steps={steps}")
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    if generator is not None and state["generator"] is not None:
        generator.set_state(state["generator"])
    for k, v in state["log"].items():
        setattr(log, k, {n: list(x) for n, x in v.items()} if k == "running" else list(v))
    if "running" in state:                      # a state of 0.1: the sum of the losses since the last log step
        n = state["step"] % log_every
        log.running = {"loss": [state["running"] / n] * n} if n else {}
    return state["step"] + 1, state["seconds"]


@torch.no_grad()
def evaluate_pair(net: nn.Module, degraded: torch.Tensor, clean: torch.Tensor,
                  device: torch.device | str = "cpu", chunk: int = 256) -> tuple[float, float]:
    """Mean PSNR of ``degraded`` and of ``net(degraded)`` (clipped) against ``clean``; both (N, 3, H, W)."""
    outs = [net(degraded[i:i + chunk].to(device)).clamp(0, 1).cpu() for i in range(0, len(degraded), chunk)]
    return psnr(degraded, clean).mean().item(), psnr(torch.cat(outs), clean).mean().item()


@torch.no_grad()
def dead_units(net: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, int]]:
    """For each hidden ReLU layer of a tool, (channels that are zero on every pixel of ``x``, channels).

    A channel that no input switches on passes no gradient: it is dead for good. x: (N, 3, H, W) in [0, 1]. This
    is what left jpeg-1, jpeg-2 and noise-1 of the first toolbox the identity (chapter 2).
    """
    from .tools import LargeTool, SmallTool
    acts: dict[str, torch.Tensor] = {}
    if isinstance(net, SmallTool):
        acts["conv1"] = F.relu(net.conv1(x))
        acts["conv2"] = F.relu(net.conv2(acts["conv1"]))
    elif isinstance(net, LargeTool):
        acts["head"] = h = F.relu(net.head(x))
        acts["shrink"] = h = F.relu(net.shrink(h))
        for j, (a, b) in enumerate(zip(net.body[0::2], net.body[1::2])):
            acts[f"body{2 * j}"] = inner = F.relu(a(h))
            acts[f"body{2 * j + 1}"] = h = F.relu(h + b(inner))
        acts["expand"] = F.relu(net.expand(h))
    else:
        raise TypeError(f"net must be a SmallTool or LargeTool, got {type(net).__name__}")
    return {k: (int((v.amax(dim=(0, 2, 3)) <= 0).sum()), v.shape[1]) for k, v in acts.items()}
