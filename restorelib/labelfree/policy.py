"""Label-free restoration agents (chapter 8): policy optimisation over tool sequences with a no-reference reward.

Restore-R1 (Lu et al.) trains a light agent with policy optimisation and a perceptual reward instead of the ground
truth, and pays for redundant tool calls. Ours, at book scale:

* **the agent** (:class:`PolicyNet`): RL-Restore's convolutional encoder (chapter 4), the one-hot previous action and
  the step, a shared hidden layer, a policy over the tools + stop and a value head;
* **the reward**: the stepwise gain of a no-reference scorer of :mod:`restorelib.core.quality` (``quality-net`` by
  default, any registered or plugged-in scorer works) minus ``tool_cost`` per tool call, through
  :class:`~restorelib.rlrestore.env.RestoreEnv`'s ``"nr"`` reward. The clean patches only *make* the degraded inputs; they
  never enter the reward. The PSNR of the training batch is logged as a diagnostic, never used for learning, so
  reward hacking shows as a score that rises while the PSNR falls;
* **the objective**: PPO's clipped surrogate (Schulman et al., 2017) with an entropy bonus, on advantages from one
  of two baselines. ``baseline="group"`` (the default, as GRPO in recent LLM-RL): each degraded patch is rolled out
  ``group`` times and a chain's advantage is its return minus the mean of its group, over the group's standard
  deviation; the value head is then unused. Chains of the same patch differ only by the agent's choices, so this
  baseline needs no critic and is exact for the patch's difficulty, which a value head must learn.
  ``baseline="value"``: PPO with the critic, advantage = return-to-go minus V(s), value loss weight ``value_coef``.

The rollouts and PPO's update are in :mod:`restorelib.labelfree.ppo`; :func:`train_label_free` trains on a patch
bank or fresh crops of whole photos and can save its whole run every few minutes, continuing from it after a stop.
Checkpoints (sha256, ``weights_only``), the record and the ``label-free`` method are in this module too.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.validation import check_images, positive_ints
from ..rlrestore.nets import PATCH, _same_conv
from ..core.config import get_device, weights_dir
from ..core.training_log import TrainingLog
from ..core.scales import build_scales
from ..core.banks import check_bank, crops_phrase, draw_clean
from ..core.degradations import degrade, parse_spec
from ..rlrestore.env import RestoreEnv
from ..core.metrics import psnr
from ..core.long_runs import Progress
from .ppo import clipped_surrogate, group_advantages, ppo_update, sample_chains
from ..core.patches import CropSampler
from ..core.method import OptionError, register_method
from ..rlrestore.restore import ChainAgentMethod, ChainRestorer
from ..core.resume import RunCheckpoint
from ..core.artifacts import ArtifactKind, load_or_train, write_readme
from ..core.checkpoints import RECORD
from ..toolbox.tools import Toolbox, count_macs, count_params, write_checkpoint

AGENTS_DIR: Path = weights_dir() / "agents-label-free"


class PolicyNet(nn.Module):
    """(image (B, 3, 63, 63) in [0, 1], previous action (B,) long with -1 at the start, step (B,) long) ->
    (logits (B, n_actions), value (B,)). The encoder is RL-Restore's (chapter 4). Chapter 8."""

    def __init__(self, n_tools: int = 12, n_actions: int = 13, t_max: int = 3, hidden: int = 64) -> None:
        super().__init__()
        self.n_tools, self.n_actions, self.t_max = n_tools, n_actions, t_max
        self.convs = nn.ModuleList([_same_conv(3, 32, 9), _same_conv(32, 24, 5), _same_conv(24, 24, 5),
                                    _same_conv(24, 24, 5)])
        self.fc = nn.Linear(4 * 4 * 24, hidden)
        self.body = nn.Linear(hidden + n_tools + t_max, hidden)
        self.policy, self.value = nn.Linear(hidden, n_actions), nn.Linear(hidden, 1)

    def forward(self, image: torch.Tensor, prev_action: torch.Tensor, step: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        if image.dim() != 4 or image.shape[1:] != (3, PATCH, PATCH):
            raise ValueError(f"image must have shape (B, 3, {PATCH}, {PATCH}), got {tuple(image.shape)}")
        h = image * 2 - 1
        for conv in self.convs:
            h = F.relu(conv(h))
        h = F.relu(self.fc(h.flatten(1)))
        known = (prev_action >= 0) & (prev_action < self.n_tools)      # the start and stop give a zero vector
        prev = F.one_hot(prev_action.clamp(0, self.n_tools - 1), self.n_tools).to(h) * known[:, None]
        t = F.one_hot(step.clamp(0, self.t_max - 1), self.t_max).to(h)
        h = F.relu(self.body(torch.cat([h, prev, t], dim=1)))
        return self.policy(h), self.value(h)[:, 0]


@dataclass
class LabelFreeConfig:
    """Hyper-parameters of :func:`train_label_free` (see SCALES for the book's and CI's)."""

    iters: int = 20_000
    batch: int = 16                  # degraded patches per iteration
    group: int = 4                   # chains sampled per patch
    t_max: int = 3
    spec: str = "moderate"           # the degradation of the training patches
    scorer: str = "quality-net"
    tool_cost: float = 0.05          # in the scorer's units, per tool call
    baseline: str = "group"          # "group" (GRPO-like) or "value" (PPO with a critic)
    clip: float = 0.2
    epochs: int = 4                  # PPO passes over each batch of chains
    lr: float = 3e-4
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    log_every: int = 50
    seed: int = 0
    tools: list[str] | None = None

    def __post_init__(self) -> None:
        positive_ints(self, "iters", "batch", "group", "t_max", "epochs", "log_every")
        if self.baseline not in ("group", "value"):
            raise ValueError(f"baseline must be 'group' or 'value', got {self.baseline!r}")
        if self.baseline == "group" and self.group < 2:
            raise ValueError(f"group must be >= 2 with baseline 'group' (a group of one has no baseline), "
                             f"got {self.group}")
        if not 0 < self.clip < 1 or not self.lr > 0:
            raise ValueError(f"clip must lie in (0, 1) and lr be positive, got {self.clip!r} and {self.lr!r}")
        parse_spec(self.spec)

    def to_dict(self) -> dict:
        return asdict(self)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["label-free"]`` says what each changes and
#: why.
SCALES: dict[str, LabelFreeConfig] = build_scales("label-free", LabelFreeConfig)


@dataclass
class LabelFreeRecord(TrainingLog):
    """Learning curves: per log, the mean episode return (score units), tool calls, and the batch's PSNR gain (dB,
    measured for the reader, never used for learning) (:class:`~restorelib.core.training_log.TrainingLog`)."""

    iters: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    tool_calls: list[float] = field(default_factory=list)
    psnr_gain: list[float] = field(default_factory=list)

    AXIS = "iters"
    MEANS = {"returns": "ret", "tool_calls": "calls", "psnr_gain": "psnr"}
    JSON = {"iters": "iters", "returns": "return", "tool_calls": "tool_calls", "psnr_gain": "psnr_gain_db"}


def train_label_free(toolbox: Toolbox, bank: "torch.Tensor | CropSampler", cfg: LabelFreeConfig,
                     device: torch.device | str | None = None, scorer: str | Callable | None = None,
                     log: Callable | None = None, progress: bool | str = False,
                     checkpoint: str | Path | None = None,
                     checkpoint_every: float = 300.0) -> tuple[PolicyNet, LabelFreeRecord]:
    """Train a label-free agent on clean patches ``bank`` (P, 3, 63, 63) in [0, 1], or fresh 63x63 crops of a
    :class:`~restorelib.core.patches.CropSampler` (module docstring); ``scorer`` overrides ``cfg.scorer`` (e.g. a callable
    plugged in by the reader). ``checkpoint``: a file that holds the whole run (weights, optimiser, iteration, random
    state, curves and running means) every ``checkpoint_every`` seconds and when the run is done; a run started with an
    existing one continues from it to the same result. ``progress``: a bar with an ETA
    (:class:`restorelib.core.long_runs.Progress`). Returns (net in eval mode, record)."""
    check_bank(bank, size=PATCH)
    dev = get_device(device)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    env = RestoreEnv(toolbox, t_max=cfg.t_max, reward="nr", tools=cfg.tools, scorer=scorer or cfg.scorer,
                     tool_cost=cfg.tool_cost)
    net = PolicyNet(len(env.tool_ids), env.n_actions, cfg.t_max).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    rec = LabelFreeRecord()
    run = RunCheckpoint(checkpoint, checkpoint_every, {**cfg.to_dict(), "train_patches": len(bank)},
                        {"net": net, "opt": opt}, g, rec)
    loop = run.resume() or {"it": 0}
    bar = Progress(progress, cfg.iters, loop["it"], "label-free iterations")
    for it in range(loop["it"] + 1, cfg.iters + 1):
        clean = draw_clean(bank, cfg.batch, g)
        degraded = degrade(clean, cfg.spec, generator=g)[0]       # the clean patch makes the input, nothing else
        start = degraded.repeat_interleave(cfg.group, 0).to(dev)     # each patch `group` times, consecutively
        to_go = ppo_update(net, opt, sample_chains(net, env, start, cfg.t_max, g), cfg)
        c = clean.to(dev).repeat_interleave(cfg.group, 0)
        bar.update_to(it)
        if rec.add_step(it, cfg.log_every, cfg.iters, ret=to_go[0].mean().item(),
                        calls=env.tool_calls.float().mean().item(),
                        psnr=(psnr(env.image, c) - psnr(start, c)).mean().item()) and log:
            log(f"[label-free] iter {it}: return {rec.returns[-1]:+.4f}, tools {rec.tool_calls[-1]:.2f}, "
                f"PSNR gain {rec.psnr_gain[-1]:+.2f} dB (diagnostic), {run.seconds():.0f} s", flush=True)
        run.save_if_due(it=it)
    bar.close()
    run.finish(it=max(cfg.iters, loop["it"]))
    return net.eval(), rec


# ----------------------------------------------------------------------------- checkpoints and restoring
def save_label_free(net: PolicyNet, cfg: LabelFreeConfig, rec: LabelFreeRecord, folder: str | Path, command: str,
                    scale: str, device: torch.device | str = "cpu", train_patches: int | None = None,
                    extra: dict | None = None) -> Path:
    """Write ``agent.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curves, ``extra`` such as
    ``train_sets`` and ``train_images``) and a README card."""
    folder = Path(folder)
    extra = extra or {}
    write_checkpoint(net, folder, "agent.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, train_patches=train_patches, params=count_params(net), curve=rec.curve(),
                     **extra)
    data = "" if "train_sets" not in extra else \
        f" ({crops_phrase(train_patches, extra['train_sets'], extra['train_images'])})"
    c = rec.curve()
    tail = ", ".join(f"{i}: {r:+.3f} / {p:+.2f} dB / {k:.2f} tools" for i, r, p, k in
                     list(zip(c["iters"], c["return"], c["psnr_gain_db"], c["tool_calls"]))[-3:])
    write_readme(folder,
        f"# Label-free agent `{folder.name}` ({scale} scale)\n\nProduced by `{command}` ({rec.seconds / 60:.1f} min). "
        f"Reward: the gain of the no-reference scorer `{cfg.scorer}` minus {cfg.tool_cost} per tool; baseline "
        f"`{cfg.baseline}`; training patches{data} degraded by `{cfg.spec}`. Configuration: `{json.dumps(cfg.to_dict())}`."
        f"\n\nAt the last logs (iteration: return / PSNR gain of the batch, measured and never used for learning / "
        f"tools): {tail}. The curves are in `record.json`; the sha256 of `agent.pt` there is checked on load "
        f"(chapter 8).\n")
    return folder / RECORD


def shipped_label_free() -> list[str]:
    """Names of the label-free agents shipped in ``restorelib/weights/agents-label-free``."""
    return LABEL_FREE_AGENTS.shipped()


def load_label_free(name: str | Path = "label-free", device: torch.device | str = "cpu"
                    ) -> tuple[PolicyNet, LabelFreeConfig, dict]:
    """A trained agent (shipped name or folder), sha256-checked and loaded with ``weights_only=True``."""
    return LABEL_FREE_AGENTS.load(name, device)


def _build_policy(cfg: LabelFreeConfig, record: dict) -> PolicyNet:
    n_tools = len(cfg.tools) if cfg.tools else len(Toolbox().specs)
    return PolicyNet(n_tools, n_tools + 1, cfg.t_max)


#: Chapter 8's agents on disk (``AGENTS_DIR`` read on each use).
LABEL_FREE_AGENTS = ArtifactKind(folder=lambda: AGENTS_DIR, config_cls=LabelFreeConfig, build=_build_policy,
                                 default="label-free", what="agent",
                                 hint="train one with `python scripts/train_label_free.py`")


def get_label_free(profile, toolbox: Toolbox, bank: torch.Tensor | None = None, device: torch.device | str = "cpu",
                   name: str = "label-free", log: Callable | None = None, progress: bool | str = False
                   ) -> tuple["LabelFreeRestorer", dict]:
    """Chapter 8's agent at the active scale: trained here when ``profile.train`` (CI: seconds, with the cheap
    ``neg-sigma`` scorer; gpu: minutes on a Colab T4; paper: hours), else the shipped agent ``name``. Where
    ``profile.long_runs`` the run shows a progress bar and keeps its state in
    :func:`restorelib.core.long_runs.run_checkpoint`'s folder (it resumes). Returns (restorer, record with ``seconds``,
    ``command``, ``config`` and ``curve``)."""
    def load() -> tuple[LabelFreeRestorer, dict]:
        net, cfg, record = load_label_free(name, device)
        return LabelFreeRestorer(net, cfg, toolbox), record

    def train(cfg: LabelFreeConfig, **run: object) -> tuple[LabelFreeRestorer, dict]:
        net, rec = train_label_free(toolbox, bank, cfg, device=device, log=log, **run)
        return LabelFreeRestorer(net, cfg, toolbox), {"seconds": rec.seconds, "command": f"train_label_free at "
                                                      f"{profile.name} scale", "config": cfg.to_dict(),
                                                      "curve": rec.curve()}
    return load_or_train(profile, bank, load, train, config=SCALES.__getitem__, run="label-free",
                         inputs=(toolbox, bank), progress=progress)


class LabelFreeRestorer(ChainRestorer):
    """A trained label-free agent with its toolbox: greedy chains per patch, or whole images by patch voting
    (:class:`~restorelib.rlrestore.restore.ChainRestorer`)."""

    def __init__(self, net: PolicyNet, cfg: LabelFreeConfig, toolbox: Toolbox) -> None:
        super().__init__(net, cfg, toolbox)
        self.stop = len(self.tool_ids)                 # the action after the tools'

    @classmethod
    def load(cls, name: str | Path = "label-free", device: torch.device | str = "cpu",
             toolbox: Toolbox | None = None) -> "LabelFreeRestorer":
        net, cfg, _ = load_label_free(name, device)
        return cls(net, cfg, toolbox if toolbox is not None else Toolbox.load(device=device))

    def _policy(self, x: torch.Tensor, prev: torch.Tensor, t: int) -> torch.Tensor:
        step = torch.full((x.shape[0],), min(t, self.cfg.t_max - 1), device=self.device)
        return self.net(x, prev, step)[0].argmax(dim=1)

    @torch.no_grad()
    def rollout(self, patches: torch.Tensor, t_max: int | None = None) -> tuple[torch.Tensor, list[list[str]]]:
        """Each 63x63 patch (N, 3, 63, 63) in [0, 1] follows its own greedy chain of at most ``t_max`` tools
        (default the training length). Returns (restored (N, 3, 63, 63), chains of tool names)."""
        check_images(patches, "patches", channels=3)
        x = patches.to(self.device).clone()
        prev = torch.full((x.shape[0],), -1, dtype=torch.long, device=self.device)
        running = torch.ones(x.shape[0], dtype=torch.bool, device=self.device)
        chains: list[list[str]] = [[] for _ in range(x.shape[0])]
        for t in range(self.cfg.t_max if t_max is None else t_max):
            idx = running.nonzero().flatten()
            if not len(idx):
                break
            a = self._policy(x[idx], prev[idx], t)
            running[idx[a == self.stop]] = False
            ids = torch.tensor(self.tool_ids + [-1], device=x.device)        # stop -> -1: left as it is
            x[idx] = self.toolbox.apply_each(x[idx], ids[a])
            for i, tool in zip(idx.tolist(), a.tolist()):
                if tool != self.stop:
                    chains[i].append(self.action_name(tool))
            prev[idx] = a
        return x, chains

    def vote(self, crops: torch.Tensor, prev: torch.Tensor, step: int, memory: dict, chunk: int) -> torch.Tensor:
        return self._policy(crops, prev, step)         # no memory: the step index stands in for it


class LabelFreeMethod(ChainAgentMethod):
    """``label-free[:AGENT]`` for :func:`restorelib.core.evaluation.evaluate`: 63x63 inputs follow their own chains,
    larger images are restored whole by patch voting. Chapter 8."""

    def __init__(self, agent: "str | Path | LabelFreeRestorer" = "label-free", device: torch.device | str = "cpu",
                 max_length: int | None = None, name: str | None = None) -> None:
        restorer = agent if isinstance(agent, LabelFreeRestorer) else LabelFreeRestorer.load(agent, device)
        default = str(agent) if isinstance(agent, (str, Path)) and str(agent) not in ("", "label-free") else ""
        super().__init__(restorer, name or ("label-free:" + default if default else "label-free"), max_length,
                         count_macs(_FirstStep(restorer.net), (1, 3, PATCH, PATCH)))
        self.t_max = max_length

    def patches(self, degraded: torch.Tensor) -> tuple[torch.Tensor, list[list[str]], list[int]]:
        t_max = self.restorer.cfg.t_max if self.t_max is None else self.t_max
        out, chains = self.restorer.rollout(degraded, self.t_max)
        return out, chains, [len(c) + (len(c) < t_max) for c in chains]    # a stop decision costs a pass too


class _FirstStep(nn.Module):
    """The policy at the first step, as a one-input module for :func:`restorelib.toolbox.tools.count_macs`."""

    def __init__(self, net: PolicyNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return self.net(x, zero - 1, zero)[0]


def label_free_factory(arg: str, device: torch.device | str, max_length: int | None = None,
                       **_: object) -> LabelFreeMethod:
    """The ``label-free[:AGENT]`` method (registered below); ``max_length`` (1..10) is ``--max-length``."""
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                   or not 1 <= max_length <= 10):
        raise OptionError("max_length", f"max_length must be an int in 1..10, got {max_length!r}")
    return LabelFreeMethod(arg or "label-free", device, max_length=max_length)


register_method("label-free", label_free_factory, "the agent trained on a no-reference reward (chapter 8); "
                "label-free:AGENT picks a shipped agent or a folder; --max-length")


__all__ = ["LABEL_FREE_AGENTS", "LabelFreeConfig", "LabelFreeMethod", "LabelFreeRestorer", "PolicyNet", "SCALES",
           "clipped_surrogate", "get_label_free", "group_advantages", "label_free_factory", "load_label_free", "save_label_free", "train_label_free"]
