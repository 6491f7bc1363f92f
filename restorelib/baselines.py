"""Single-network baselines of chapter 5: VDSR, VDSR-s and DnCNN, trained on the same images and distortions.

RL-Restore's claim is that a chain of small tools picked per image matches one large network at a fraction of the
cost. The baselines (all residual: they predict the correction added to the input):

* **VDSR** (Kim et al., 2016): 20 3x3 convolutions of 64 channels, ReLU between, 668,227 parameters and 2.65 G
  multiply-adds per 63x63 patch, as in RL-Restore's Table 2;
* **VDSR-s**: RL-Restore's slim VDSR, 15 layers of 42 channels (209,247 parameters), about the agent plus its tools;
* **DnCNN** (Zhang et al., 2017): 17 layers of 64 channels with batch normalisation in the 15 middle ones (558,403
  parameters; RL-Restore's own DnCNN has 20 layers).

They train on 63x63 patches of the embedded training photos degraded on the fly by ``cfg.spec`` (RL-Restore's
*moderate* group, as the agent), with Adam and a cosine learning-rate decay, and ship as
``restorelib/weights/baselines/NAME`` (``model.pt``, ``record.json``, README card); the ``vdsr``, ``vdsr-s`` and
``dncnn`` methods of ``evaluate`` load them.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import get_device, weights_dir
from .degradations import degrade
from .metrics import psnr
from .patches import augment
from .tools import count_macs, count_params, load_state, write_checkpoint
from .training import PatchTrainConfig, PatchTrainRecord

BASELINES_DIR: Path = weights_dir() / "baselines"


class PlainResidualCNN(nn.Module):
    """``depth`` 3x3 convolutions of ``width`` channels (ReLU between, batch norm in the middle ones when ``bn``)
    predicting a residual: (N, 3, H, W) in [0, 1] -> input + correction. VDSR, VDSR-s and DnCNN are instances."""

    def __init__(self, depth: int = 20, width: int = 64, bn: bool = False) -> None:
        super().__init__()
        if depth < 2 or width < 1:
            raise ValueError(f"depth must be >= 2 and width >= 1, got {depth} and {width}")
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=not bn)]
            layers += [nn.BatchNorm2d(width), nn.ReLU()] if bn else [nn.ReLU()]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        nn.init.zeros_(layers[-1].weight)                  # start as the identity, as the tools do
        nn.init.zeros_(layers[-1].bias)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


#: name -> (depth, width, batch norm)
ARCHS: dict[str, tuple[int, int, bool]] = {"vdsr": (20, 64, False), "vdsr-s": (15, 42, False),
                                            "dncnn": (17, 64, True)}


def build_baseline(name: str) -> PlainResidualCNN:
    """A fresh baseline network by name (``vdsr``, ``vdsr-s``, ``dncnn``)."""
    if name not in ARCHS:
        raise ValueError(f"name must be one of {sorted(ARCHS)}, got {name!r}")
    depth, width, bn = ARCHS[name]
    return PlainResidualCNN(depth, width, bn)


@dataclass
class BaselineConfig(PatchTrainConfig):
    """Training of a baseline (see SCALES)."""

    steps: int = 100_000
    batch: int = 64
    log_every: int = 100


SCALES: dict[str, BaselineConfig] = {
    "paper": BaselineConfig(),
    "book": BaselineConfig(steps=3_000, batch=32),
    "ci": BaselineConfig(steps=3, batch=4, log_every=1),
}


BaselineRecord = PatchTrainRecord


def train_baseline(net: nn.Module, bank: torch.Tensor, cfg: BaselineConfig, device: torch.device | str | None = None,
                   log: Callable | None = None) -> BaselineRecord:
    """Train ``net`` on patches of ``bank`` (P, 3, H, W) in [0, 1] degraded by ``cfg.spec``, MSE loss. Chapter 5."""
    dev = get_device(device)
    net.to(dev).train()
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr * 0.05)
    rec, t0 = BaselineRecord(), time.perf_counter()
    for step in range(1, cfg.steps + 1):
        clean = augment(bank[torch.randint(len(bank), (cfg.batch,), generator=g)], g)
        x, y = degrade(clean, cfg.spec, generator=g)[0].to(dev), clean.to(dev)
        out = net(x)
        loss = F.mse_loss(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)      # VDSR's 20 plain layers need it at this rate
        opt.step()
        sched.step()
        gain = (psnr(out.detach().clamp(0, 1), y) - psnr(x, y)).mean().item()
        if rec.add(step, loss.item(), gain, cfg) and log:
            log(f"[baseline] step {step}: loss {rec.losses[-1]:.5f}, PSNR gain {rec.psnr_gain[-1]:+.2f} dB, "
                f"{time.perf_counter() - t0:.0f} s", flush=True)
    rec.seconds = time.perf_counter() - t0
    net.eval()
    return rec


def save_baseline(net: nn.Module, name: str, cfg: BaselineConfig, rec: BaselineRecord, folder: str | Path,
                  command: str, scale: str, device: torch.device | str = "cpu") -> Path:
    """Write ``model.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curves, size) and a card."""
    folder = Path(folder)
    params, macs = count_params(net), count_macs(net.eval(), (1, 3, 63, 63))
    write_checkpoint(net, folder, "model.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, model=name, params=params, macs_63=macs,
                     curve={"steps": rec.steps, "loss": rec.losses, "psnr_gain_db": rec.psnr_gain})
    gain = f"{rec.psnr_gain[-1]:+.2f} dB" if rec.psnr_gain else "n/a"
    (folder / "README.md").write_text(
        f"# Baseline `{name}` ({scale} scale)\n\nProduced by `{command}` ({rec.seconds / 60:.1f} min). "
        f"{params:,} parameters, {macs / 1e9:.3f} G multiply-adds per 63x63 patch. Trained on `{cfg.spec}` patches "
        f"of the embedded training photos: `{json.dumps(cfg.to_dict())}`. PSNR gain on the last training batches: "
        f"{gain}. The sha256 of `model.pt` in `record.json` is checked on load (chapter 5).\n")
    return folder / "record.json"


def load_baseline(name: str | Path, device: torch.device | str = "cpu") -> tuple[PlainResidualCNN, dict]:
    """A trained baseline (a shipped name or a folder with ``record.json``), sha256-checked, ``weights_only``."""
    folder = Path(name) if Path(name).is_dir() else BASELINES_DIR / str(name)
    if not (folder / "record.json").is_file():
        shipped = sorted(p.parent.name for p in BASELINES_DIR.glob("*/record.json")) if BASELINES_DIR.is_dir() else []
        raise FileNotFoundError(f"baseline must be one of {shipped} or a folder with record.json, got {str(name)!r}; "
                                f"train one with `python scripts/train_baseline.py --model NAME`")
    record = json.loads((folder / "record.json").read_text())
    net = build_baseline(record["model"])
    load_state(net, folder / record["file"], record["sha256"])
    return net.to(device).eval(), record


class BaselineMethod:
    """A trained baseline as an :func:`restorelib.evaluate.evaluate` method: one forward pass per image."""

    def __init__(self, name: str | Path, device: torch.device | str = "cpu") -> None:
        self.net, self.record = load_baseline(name, device)
        self.name, self.params = self.record["model"], count_params(self.net)
        self.device = next(self.net.parameters()).device
        self._macs_per_pixel = self.record["macs_63"] / (63 * 63)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object):
        from .evaluate import Restored
        out = self.net(degraded.to(self.device)).clamp(0, 1)
        n, _, h, w = degraded.shape
        return Restored(out, [1] * n, [round(self._macs_per_pixel * h * w)] * n, [[self.name] for _ in range(n)])


__all__ = ["ARCHS", "BaselineConfig", "BaselineMethod", "PlainResidualCNN", "SCALES", "build_baseline",
           "load_baseline", "save_baseline", "train_baseline"]
