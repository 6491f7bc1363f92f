"""The chapters' training paths, each runnable for a few steps at a scale: what ``size_gpu_scale.py`` measures on a
CPU and ``gpu_smoke.py`` times on a GPU (both import this file from the scripts folder).

A *path* is one trainer as a chapter calls it (the toolbox's tools, DQN, joint training, the baselines, HIRL,
PixelRL's supervised start and its episodes, the label-free agent, the quality network) with the scale's
configuration, its step count overridden: ``run(scale, n, device)`` trains ``n`` units (steps, episodes,
iterations; DQN's unit is one environment step of one patch) and returns the number of units it did. The learning
of DQN and HIRL starts at once (``learn_start``, ``t_start`` lowered), so that a few steps measure the steady state.
:data:`CHAPTERS` says how many units of each path a chapter trains at a scale.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from functools import cache
from typing import Callable

import torch

from restorelib.joint import baselines
from restorelib.core import data
from restorelib.rlrestore import dqn
from restorelib.labelfree import policy as label_free, quality_net
from restorelib.hirl import hirl as hirl
from restorelib.joint import joint as joint
from restorelib.pixelrl import a2c as pixelrl
from restorelib.hirl.tools import HIRL_TOOLS, hirl_toolbox
from restorelib.core.patches import CropSampler, patch_bank
from restorelib.pixelrl.actions import to_gray
from restorelib.rlrestore.restore import AgentRestorer
from restorelib.toolbox.train_toolbox import TOOLBOX_SCALES
from restorelib.toolbox.tools import TOOL_SPECS, LargeTool, SmallTool, Toolbox, ToolSpec
from restorelib.toolbox.training import train_tool

SCALES = ("ci", "gpu")
KINDS = ("noise", "blur", "jpeg")


# ----------------------------------------------------------------------------- what the paths train on
@cache
def _photos() -> dict[str, torch.Tensor]:
    return data.load_set("embedded-train")


@cache
def rgb_bank() -> torch.Tensor:
    """The chapters' clean training patches: 63x63 of the embedded training photos, stride 32 (chapters 4-6, 8)."""
    return patch_bank(_photos(), stride=32)


@cache
def gray_bank(size: int) -> torch.Tensor:
    """Chapter 7's gray training patches of ``size`` x ``size`` (stride half of it)."""
    return patch_bank({k: to_gray(v) for k, v in _photos().items()}, size=size, stride=size // 2, scales=(1.0,),
                      rgb=False)


@cache
def _toolbox(device: str) -> Toolbox:
    return Toolbox.load(device=device)


@cache
def _hirl_toolbox(device: str) -> Toolbox:
    return hirl_toolbox(device=device)


@cache
def _agent(device: str) -> AgentRestorer:
    return AgentRestorer.load("rl-restore", device, _toolbox(device))


# ----------------------------------------------------------------------------- the paths
def _tool(depth: int, kind: str) -> Callable[[str, int, str], int]:
    spec = next(s for s in TOOL_SPECS if s.depth == depth and s.distortion == kind)

    def run(scale: str, n: int, device: str) -> int:
        cfg = TOOLBOX_SCALES[scale]
        net = SmallTool() if depth == 3 else LargeTool()
        sampler = _sampler(cfg["crop"])
        train_tool(net, spec, sampler, steps=n, batch=cfg["batch"], lr=cfg["lr"], robust_p=cfg["robust_p"],
                   amp=cfg["amp"], device=device, generator=torch.Generator().manual_seed(0), log_every=n)
        return n
    return run


@cache
def _sampler(crop: int) -> CropSampler:
    return CropSampler(_photos(), crop)


def _dqn(scale: str, n: int, device: str) -> int:
    cfg = dqn.SCALES[scale]
    cfg = replace(cfg, steps=n, learn_start=0, memory=min(cfg.memory, 2_000))
    _, rec = dqn.train_dqn(_toolbox(device), rgb_bank(), cfg, device=device, log_every=10**9)
    return rec.steps[-1]


def _joint(scale: str, n: int, device: str) -> int:
    agent, box = _agent(device), copy.deepcopy(_toolbox(device))
    tuned = AgentRestorer(agent.net, agent.cfg, box)
    joint.train_joint(box, lambda x: tuned.rollout(x)[1], rgb_bank(),
                      replace(joint.SCALES[scale], steps=n, log_every=n), device)
    return n


def _baseline(name: str) -> Callable[[str, int, str], int]:
    def run(scale: str, n: int, device: str) -> int:
        baselines.train_baseline(baselines.build_baseline(name), rgb_bank(),
                                 replace(baselines.SCALES[scale], steps=n, log_every=n), device)
        return n
    return run


def _hirl(scale: str, n: int, device: str) -> int:
    cfg = hirl.SCALES[scale]
    cfg = replace(cfg, steps=n, t_start=max(cfg.t_batch, cfg.env_batch), eps_every=max(1, n))
    hirl.train_hirl(_hirl_toolbox(device), rgb_bank(), cfg, device=device, log_every=10**9)
    return n


def _pixelrl_pretrain(scale: str, n: int, device: str) -> int:
    cfg = pixelrl.SCALES[scale]
    net = pixelrl.PixelRLNet(cfg.channels, width=cfg.width, gru=cfg.gru, rmc=cfg.rmc).to(device)
    pixelrl.pretrain_shared(net, gray_bank(cfg.crop), cfg.pretrain_task, n, cfg.batch, cfg.crop, device=device)
    return n


def _pixelrl(scale: str, n: int, device: str) -> int:
    cfg = replace(pixelrl.SCALES[scale], episodes=n, pretrain_steps=0, log_every=n)
    pixelrl.train_pixelrl(gray_bank(cfg.crop), "noise:25", cfg, device=device)
    return n


def _label_free(scale: str, n: int, device: str) -> int:
    cfg = replace(label_free.SCALES[scale], iters=n, log_every=n)
    label_free.train_label_free(_toolbox(device), rgb_bank(), cfg, device=device)
    return n


def _quality(scale: str, n: int, device: str) -> int:
    cfg = replace(quality_net.SCALES[scale], steps=n)
    quality_net.train_quality_net(rgb_bank(), cfg, device=device, toolbox=_toolbox(device))
    return n


@dataclass(frozen=True)
class TrainPath:
    """One trainer as a chapter calls it: its ``unit``, ``run(scale, n, device) -> units done``, and ``config(scale)``
    -> the settings that set the cost of one unit (batch sizes, crops, networks), which a measurement records."""

    unit: str
    run: Callable[[str, int, str], int]
    config: Callable[[str], dict]


def _fields(table: dict, *names: str) -> Callable[[str], dict]:
    def config(scale: str) -> dict:
        cfg = table[scale]
        cfg = cfg if isinstance(cfg, dict) else cfg.to_dict()
        return {k: cfg[k] for k in names}
    return config


_TOOL = _fields(TOOLBOX_SCALES, "batch", "crop", "amp", "robust_p")
PATHS: dict[str, TrainPath] = {
    **{f"tool-{'small' if d == 3 else 'large'}-{k}": TrainPath("step", _tool(d, k), _TOOL) for d in (3, 8)
       for k in KINDS},
    "dqn": TrainPath("patch-step", _dqn, _fields(dqn.SCALES, "env_batch", "batch_episodes", "train_every", "t_max",
                                                 "tools", "stop_action", "double", "reward")),
    "joint": TrainPath("step", _joint, _fields(joint.SCALES, "batch", "spec")),
    **{f"baseline-{name}": TrainPath("step", _baseline(name), _fields(baselines.SCALES, "batch", "crop"))
       for name in baselines.ARCHS},
    "hirl": TrainPath("step", _hirl, _fields(hirl.SCALES, "env_batch", "max_len", "t_batch", "arch", "reward")),
    "pixelrl-pretrain": TrainPath("step", _pixelrl_pretrain, _fields(pixelrl.SCALES, "batch", "crop", "width",
                                                                     "channels")),
    "pixelrl": TrainPath("episode", _pixelrl, _fields(pixelrl.SCALES, "batch", "crop", "t_max", "width", "channels",
                                                      "gru", "rmc")),
    "label-free": TrainPath("iteration", _label_free, _fields(label_free.SCALES, "batch", "group", "t_max", "epochs",
                                                              "scorer", "baseline")),
    "quality-net": TrainPath("step", _quality, _fields(quality_net.SCALES, "batch", "chain_fraction")),
}


# ----------------------------------------------------------------------------- what each chapter trains
def _tools_units(specs: tuple[ToolSpec, ...], scale: str) -> dict[str, int]:
    cfg, units = TOOLBOX_SCALES[scale], {}
    for s in specs:
        key = f"tool-{'small' if s.depth == 3 else 'large'}-{s.distortion}"
        units[key] = units.get(key, 0) + cfg["small_steps" if s.depth == 3 else "large_steps"]
    return units


def _ch4(scale: str) -> dict[str, int]:
    ablation = dqn.agent_config("ablation-base", scale).steps
    return {"dqn": dqn.SCALES[scale].steps + len(dqn.ABLATIONS) * ablation}


@dataclass(frozen=True)
class Chapter:
    """What a chapter (or a script that a chapter's shipped model comes from) trains: ``units(scale)`` maps paths
    to their number of units; ``what`` says it in words."""

    label: str
    what: str
    units: Callable[[str], dict[str, int]]
    script: bool = False


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("2. The toolbox", "the 12 tools", lambda s: _tools_units(TOOL_SPECS, s)),
    Chapter("4. The RL-Restore agent", f"the agent and its {len(dqn.ABLATIONS)} ablations", _ch4),
    Chapter("5. Joint training and baselines", "joint fine-tuning, VDSR, VDSR-s, DnCNN",
            lambda s: {"joint": joint.SCALES[s].steps,
                       **{f"baseline-{n}": baselines.SCALES[s].steps for n in baselines.ARCHS}}),
    Chapter("6. HIRL", "the agent", lambda s: {"hirl": hirl.SCALES[s].steps}),
    Chapter("7. PixelRL", "the supervised start and the agent",
            lambda s: {"pixelrl-pretrain": pixelrl.SCALES[s].pretrain_steps, "pixelrl": pixelrl.SCALES[s].episodes}),
    Chapter("8. Label-free agents", "the agent", lambda s: {"label-free": label_free.SCALES[s].iters}),
    Chapter("6. HIRL (`train_hirl.py --part tools`)", "HIRL's 9 tools", lambda s: _tools_units(HIRL_TOOLS, s),
            script=True),
    Chapter("8. Label-free (`train_quality.py`)", "the quality network",
            lambda s: {"quality-net": quality_net.SCALES[s].steps}, script=True),
)
