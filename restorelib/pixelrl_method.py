"""Trained PixelRL agents as an ``evaluate`` / ``restore`` method (chapter 7): ``pixelrl[:MODEL]``.

``MODEL`` is a shipped agent of ``restorelib/weights/pixelrl`` (e.g. ``noise25-gru-rmc``, the default) or a folder
with ``record.json``, as written by ``scripts/train_pixelrl.py``. The model name says the task it was trained for:
``noise25-...`` Gaussian denoising at sigma 25, ``saltpepper0.5-...`` salt-and-pepper noise, ``text-...`` blind
inpainting; pick the model that matches the ``--distortion`` you evaluate.

The paper's agents work on grayscale images; colour images are restored one channel at a time, as the authors do,
so a gray image replicated to RGB gives exactly the grayscale result. Every pixel takes ``t_max`` actions
(``--max-length`` overrides the trained ``t_max``); ``tool_calls`` counts those steps, ``macs`` the network's
multiply-adds over them (the nine filters, a few operations per pixel each, are not counted).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ._checks import check_images
from .config import weights_dir
from .pixelrl import ACTIONS, N_ACTIONS, action_counts, load_pixelrl, pixelrl_restore
from .tools import count_macs, count_params

PIXELRL_DIR: Path = weights_dir() / "pixelrl"
DEFAULT_MODEL = "noise25-gru-rmc"


def shipped_pixelrl() -> list[str]:
    """Names of the PixelRL agents shipped in ``restorelib/weights/pixelrl``."""
    return sorted(p.parent.name for p in PIXELRL_DIR.glob("*/record.json")) if PIXELRL_DIR.is_dir() else []


def pixelrl_folder(name: str | Path) -> Path:
    """The folder of a shipped agent name or of a given folder; FileNotFoundError names the choices."""
    folder = Path(name) if Path(name).is_dir() else PIXELRL_DIR / str(name)
    if not (folder / "record.json").is_file():
        raise FileNotFoundError(f"model must be one of {shipped_pixelrl()} or a folder with record.json, got "
                                f"{str(name)!r}; train one with `python scripts/train_pixelrl.py`")
    return folder


class PixelRLMethod:
    """``pixelrl[:MODEL]`` for :func:`restorelib.evaluate.evaluate` and ``restore`` (module docstring). Chapter 7."""

    def __init__(self, model: str | Path = DEFAULT_MODEL, device: torch.device | str = "cpu",
                 t_max: int | None = None) -> None:
        folder = pixelrl_folder(model)
        self.net, self.cfg = load_pixelrl(folder, device)
        self.record = json.loads((folder / "record.json").read_text())
        self.t_max = self.cfg.t_max if t_max is None else t_max
        if not isinstance(self.t_max, int) or isinstance(self.t_max, bool) or not 1 <= self.t_max <= 20:
            raise ValueError(f"max_length must be an int in 1..20 (PixelRL's steps), got {t_max!r}")
        self.name = f"pixelrl:{folder.name}(t={self.t_max})"
        self.params = count_params(self.net)
        self.device = next(self.net.parameters()).device
        self.last_counts: torch.Tensor | None = None
        self.pixels_per_chunk = 1 << 19                            # about 0.5 M pixels (three 481x321 channels)
        self._macs_per_pixel = count_macs(self.net, (1, self.cfg.channels, 32, 32)) / (32 * 32)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object):
        """degraded (N, C, H, W) in [0, 1] -> Restored; each channel is restored on its own."""
        from .evaluate import Restored
        check_images(degraded, "degraded", min_size=3)
        n, c, h, w = degraded.shape
        flat = degraded.reshape(n * c, 1, h, w)
        # whole photos: a few channels at a time, so memory stays bounded (64 feature maps per pixel and step)
        k = max(1, self.pixels_per_chunk // (h * w))
        outs, counts = [], torch.zeros(self.t_max, N_ACTIONS)
        for i in range(0, n * c, k):
            o, maps = pixelrl_restore(self.net, flat[i:i + k].to(self.device), self.t_max)
            outs.append(o.cpu())
            counts += action_counts(maps) * len(o)
        out = torch.cat(outs)
        self.last_counts = counts / (n * c)                        # (t_max, 9) shares of the pixels, for reports
        macs = round(self._macs_per_pixel * h * w * c * self.t_max)
        return Restored(out.reshape(n, c, h, w), [self.t_max] * n, [macs] * n, [[] for _ in range(n)],
                        [self.t_max] * n)


def describe_actions(counts: torch.Tensor, top: int = 3) -> list[str]:
    """One line per step naming the ``top`` actions and their share of the pixels, from (t_max, 9) counts."""
    lines = []
    for t, row in enumerate(counts):
        best = row.argsort(descending=True)[:top].tolist()
        lines.append(f"step {t + 1}: " + ", ".join(f"{ACTIONS[a]} {row[a]:.0%}" for a in best))
    return lines


def pixelrl_factory(arg: str, device: torch.device | str, max_length: int | None = None,
                    **_: object) -> PixelRLMethod:
    """The ``pixelrl[:MODEL]`` method for :func:`restorelib.evaluate.register_method`; ``max_length`` is the number of
    steps (``--max-length``, default the trained ``t_max``)."""
    return PixelRLMethod(arg or DEFAULT_MODEL, device, t_max=max_length)


__all__ = ["DEFAULT_MODEL", "PixelRLMethod", "describe_actions", "pixelrl_factory", "pixelrl_folder", "shipped_pixelrl"]
