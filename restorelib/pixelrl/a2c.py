"""PixelRL (Furuta et al., AAAI 2019), chapter 7: one agent per pixel, a fully convolutional A2C, reward-map convolution.

Every pixel picks one of nine actions (:mod:`restorelib.pixelrl.actions`) at each of ``t_max`` steps; its reward is
how much the step lowered its squared error, r_i = (I_i - s_i^(t))^2 - (I_i - s_i^(t+1))^2 on the 0-255 scale.
:class:`~restorelib.pixelrl.nets.PixelRLNet` is the network of the paper's Fig. 8 (a shared dilated trunk, a policy branch with an optional
convGRU, a value branch); :class:`~restorelib.pixelrl.nets.RewardMapConv` is the learned 33x33 kernel w of the n-step return
R <- r_t + gamma * (w * R). :func:`train_pixelrl` trains it, :func:`pixelrl_restore` runs it on any image size.

Facts from the authors' Chainer code (rfuruta/pixelRL) that the paper leaves out, followed here: the convGRU's
hidden state is an input of the next step, not back-propagated through; an episode is one update (the return after
the last step is 0); the value loss is 0.5 * (R - V)^2 / 2; the policy loss uses a detached advantage, so w learns
only through the value loss; rewards are multiplied by 255 on [0, 1] images, i.e. the 0-255 squared error / 255
(our default ``reward_scale``). Unlike the reference, degraded images are clipped to [0, 1].
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..core.validation import check_images
from ..core.config import get_device
from ..core.scales import build_scales
from ..core.long_runs import Progress
from .actions import (  # noqa: F401  (re-exported: chapter 7 imports everything from here)
    ACTION_SETS, ACTIONS, N_ACTIONS, Task, apply_actions, draw_text_mask, filter_bank, make_task, overlay_text,
    pixel_reward, to_gray)
from .env import PixelEnv, as_env
from ..core.banks import crops_phrase
from ..core.patches import CropSampler
from .baselines import pretrain_shared  # noqa: F401  (re-exported)
from .nets import RMC_SIZE, ConvGRU, PixelRLNet, RewardMapConv  # noqa: F401  (re-exported: chapter 7 imports them here)
from .training import (  # noqa: F401  (re-exported: the pieces of the training loop)
    TrainRecord, _check_bank, draw_crops, sample_crops)
from ..core.resume import MixedPrecision, RunCheckpoint
from ..core.artifacts import has_record, write_readme
from ..core.checkpoints import RECORD, load_checkpoint
from ..toolbox.tools import write_checkpoint

def sample_actions(log_probs: torch.Tensor, greedy: bool = False,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One action per pixel from log_probs (N, A, H, W): the argmax, or a draw -> (N, H, W) long."""
    if greedy:     # the same argmax, over contiguous memory: 4x faster than reducing the strided dim 1 on a CPU
        return log_probs.permute(0, 2, 3, 1).contiguous().argmax(dim=-1)
    n, a, h, w = log_probs.shape
    u = torch.rand((n, 1, h, w), generator=generator).to(log_probs.device)
    # Inverse-CDF sampling with one seeded uniform per pixel; clamp guards a cdf that rounds to just under 1.
    return (log_probs.exp().cumsum(dim=1) < u).sum(dim=1).clamp(max=a - 1)


# ----------------------------------------------------------------------------- rewards and returns
def reward_map_step(returns: torch.Tensor, reward: torch.Tensor, gamma: float,
                    weight: torch.Tensor | None = None) -> torch.Tensor:
    """One step back of the return with RMC: R <- r + gamma * (w * R). Chapter 7.

    returns, reward: (N, 1, H, W); weight: (1, 1, K, K) with K odd (``w``, applied as ``F.conv2d`` does, zero
    padding K // 2), or None for the plain n-step return R <- r + gamma * R.
    """
    if weight is not None:
        returns = F.conv2d(returns, weight, padding=weight.shape[-1] // 2)
    return reward + gamma * returns


def nstep_returns(rewards: list[torch.Tensor], gamma: float,
                  rmc: RewardMapConv | None = None,
                  bootstrap: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The returns R^(t) of every step, from the rewards r^(0..T-1), each (N, 1, H, W).

    R after the last step is ``bootstrap`` (V(s^(T)), or 0 at the end of an episode).
    With ``rmc`` each step back convolves R with its kernel w (the paper's Eq. 13):
    R <- r + gamma * (w * R). Chapter 7.
    """
    if not rewards:
        raise ValueError("rewards must hold at least one step")
    if not 0 <= gamma <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    R = torch.zeros_like(rewards[-1]) if bootstrap is None else bootstrap
    out = []
    for r in reversed(rewards):
        R = reward_map_step(R, r, gamma, None if rmc is None else rmc.weight)
        out.append(R)
    return out[::-1]


def a2c_loss(log_probs: list[torch.Tensor], values: list[torch.Tensor],
             actions: list[torch.Tensor], rewards: list[torch.Tensor],
             gamma: float = 0.95, rmc: RewardMapConv | None = None,
             bootstrap: torch.Tensor | None = None, entropy_coef: float = 0.01,
             value_coef: float = 0.5) -> dict[str, torch.Tensor]:
    """Fully convolutional A2C loss of one rollout, averaged over the pixels and summed
    over the steps. Chapter 7.

    Per step: log_probs (N, A, H, W), values (N, 1, H, W), actions (N, H, W), rewards
    (N, 1, H, W). Returns {"loss", "policy", "value", "entropy"}, where
    ``loss`` = policy - entropy_coef * entropy + value_coef * value.
    """
    if not (len(log_probs) == len(values) == len(actions) == len(rewards)):
        raise ValueError("log_probs, values, actions and rewards must have one entry "
                         "per step each")
    returns = nstep_returns(rewards, gamma, rmc, bootstrap)
    policy = value = entropy = torch.zeros((), device=values[0].device)
    for lp, v, a, R in zip(log_probs, values, actions, returns):
        # a constant for the policy: the kernel w of RMC learns via the value loss only
        advantage = (R - v).detach()                           # (N, 1, H, W)
        policy = policy - (lp.gather(1, a[:, None]) * advantage).mean()
        entropy = entropy - (lp.exp() * lp).sum(dim=1).mean()
        value = value + 0.5 * (R - v).square().mean()
    return {"loss": policy - entropy_coef * entropy + value_coef * value,
            "policy": policy, "value": value, "entropy": entropy}


# ----------------------------------------------------------------------------- training
@dataclass
class PixelRLConfig:
    """Hyper-parameters; the defaults are the paper's (30,000 episodes of a batch of 64 is GPU scale, see SCALES)."""

    episodes: int = 30_000
    batch: int = 64
    crop: int = 70                 # training crops, randomly flipped and rotated by multiples of 90 degrees
    t_max: int = 5
    gamma: float = 0.95
    lr: float = 1e-3               # Adam, poly decay lr * (1 - episode / episodes) ** lr_power
    lr_power: float = 0.9
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    reward_scale: float = 1 / 255  # rewards (0-255 squared errors) are multiplied by this: the reference's x255 on [0, 1]
    gru: bool = True
    rmc: bool = True
    rmc_start: float = 0.0         # stepwise training: this fraction of the episodes runs without RMC (lr restarts)
    width: int = 64
    channels: int = 1              # 1: grayscale (RGB banks are converted); 3: one action per colour pixel
    pretrain_steps: int = 0        # steps of pretrain_shared before RL (the paper starts from a DnCNN)
    pretrain_task: str = "noise:15"
    amp: bool = False              # the network's passes in bf16 autocast + channels-last (core.resume.MixedPrecision)
    action_set: str = "all"        # a key of ACTION_SETS: the actions the agents may take (Table 8's study)
    log_every: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("episodes", "batch", "crop", "t_max", "width", "log_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.crop < 3:
            raise ValueError(f"crop must be at least 3 pixels, got {self.crop}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels!r}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not 0 <= self.rmc_start < 1:
            raise ValueError(f"rmc_start must be in [0, 1), got {self.rmc_start!r}")
        for name in ("lr", "reward_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not isinstance(self.pretrain_steps, int) or self.pretrain_steps < 0:
            raise ValueError(f"pretrain_steps must be a non-negative int, got {self.pretrain_steps!r}")
        if self.action_set not in ACTION_SETS:
            raise ValueError(f"action_set must be one of {sorted(ACTION_SETS)}, got {self.action_set!r}")

    def to_dict(self) -> dict:
        return asdict(self)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["pixelrl"]`` says what each changes and why.
SCALES: dict[str, PixelRLConfig] = build_scales("pixelrl", PixelRLConfig)


def train_pixelrl(clean_bank: torch.Tensor | CropSampler, task: str | Task | PixelEnv,
                  cfg: PixelRLConfig | None = None, device: torch.device | str | None = None,
                  log: Callable[[str], None] | None = None, checkpoint: str | Path | None = None,
                  checkpoint_every: float = 300.0,
                  progress: bool | str = False) -> tuple[PixelRLNet, TrainRecord]:
    """Train PixelRL with the fully convolutional A2C on crops of ``clean_bank`` (P, C, H, W) in [0, 1], or fresh
    ``cfg.crop`` crops of a :class:`~restorelib.core.patches.CropSampler`. Chapter 7.

    ``task`` degrades the clean crops on the fly (see :func:`~restorelib.pixelrl.actions.make_task`:
    ``"noise:25"``, ``"saltpepper:0.5"``, ``"text"``, a callable); a :class:`~restorelib.pixelrl.env.PixelEnv`
    gives another action set, network input and reward (colour enhancement). ``checkpoint``: a file that holds the
    whole run (weights with the RMC kernel, optimiser, episode, random state, curves and running means) every
    ``checkpoint_every`` seconds, once the supervised start is done and when the run is done; a run started with an
    existing one continues from it to the same result. ``progress``: bars with an ETA for the supervised start and
    the episodes (:class:`restorelib.core.long_runs.Progress`). Returns (net in eval mode, record).
    """
    cfg = cfg or PixelRLConfig()
    if not isinstance(cfg, PixelRLConfig):
        raise ValueError(f"cfg must be a PixelRLConfig, got {type(cfg).__name__}")
    bank, env = _check_bank(clean_bank, cfg.channels, cfg.crop), as_env(task, cfg.action_set)
    dev = get_device(device)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    subset = {"action_ids": env.action_ids} if env.action_ids is not None else {}
    net = (env.net_class or PixelRLNet)(cfg.channels, env.n_actions, width=cfg.width, gru=cfg.gru, rmc=cfg.rmc,
                                        **subset)
    mp = MixedPrecision(dev, cfg.amp)                 # one for the run: a float16 loss scale must persist
    net = net.to(dev, memory_format=mp.memory_format)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    rec = TrainRecord()
    same = {**cfg.to_dict(), "task": env.name, "train_patches": len(bank)}
    run = RunCheckpoint(checkpoint, checkpoint_every, same, {"net": net, "opt": opt}, g, rec)
    loop = run.resume()
    if loop is None:
        if cfg.pretrain_steps:
            rec.pretrain_loss = pretrain_shared(net, bank, cfg.pretrain_task, cfg.pretrain_steps, cfg.batch,
                                                cfg.crop, device=dev, seed=cfg.seed, progress=progress)
        loop = {"episode": 0}
        if cfg.pretrain_steps and checkpoint is not None:
            run.save(run.state(**loop))                 # a stop from here on does not repeat the supervised start
    switch = round(cfg.rmc_start * cfg.episodes) if cfg.rmc else 0
    bar = Progress(progress, cfg.episodes, loop["episode"], "PixelRL episodes")
    for episode in range(loop["episode"], cfg.episodes):
        start, length = (0, switch) if episode < switch else (switch, cfg.episodes - switch)
        lr = cfg.lr * (1 - (episode - start) / length) ** cfg.lr_power
        for group in opt.param_groups:
            group["lr"] = lr
        rec.add(**dict(zip(("ret", "gain", "loss"), _episode(net, opt, mp, bank, env, cfg, episode >= switch, g))))
        if rec.due(episode + 1, cfg.log_every, cfg.episodes):
            rec.point(episode + 1, lr=lr)
            if log:
                log(f"[pixelrl] episode {episode + 1}: return {rec.returns[-1]:+.4f}, {env.gain_name} "
                    f"{rec.psnr_gain[-1]:+.2f}, loss {rec.losses[-1]:.4f}, lr {lr:.2e}, {run.seconds():.0f} s")
        run.save_if_due(episode=episode + 1)
        bar.update_to(episode + 1)
    bar.close()
    run.finish(episode=max(cfg.episodes, loop["episode"]))
    return net.to(memory_format=torch.contiguous_format).eval(), rec


def _episode(net: PixelRLNet, opt: torch.optim.Optimizer, mp: MixedPrecision, bank: torch.Tensor | CropSampler, env: PixelEnv,
             cfg: PixelRLConfig, with_rmc: bool, g: torch.Generator) -> tuple[float, float, float]:
    """One episode of ``cfg.t_max`` steps on a batch of crops and its A2C update; returns (return per pixel, gain
    (``env.gain``: PSNR gain for denoising), loss)."""
    dev = next(net.parameters()).device
    state, target = env.start(draw_crops(bank, cfg.batch, cfg.crop, cfg.channels, g), g)
    state, target = state.to(dev), target.to(dev)
    first, hidden = state, None
    log_probs, values, actions, rewards = [], [], [], []
    for _ in range(cfg.t_max):
        with mp.autocast():
            lp, v, hidden = net(env.observe(state).contiguous(memory_format=mp.memory_format), hidden)
        a = sample_actions(lp.detach(), generator=g)
        nxt = env.step(state, a)
        log_probs.append(lp), values.append(v), actions.append(a)
        rewards.append(env.reward(target, state, nxt) * cfg.reward_scale)
        state, hidden = nxt, (hidden.detach().float() if hidden is not None else None)
    use_rmc = net.rmc if cfg.rmc and with_rmc else None
    terms = a2c_loss(log_probs, values, actions, rewards, cfg.gamma, use_rmc, None, cfg.entropy_coef,
                     cfg.value_coef)
    opt.zero_grad(set_to_none=True)
    mp.step(terms["loss"], opt)
    return sum(r.mean().item() for r in rewards), env.gain(first, state, target).mean().item(), terms["loss"].item()


# ----------------------------------------------------------------------------- inference
@torch.no_grad()
def pixelrl_restore(net: PixelRLNet, image: torch.Tensor, t_max: int = 5, greedy: bool = True,
                    generator: torch.Generator | None = None, backend: str = "auto"
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run the agents for ``t_max`` steps on image (N, C, H, W) in [0, 1], any H, W >= 3 (C = net.in_channels).

    Returns (restored (N, C, H, W) in [0, 1], the action maps of the steps: ``t_max`` tensors (N, H, W) long, ids
    of :data:`~restorelib.pixelrl.actions.ACTIONS`). Greedy (argmax) unless ``greedy=False``. For the paper's
    colour handling (each channel on its own) pass ``image.reshape(-1, 1, H, W)`` to a grayscale net. Chapter 7.
    """
    if not isinstance(net, PixelRLNet):
        raise ValueError(f"net must be a PixelRLNet, got {type(net).__name__}")
    check_images(image, "image", channels=net.in_channels, min_size=3)
    if not isinstance(t_max, int) or isinstance(t_max, bool) or t_max < 1:
        raise ValueError(f"t_max must be a positive int, got {t_max!r}")
    dev = next(net.parameters()).device
    state, hidden, maps = image.to(dev), None, []
    lookup = None if net.action_ids is None else torch.tensor(net.action_ids, device=dev)
    for _ in range(t_max):
        lp, hidden = net.policy(state, hidden)             # the value branch is not needed to act
        a = sample_actions(lp, greedy, generator)
        a = a if lookup is None else lookup[a]             # a net of a Table 8 action set: its outputs' action ids
        state = apply_actions(state, a, filter_bank(state, backend))
        maps.append(a)
    return state, maps


def action_counts(maps: list[torch.Tensor]) -> torch.Tensor:
    """How often each action was taken at each step (the paper's Fig. 1): (t_max, 9) fractions of the pixels."""
    return torch.stack([torch.bincount(m.flatten().cpu(), minlength=N_ACTIONS).float() / m.numel() for m in maps])


# ----------------------------------------------------------------------------- checkpoints
def save_pixelrl(net: PixelRLNet, cfg: PixelRLConfig, rec: TrainRecord, folder: str | Path, command: str,
                 scale: str, task: str, device: torch.device | str = "cpu", train_patches: int | None = None,
                 evaluation: dict | None = None, extra: dict | None = None) -> Path:
    """Write ``pixelrl.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curves, ``extra`` such as
    ``train_sets`` and ``train_images``) and a README card."""
    folder, extra = Path(folder), extra or {}
    record = write_checkpoint(
        net, folder, "pixelrl.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
        seconds=rec.seconds, task=task, train_patches=train_patches,
        actions=[ACTIONS[i] for i in ACTION_SETS[cfg.action_set]], evaluation=evaluation,
        curve=rec.curve(), **extra)
    data = f"{train_patches} training patches" if "train_sets" not in extra else \
        "training on " + crops_phrase(train_patches, extra["train_sets"], extra["train_images"], cfg.crop)
    tail = ", ".join(f"{e}: {v:+.2f}" for e, v in list(zip(rec.episodes, rec.psnr_gain))[-3:])
    parts = ["convGRU"] * cfg.gru + [f"RMC (from episode {round(cfg.rmc_start * cfg.episodes)})"] * cfg.rmc
    mean = (evaluation or {}).get("mean", {})
    ev = (f" Greedy test on `{evaluation.get('set')}`: PSNR {mean['psnr_in']:.2f} -> {mean['psnr_out']:.2f} dB."
          if {"psnr_in", "psnr_out"} <= set(mean) else "")
    write_readme(folder,
        f"# PixelRL agent `{folder.name}` ({scale} scale, task `{task}`)\n\n"
        f"Produced by `{command}` on {record['date']} ({record['hardware']}, {device}, torch {torch.__version__}), "
        f"{rec.seconds / 60:.1f} min. Network: the paper's FCN{' + ' + ' + '.join(parts) if parts else ''}.\n\n"
        f"Configuration: `{json.dumps(cfg.to_dict())}`; {data}.\n\n"
        f"PSNR gain of the training episodes (dB, sampled actions) at the last logged episodes: {tail}.{ev} The "
        f"curves are in `record.json`; the sha256 of `pixelrl.pt` there is checked on load (chapter 7).\n")
    return folder / RECORD


def load_pixelrl(folder: str | Path, device: torch.device | str = "cpu") -> tuple[PixelRLNet, PixelRLConfig]:
    """A trained agent from a folder with ``record.json`` + weights, sha256-checked, ``weights_only=True`` load.

    Returns (net in eval mode, config). Raises ValueError when the checkpoint's sha256 does not match.
    """
    if not has_record(folder):
        raise FileNotFoundError(f"folder must hold {RECORD}, got {str(folder)!r}; train an agent with "
                                "`python scripts/train_pixelrl.py`")
    net, cfg, _ = load_checkpoint(folder, PixelRLConfig, build_pixelrl, device)
    return net, cfg


def build_pixelrl(cfg: PixelRLConfig, record: dict | None = None) -> PixelRLNet:
    """A fresh :class:`~restorelib.pixelrl.nets.PixelRLNet` of ``cfg``'s channels, width, convGRU, RMC and action set
    (a checkpoint's network, chapter 7)."""
    ids = ACTION_SETS[cfg.action_set]
    return PixelRLNet(cfg.channels, len(ids), width=cfg.width, gru=cfg.gru, rmc=cfg.rmc,
                      action_ids=None if cfg.action_set == "all" else ids)
