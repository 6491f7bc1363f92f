"""What PixelRL is measured against in chapter 7: classical filters and a supervised CNN with PixelRL's layers.

* :func:`filter_sweep` applies each of the nine actions' filters to *every* pixel, 1 to ``t_max`` times: the best
  of them is "the best single classical filter" of the chapter's tables (chosen on the test images, so an oracle
  choice, which flatters it).
* :class:`Denoiser` is the supervised twin of :class:`~restorelib.pixelrl.nets.PixelRLNet`: its shared trunk (dilations
  1, 2, 3, 4), the dilation-3 and -2 convs of a branch and a 3x3 conv to the residual (IRCNN's dilation pattern).
  :func:`train_denoiser` trains it on MSE; PixelRL starts from such a network (the paper from DnCNN), and trained on
  the task itself for as many updates as PixelRL gets, it is our "supervised CNN on the same budget".
* :func:`degraded_pairs` degrades a test set with a fixed seed, the same way for every method of a table.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.validation import check_images
from ..core.config import get_device, weights_dir
from ..core.long_runs import Progress
from ..core.metrics import psnr
from ..core.patches import CropSampler
from .nets import PixelRLNet
from .training import _check_bank, draw_crops
from .actions import ACTIONS, Task, filter_bank, make_task, to_gray

TEST_SEED = 1234
FILTERS = tuple(a for a in ACTIONS if a not in ("pixel -1", "do nothing", "pixel +1"))


def degraded_pairs(images: dict[str, torch.Tensor], task: str | Task, size: int = 0, seed: int = TEST_SEED
                   ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (clean, degraded)}``, each (1, 1, H, W) in [0, 1]: grayscale ``images`` ((C, H, W) each), centre-
    cropped to ``size`` (0: whole), degraded by ``task`` with one generator seeded ``seed`` in the dict's order."""
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be 0 (whole images) or a positive int, got {size!r}")
    degrade_fn, g, pairs = make_task(task), torch.Generator().manual_seed(seed), {}
    for name, img in images.items():
        img = to_gray(img)
        if size:
            h, w = img.shape[-2:]
            y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
            img = img[:, y:y + size, x:x + size]
        clean = img[None]
        pairs[name] = (clean, degrade_fn(clean, g))
    return pairs


@torch.no_grad()
def filter_sweep(degraded: torch.Tensor, clean: torch.Tensor, t_max: int = 5, backend: str = "auto"
                 ) -> dict[str, list[float]]:
    """PSNR (dB) after each filter of :data:`FILTERS` applied to the whole image 1..``t_max`` times.

    degraded, clean: (N, C, H, W) in [0, 1]. Returns ``{filter: [PSNR after 1 pass, ..., after t_max passes]}``,
    each the mean over the N images. Chapter 7.
    """
    check_images(degraded, "degraded", min_size=3)
    check_images(clean, "clean", min_size=3)
    if degraded.shape != clean.shape:
        raise ValueError(f"degraded and clean must have the same shape, got {tuple(degraded.shape)} and "
                         f"{tuple(clean.shape)}")
    if not isinstance(t_max, int) or isinstance(t_max, bool) or t_max < 1:
        raise ValueError(f"t_max must be a positive int, got {t_max!r}")
    out: dict[str, list[float]] = {}
    for name in FILTERS:
        k, x = ACTIONS.index(name), degraded
        out[name] = []
        for _ in range(t_max):
            x = filter_bank(x, backend)[:, k]        # all nine are computed; the cv2 path makes that cheap
            out[name].append(psnr(x, clean).mean().item())
    return out


def best_filter(sweeps: list[dict[str, list[float]]]) -> tuple[str, int, float]:
    """The (filter, passes, mean PSNR) with the best PSNR averaged over images, from one :func:`filter_sweep` each."""
    if not sweeps:
        raise ValueError("sweeps must hold at least one filter_sweep result")
    means = {(f, t + 1): sum(s[f][t] for s in sweeps) / len(sweeps)
             for f in sweeps[0] for t in range(len(sweeps[0][f]))}
    (name, passes), value = max(means.items(), key=lambda kv: kv[1])
    return name, passes, value


class Denoiser(nn.Module):
    """A residual CNN with PixelRL's layers: x (N, C, H, W) in [0, 1] -> x - noise estimate, same shape. Chapter 7."""

    def __init__(self, in_channels: int = 1, width: int = 64) -> None:
        super().__init__()
        twin = PixelRLNet(in_channels, width=width, gru=False)    # built as PixelRL's, so the layers match
        self.trunk, self.head = twin.trunk, twin.v_head
        self.out = nn.Conv2d(width, in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.out(self.head(self.trunk(x)))


def train_denoiser(clean_bank: torch.Tensor, task: str | Task = "noise:15", steps: int = 1000, batch: int = 16,
                   crop: int = 48, lr: float = 1e-3, device: torch.device | str | None = None, seed: int = 0,
                   model: Denoiser | None = None, log: Callable[[str], None] | None = None,
                   progress: bool | str = False) -> tuple[Denoiser, list[float], float]:
    """Train a :class:`Denoiser` (``model``, or a new one) for ``steps`` Adam steps of MSE on random crops of
    clean_bank (P, C, H, W) in [0, 1] (or of a :class:`~restorelib.core.patches.CropSampler`), degraded by ``task`` on the
    fly; ``progress``: a bar with an ETA (:class:`restorelib.core.long_runs.Progress`). Returns (model, loss per step,
    seconds)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    dev = get_device(device)
    model = (model or Denoiser(clean_bank.shape[1] if isinstance(clean_bank, torch.Tensor) else 1)).to(dev)
    channels = model.out.out_channels
    bank, degrade_fn = _check_bank(clean_bank, channels, crop), make_task(task)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, t0 = [], time.perf_counter()
    model.train()
    bar = Progress(progress, steps, 0, "denoiser steps")
    for step in range(steps):
        clean = draw_crops(bank, batch, crop, channels, g)
        noisy = degrade_fn(clean, g)
        loss = F.mse_loss(model(noisy.to(dev)), clean.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.update_to(step + 1)
        if log and (step + 1) % 100 == 0:
            log(f"[denoiser] step {step + 1}: MSE {sum(losses[-100:]) / 100:.5f}, {time.perf_counter() - t0:.0f} s")
    bar.close()
    return model.eval(), losses, time.perf_counter() - t0


@torch.no_grad()
def denoise(model: Denoiser, image: torch.Tensor) -> torch.Tensor:
    """model applied to image (N, C, H, W) in [0, 1] -> (N, C, H, W), clipped to [0, 1]."""
    check_images(image, "image", channels=model.out.out_channels, min_size=3)
    return model(image.to(next(model.parameters()).device)).clamp(0, 1)


#: The paper's BSD68 tables (Furuta et al. 2019, Tables 2-4), PSNR in dB, for the chapter's side-by-side tables.
#: Keys: noise sigma 15 / 25 / 50, salt-and-pepper density 0.1 / 0.5 / 0.9, and "text" (blind inpainting, t_max 15).
PAPER = {
    "gaussian": {"BM3D": (31.07, 28.57, 25.62), "DnCNN": (31.63, 29.15, 26.19), "PixelRL FCN": (31.17, 28.75, 25.78),
                 "PixelRL +convGRU": (31.26, 28.83, 25.87), "PixelRL +convGRU +RMC": (31.40, 28.85, 25.88)},
    "saltpepper": {"DnCNN": (40.16, 29.19, 23.58), "PixelRL FCN": (36.51, 27.91, 22.73),
                   "PixelRL +convGRU": (37.86, 29.26, 23.54), "PixelRL +convGRU +RMC": (38.46, 29.78, 23.78)},
    "text": {"Net-D and Net-E": 29.53, "DnCNN": 29.75, "PixelRL +convGRU": 29.50, "PixelRL +convGRU +RMC": 29.97},
    # supplementary Table 7: Poisson noise, peaks 120 / 30 / 10 ("CNN (Zhang et al. 2017)" is DnCNN)
    "poisson": {"DnCNN": (31.62, 28.20, 25.93), "PixelRL FCN": (31.17, 27.84, 25.55),
                "PixelRL +convGRU": (31.28, 27.94, 25.64), "PixelRL +convGRU +RMC": (31.37, 27.95, 25.70)},
    # supplementary Table 8: Gaussian sigma 15 / 25 / 50 by action set (keys of actions.ACTION_SETS); its "all" row
    # equals the +convGRU agent of Table 2, so the study's agents had no RMC
    "actions": {"basic": (29.82, 27.60, 25.20), "bilateral": (29.93, 27.81, 25.30), "pixel": (30.72, 28.25, 25.59),
                "all": (31.26, 28.83, 25.87)},
}


def pretrain_shared(net: PixelRLNet, clean_bank: torch.Tensor | CropSampler, task: str | Task = "noise:15",
                    steps: int = 1000, batch: int = 16, crop: int = 48, lr: float = 1e-3,
                    device: torch.device | str | None = None, seed: int = 0,
                    progress: bool | str = False) -> list[float]:
    """Initialise ``net`` from a supervised residual denoiser with the same layers (the paper starts from DnCNN).

    The denoiser is the trunk, a dilation-3 and a dilation-2 conv and a 3x3 conv to the noise (IRCNN's dilations
    1, 2, 3, 4, 3, 2, 1); after ``steps`` Adam steps on MSE its trunk is copied into ``net.trunk`` and its two
    dilated convs into both branches (as the authors did), the last layers and the convGRU stay as they are.
    clean_bank: (P, C, H, W) in [0, 1], or a :class:`~restorelib.core.patches.CropSampler`. ``progress``: a bar with an
    ETA (:class:`restorelib.core.long_runs.Progress`). Returns the loss per step. Chapter 7.
    """
    dev = get_device(device)
    twin = Denoiser(net.in_channels, net.width).to(dev)
    twin.trunk.load_state_dict(net.trunk.state_dict())
    twin, losses, _ = train_denoiser(clean_bank, task, steps, batch, crop, lr, dev, seed, model=twin, progress=progress)
    net.trunk.load_state_dict(twin.trunk.state_dict())
    net.pi_head.load_state_dict(twin.head.state_dict())
    net.v_head.load_state_dict(twin.head.state_dict())
    return losses


def load_baselines(path: str | None = None) -> dict:
    """The tables written by ``scripts/eval_pixelrl.py`` (default: the shipped ``weights/pixelrl/baselines.json``):
    ``{task: {"input", "agents": {name: {"psnr", ...}}, "best_filter", "filters", "supervised", "command", ...}}``."""
    file = Path(path) if path else weights_dir() / "pixelrl" / "baselines.json"
    if not file.is_file():
        raise FileNotFoundError(f"path must be a file written by scripts/eval_pixelrl.py, got {str(file)!r}")
    return json.loads(file.read_text())["tasks"]
