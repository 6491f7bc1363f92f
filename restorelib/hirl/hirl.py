"""HIRL (Zhang & Gao): a hierarchical deep-Q agent that picks a tool *type*, then its *degree* (chapter 6).

Two Q-networks, each with a target copy (Sec. 2.3): the type strategy T(s) gives a value per tool type, the degree
strategy D(s) a value per degree of every type. A step: T picks a type t (epsilon-greedy), D picks a degree d of t
(epsilon-greedy), tool ``3 t + d`` of the toolset (:mod:`restorelib.hirl.tools`) is applied through
:class:`~restorelib.rlrestore.env.RestoreEnv`, and the reward is the stepwise PSNR gain (any reward kind the environment
accepts). D learns every step from that step's transitions on ``r + gamma max D'(s')`` (Eq. 2); the transitions
[s, t, s', r] go to a memory from which T learns on sampled batches, ``r + gamma max T'(s')`` (Eq. 3). Epsilon starts
at 0.5 and drops by 0.1 every ``eps_every`` steps to 0.1, gamma = 0.9, the memory holds 100 transitions, T samples 30,
and the targets copy the networks every 30 trainings (Sec. 3.1; those are the ``paper`` scale).

Our readings of what the paper leaves open, each a setting of :class:`HirlConfig`:

* **D's max** runs over every type and degree of D'(s'): "the largest value obtained after processing s' with the DS
  target network". So D is a full Q-function of the 9 tools, and T learns which type holds the best of them.
* **Stopping.** Inference stops "when there is no reward"; without a reference the agent can only stop when the value
  of the tool it would apply is not positive. Stopping is then an action worth 0, so by default (``stop_floor``) the
  targets bootstrap with ``max(0, max Q')``, the value of going on *or stopping*; ``stop_floor=False`` is the literal
  Eq. (2)/(3).
* **The path-length limit truncates** an episode but is not part of the state, so the last step still bootstraps
  (time-limit truncation, not termination). Only the ``final-*`` rewards, which arrive at the limit, end there.
* **Training data**: 63x63 patches of the training photos, each degraded on the fly by one of the mixtures
  ``hirl-mild``, ``hirl-moderate``, ``hirl-severe`` drawn uniformly (the paper trains on its hybrid data sets).

The networks and the transition memory are in :mod:`restorelib.hirl.nets` (re-exported here). Checkpoints
(save/load with sha256, record, model card) and restoring with a trained agent (patches, whole images by voting, the
``hirl`` evaluate method) are in :mod:`restorelib.hirl.restore`. :func:`train_hirl` trains on a patch bank or fresh
crops of whole photos and can save its whole run every few minutes, continuing from it after a stop.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..rlrestore.nets import PATCH, td_targets
from ..core.config import get_device
from ..core.training_log import TrainingLog
from ..core.scales import build_scales
from ..core.degradations import degrade, parse_spec
from ..core.banks import check_bank, draw_clean
from ..rlrestore.env import Observation, RestoreEnv
from .nets import (  # noqa: F401  (re-exported: chapter 6 found them here)
    ARCHS, HirlAgent, HirlQNet, ResBlock, TransitionMemory, choose, hierarchical_tool)
from .rollout import greedy_gain, greedy_rollout  # noqa: F401  (re-exported)
from .tools import N_DEGREES, N_TYPES
from ..core.long_runs import Progress
from ..core.patches import CropSampler
from ..core.resume import RunCheckpoint
from ..toolbox.tools import Toolbox

HIRL_SPECS: tuple[str, ...] = ("hirl-mild", "hirl-moderate", "hirl-severe")
#: The HIRL paper's own figures (Zhang & Gao), which chapter 6 prints and quotes beside ours.
#: Table 1: HIRL on single distortions of CSIQ, {spec: (PSNR, SSIM)}.
PAPER_TABLE1: dict[str, tuple[float, float]] = {"hirl-awgn": (33.54, 0.8894), "hirl-jpeg": (29.23, 0.8247),
                                                "hirl-blur": (29.80, 0.8527)}
#: Table 2: mean PSNR gain (dB) on DIV2K at path lengths 1 to 4, brute force spending 9, 90, 819 and 7380 trials.
PAPER_TABLE2: dict[str, tuple[float, ...]] = {"brute force": (1.338, 1.586, 1.721, 1.847),
                                              "HIRL": (1.618, 1.866, 1.958, 1.958)}
#: Table 3: HIRL on DIV2K with the path length limited to 3, 5 and 7 tools, {mixture: ((PSNR, SSIM) per limit)}.
PAPER_TABLE3: dict[str, tuple[tuple[float, float], ...]] = {
    "hirl-mild": ((25.41, 0.6763), (25.72, 0.6785), (25.82, 0.6861)),
    "hirl-moderate": ((26.09, 0.6626), (26.16, 0.6646), (26.18, 0.6677)),
    "hirl-severe": ((23.70, 0.5639), (23.71, 0.5664), (23.81, 0.5665)),
}
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"mse": F.mse_loss,
                                                                          "huber": F.smooth_l1_loss}


# ----------------------------------------------------------------------------- the learning rules
def hirl_epsilon(step: int, every: int, start: float = 0.5, drop: float = 0.1, end: float = 0.1) -> float:
    """HIRL's exploration rate: ``start`` (0.5), lowered by ``drop`` (0.1) every ``every`` steps, floored at ``end``
    (0.1): 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, ... Chapter 6."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int, got {every!r}")
    if not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    return max(end, round(start - drop * (step // every), 9))


def hirl_targets(next_values: torch.Tensor, rewards: torch.Tensor, gamma: float = 0.9,
                 dones: torch.Tensor | None = None,
                 stop_floor: bool = True) -> torch.Tensor:
    """TD targets ``r + gamma * max Q'(s')``, rewards (B,) -> (B,). Chapter 6.

    For D, next_values is D'(s') (B, n_types, n_degrees) and the max runs over every
    type and degree; for T it is T'(s') (B, n_types). ``dones`` (B,) bool drops the
    bootstrap; ``stop_floor`` bootstraps with ``max(0, max Q')``, stopping being worth 0
    (module docstring).
    """
    if next_values.dim() < 2 or next_values.shape[0] != rewards.shape[0]:
        raise ValueError(f"next_values must be (B, ...) with B = len(rewards) = "
                         f"{rewards.shape[0]}, got {tuple(next_values.shape)}")
    q = next_values.flatten(1)                  # (B, 9) for D, (B, 3) for T
    if stop_floor:
        q = q.clamp_min(0)
    dones = torch.zeros_like(rewards, dtype=torch.bool) if dones is None else dones
    return td_targets(q, rewards, dones, gamma)


# ----------------------------------------------------------------------------- configuration
@dataclass
class HirlConfig:
    """Hyper-parameters; the defaults are the ``paper`` scale. A *step* applies one tool to each of the
    ``env_batch`` patches and trains D once and T once (from ``t_start`` stored transitions on)."""

    steps: int = 225_000            # 500 "epochs" of 2400 three-step episodes at 16 patches per step
    env_batch: int = 16             # patches rolled out in parallel
    max_len: int = 3                # tools per training episode (the path-length limit)
    gamma: float = 0.9
    eps_start: float = 0.5
    eps_drop: float = 0.1
    eps_end: float = 0.1
    eps_every: int = 45_000         # the paper's 100 epochs
    memory: int = 100               # transitions kept for T (at 16 patches a step: the last ~6 steps)
    t_batch: int = 30               # transitions per T update
    t_start: int = 100              # transitions stored before T learns
    target_every: int = 30          # steps (= trainings of each network) between target copies
    lr: float = 1e-4
    arch: str = "resnet18"
    reward: str = "psnr"
    scorer: str | None = None       # the no-reference scorer of reward "nr" (label-free chapter), by name
    stop_floor: bool = True
    specs: list[str] = field(default_factory=lambda: list(HIRL_SPECS))
    tools: list[str] | None = None  # the 9 tool names in (type, degree) order; None = the toolbox's order
    n_types: int = N_TYPES
    n_degrees: int = N_DEGREES
    loss: str = "mse"               # the paper's squared L2 (Eq. 2, 3), or "huber" (DQN's, robust to large errors)
    grad_clip: float | None = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "env_batch", "max_len", "eps_every", "memory", "t_batch", "t_start", "target_every",
                     "n_types", "n_degrees"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma must lie in [0, 1), got {self.gamma!r}")
        if not 0 <= self.eps_end <= self.eps_start <= 1 or self.eps_drop < 0:
            raise ValueError(f"eps_start, eps_drop, eps_end must satisfy 0 <= eps_end <= eps_start <= 1 and "
                             f"eps_drop >= 0, got {self.eps_start!r}, {self.eps_drop!r}, {self.eps_end!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {self.arch!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if not self.specs:
            raise ValueError("specs must name at least one distortion spec")
        for s in self.specs:
            parse_spec(s)
        if self.tools is not None and len(self.tools) != self.n_types * self.n_degrees:
            raise ValueError(f"tools must name n_types * n_degrees = {self.n_types * self.n_degrees} tools, "
                             f"got {len(self.tools)}")

    def to_dict(self) -> dict:
        return asdict(self)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["hirl"]`` says what each changes and why.
SCALES: dict[str, HirlConfig] = build_scales("hirl", HirlConfig)


# ----------------------------------------------------------------------------- training
def mixture_degrader(specs: list[str] | tuple[str, ...] = HIRL_SPECS
                     ) -> Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]:
    """A function (clean (N, 3, S, S) in [0, 1], generator) -> degraded, each image by one of ``specs`` drawn
    uniformly (default HIRL's three mixtures). Chapter 6."""
    parsed = [parse_spec(s) for s in specs]
    if not parsed:
        raise ValueError("specs must name at least one distortion spec")

    def fn(clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        pick = torch.randint(len(parsed), (clean.shape[0],), generator=generator)
        out = clean.clone()
        for i, sp in enumerate(parsed):
            sel = (pick == i).nonzero().flatten()
            if len(sel):
                out[sel] = degrade(clean[sel], sp, generator)[0]
        return out
    return fn


@dataclass
class HirlRecord(TrainingLog):
    """Per logged step: mean training-episode return (dB, with exploration), epsilon, D and T losses, and (with a
    validation set) the greedy PSNR gain; total seconds (:class:`~restorelib.core.training_log.TrainingLog`; NaN,
    e.g. T's loss before it learns, is written as JSON null)."""

    steps: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    eps: list[float] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_t: list[float] = field(default_factory=list)
    val_gain: list[float] = field(default_factory=list)

    MEANS = {"returns": "ret", "loss_d": "loss_d", "loss_t": "loss_t"}
    JSON = {"steps": "steps", "returns": "return_db", "eps": "eps", "loss_d": "loss_d", "loss_t": "loss_t",
            "val_gain": "val_gain_db"}
    NAN_AS_NONE = True


def _update(net: nn.Module, opt: torch.optim.Optimizer, q: torch.Tensor, y: torch.Tensor, kind: str,
            clip: float | None) -> float:
    loss = LOSSES[kind](q, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip:
        nn.utils.clip_grad_norm_(net.parameters(), clip)
    opt.step()
    return loss.item()


@dataclass
class _Loop:
    """The counter of a HIRL run between two episodes (saved in its checkpoint; the running means are in the record)."""

    step: int = 0


def train_hirl(toolbox: Toolbox | nn.Module, bank: "torch.Tensor | CropSampler", cfg: HirlConfig,
               device: torch.device | str | None = None, log: Callable | None = None, progress: bool | str = False,
               reward: str | None = None, scorer: object | None = None,
               degrader: Callable | None = None, val: tuple[torch.Tensor, torch.Tensor] | None = None,
               log_every: int | None = None, checkpoint: str | Path | None = None,
               checkpoint_every: float = 300.0) -> tuple[HirlAgent, HirlRecord]:
    """Train HIRL's T and D (module docstring) on clean patches ``bank`` (P, 3, 63, 63) in [0, 1], or fresh 63x63
    crops of a :class:`~restorelib.core.patches.CropSampler`. Chapter 6.

    ``toolbox`` holds the 9 tools in (type, degree) order (or ``cfg.tools`` names them). ``reward`` overrides
    ``cfg.reward`` with any kind :class:`~restorelib.rlrestore.env.RestoreEnv` accepts, ``scorer`` is passed to it for a
    no-reference reward. ``degrader(clean, generator) -> degraded`` replaces the mixtures of ``cfg.specs``.
    ``val`` = (degraded, clean) patches adds the greedy PSNR gain at every log (``log_every`` steps, default a
    twentieth of the run). ``checkpoint``: a file that holds the whole run (both networks and their targets, the
    optimisers, the transition memory, counters, random state, curves) every ``checkpoint_every`` seconds, between
    episodes, and when the run is done; a run started with an existing one continues from it to the same result.
    ``progress``: a bar with an ETA (a string labels its estimate line, :class:`restorelib.core.long_runs.Progress`).
    Returns (agent in eval mode on ``device``, record).
    """
    check_bank(bank, size=PATCH)
    if reward is not None:
        cfg = replace(cfg, reward=reward)
    scorer = scorer if scorer is not None else cfg.scorer
    log_every = log_every or cfg.max_len * max(1, cfg.steps // (20 * cfg.max_len))   # whole episodes per log
    if not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be a positive int, got {log_every!r}")
    dev = get_device(device)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    env = RestoreEnv(toolbox, t_max=cfg.max_len, reward=cfg.reward, tools=cfg.tools, stop_action=False,
                     **({"scorer": scorer} if scorer is not None else {}))
    if env.n_actions != cfg.n_types * cfg.n_degrees:
        raise ValueError(f"toolbox must hold n_types * n_degrees = {cfg.n_types * cfg.n_degrees} tools (or "
                         f"cfg.tools name them), got {env.n_actions}")
    degrader = degrader or mixture_degrader(cfg.specs)
    agent = HirlAgent(cfg.n_types, cfg.n_degrees, cfg.arch).to(dev)
    target = copy.deepcopy(agent).eval().requires_grad_(False)
    opt_t = torch.optim.Adam(agent.type_net.parameters(), lr=cfg.lr)
    opt_d = torch.optim.Adam(agent.degree_net.parameters(), lr=cfg.lr)
    memory, rec, loop = TransitionMemory(cfg.memory), HirlRecord(), _Loop()
    run = RunCheckpoint(checkpoint, checkpoint_every, {**cfg.to_dict(), "log_every": log_every,
                                                       "train_patches": len(bank)},
                        {"agent": agent, "target": target, "opt_t": opt_t, "opt_d": opt_d, "memory": memory}, g, rec)
    if (saved := run.resume()) is not None:
        loop = _Loop(step=saved["step"])
    bar = Progress(progress, cfg.steps, loop.step, "HIRL steps")

    def after_step(eps: float) -> None:
        if loop.step % cfg.target_every == 0:
            target.load_state_dict(agent.state_dict())
        bar.update_to(loop.step)
        if loop.step % log_every == 0 or loop.step == cfg.steps:
            _log_point(rec, loop, eps, cfg, agent, toolbox, val, log, run.seconds())

    while loop.step < cfg.steps:
        clean = draw_clean(bank, cfg.env_batch, g)
        obs = env.reset(degrader(clean, g).to(dev), clean.to(dev))
        _episode(env, obs, agent, target, opt_t, opt_d, memory, cfg, loop, rec, g, after_step)
        run.save_if_due(**asdict(loop))
    bar.close()
    run.finish(**asdict(loop))
    return agent.eval(), rec


def _episode(env: RestoreEnv, obs: Observation, agent: HirlAgent, target: HirlAgent,
             opt_t: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             memory: TransitionMemory, cfg: HirlConfig, loop: _Loop, rec: HirlRecord,
             g: torch.Generator, after_step: Callable[[float], None]) -> None:
    """One training episode from ``obs``, the environment just reset: up to
    ``cfg.max_len`` steps, each training D on its own transitions and T on a batch of
    the memory (Eq. 2, 3); ``after_step(eps)`` follows every step."""
    dev = obs.image.device
    ret = torch.zeros(cfg.env_batch, device=dev)
    final_reward = cfg.reward.startswith("final")
    for k in range(cfg.max_len):
        if loop.step >= cfg.steps:
            break
        eps = hirl_epsilon(loop.step, cfg.eps_every, cfg.eps_start, cfg.eps_drop,
                           cfg.eps_end)
        s = obs.image                                   # (B, 3, 63, 63)
        t, d, _ = choose(agent, s, eps, g)              # (B,), (B,)
        obs, r, done, _ = env.step(t * cfg.n_degrees + d)   # tool 3t + d; r (B,) in dB
        ret += r
        terminal = done & final_reward  # the limit truncates, unless rewards come there
        # D, every step, from this step's transitions (Eq. 2): max over all 9 of D'(s')
        with torch.no_grad():
            y = hirl_targets(target.degree_values(obs.image), r, cfg.gamma, terminal,
                             cfg.stop_floor)
        q = agent.degree_values(s)[torch.arange(len(t), device=dev), t, d]     # (B,)
        rec.add(loss_d=_update(agent.degree_net, opt_d, q, y, cfg.loss, cfg.grad_clip))
        # T, from a batch of the memory of transitions [s, t, s', r] (Eq. 3)
        memory.add(s, t, d, r, obs.image, terminal)
        if memory.size >= cfg.t_start:
            b = {key: v.to(dev) for key, v in memory.sample(cfg.t_batch, g).items()}
            with torch.no_grad():
                y = hirl_targets(target.type_values(b["s2"]), b["r"], cfg.gamma,
                                 b["done"], cfg.stop_floor)
            q = agent.type_values(b["s"]).gather(1, b["t"][:, None])[:, 0]  # (t_batch,)
            rec.add(loss_t=_update(agent.type_net, opt_t, q, y, cfg.loss,
                                   cfg.grad_clip))
        loop.step += 1
        if k == cfg.max_len - 1:
            rec.add(ret=ret.mean().item())
        after_step(eps)


def _log_point(rec: HirlRecord, loop: _Loop, eps: float, cfg: HirlConfig, agent: HirlAgent,
               toolbox: Toolbox | nn.Module, val: tuple[torch.Tensor, torch.Tensor] | None, log: Callable | None,
               seconds: float) -> None:
    validation = {}
    if val is not None:
        validation["val_gain"] = greedy_gain(agent.eval(), toolbox, *val, cfg)
        agent.train()
    rec.point(loop.step, eps=eps, **validation)
    if log:
        unit = " dB" if "psnr" in cfg.reward else ""
        log(f"[hirl] step {loop.step}: return {rec.returns[-1]:+.3f}{unit}, loss D {rec.loss_d[-1]:.4f}, "
            f"T {rec.loss_t[-1]:.4f}, eps {eps:.1f}" + (f", val gain {rec.val_gain[-1]:+.3f} dB" if val is not None
                                                       else "") + f", {seconds:.0f} s", flush=True)
