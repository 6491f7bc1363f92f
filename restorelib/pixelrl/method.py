"""Trained PixelRL agents as an ``evaluate`` / ``restore`` method (chapter 7): ``pixelrl[:MODEL]``.

``MODEL`` is a shipped agent of ``restorelib/weights/pixelrl`` (``noise25-gru-rmc``, the default, or one of the
agents of chapter 7's tables, trained on Train400: ``noise15|25|50-gru-rmc-t400``, ``saltpepper0.5|0.9-gru-rmc-t400``,
``text-gru-rmc-t400`` and the ablation's ``noise25-gru-t400`` and ``noise25-fcn-t400``) or a folder with
``record.json``, as written by ``scripts/train_pixelrl.py``. The model name says the task it was trained for:
``noise25-...`` Gaussian denoising at sigma 25, ``saltpepper0.5-...`` salt-and-pepper noise, ``text-...`` blind
inpainting; pick the model that matches the ``--distortion`` you evaluate (``--distortion text`` is not a
degradation spec: evaluate text inpainting with ``scripts/eval_pixelrl.py``).

The paper's agents work on grayscale images; colour images are restored one channel at a time, as the authors do,
so a gray image replicated to RGB gives exactly the grayscale result. Every pixel takes ``t_max`` actions
(``--max-length`` overrides the trained ``t_max``); ``tool_calls`` counts those steps, ``macs`` the network's
multiply-adds over them (the nine filters, a few operations per pixel each, are not counted).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

import torch

from ..core.validation import check_images
from ..core.config import get_device, weights_dir
from .a2c import (
    ACTIONS, N_ACTIONS, SCALES, PixelRLConfig, PixelRLNet, action_counts, build_pixelrl, pixelrl_restore,
    train_pixelrl)
from ..core.artifacts import ArtifactKind, load_or_train
from .actions import resolve_backend
from ..core.method import Capabilities, OptionError, Restored, register_method
from ..toolbox.tools import count_macs, count_params

PIXELRL_DIR: Path = weights_dir() / "pixelrl"
DEFAULT_MODEL = "noise25-gru-rmc"
#: The target of :func:`time_inference`: the whole inference within this many times the network's forwards alone.
INFERENCE_GOAL = 1.2


#: Chapter 7's agents on disk (``PIXELRL_DIR`` read on each use).
PIXELRL_MODELS = ArtifactKind(folder=lambda: PIXELRL_DIR, config_cls=PixelRLConfig, build=build_pixelrl,
                              default=DEFAULT_MODEL, what="model", hint="train one with `python scripts/train_pixelrl.py`")


def shipped_pixelrl() -> list[str]:
    """Names of the PixelRL agents shipped in ``restorelib/weights/pixelrl``."""
    return PIXELRL_MODELS.shipped()


def pixelrl_folder(name: str | Path) -> Path:
    """The folder of a shipped agent name or of a given folder; FileNotFoundError names the choices."""
    return PIXELRL_MODELS.resolve(name)


class PixelRLMethod:
    """``pixelrl[:MODEL]`` for :func:`restorelib.core.evaluation.evaluate` and ``restore`` (module docstring). Chapter 7."""

    def __init__(self, model: str | Path = DEFAULT_MODEL, device: torch.device | str = "cpu",
                 t_max: int | None = None) -> None:
        folder = pixelrl_folder(model)
        self.net, self.cfg, self.record = PIXELRL_MODELS.load(folder, device)
        self.t_max = self.cfg.t_max if t_max is None else t_max
        if not isinstance(self.t_max, int) or isinstance(self.t_max, bool) or not 1 <= self.t_max <= 20:
            raise OptionError("max_length", f"max_length must be an int in 1..20 (PixelRL's steps), got {t_max!r}")
        self.can = Capabilities(steps=self.t_max, per_pixel=True)
        self.name = f"pixelrl:{folder.name}(t={self.t_max})"
        self.params = count_params(self.net)
        self.device = next(self.net.parameters()).device
        self.last_counts: torch.Tensor | None = None
        self.pixels_per_chunk = 1 << 19                            # about 0.5 M pixels (three 481x321 channels)
        self._macs_per_pixel = count_macs(self.net, (1, self.cfg.channels, 32, 32)) / (32 * 32)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        """degraded (N, C, H, W) in [0, 1] -> Restored; each channel is restored on its own."""
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


def get_pixelrl(profile, bank: torch.Tensor | None = None, task: str = "noise:25", name: str = DEFAULT_MODEL,
                device: torch.device | str = "cpu", log: Callable[[str], None] | None = None,
                progress: bool | str = False) -> tuple[PixelRLNet, PixelRLConfig, dict]:
    """Chapter 7's agent at the active scale: trained here on ``bank`` (P, C, H, W) for ``task`` when
    ``profile.train`` (CI: seconds; gpu: minutes on a Colab T4; paper: hours), else the shipped agent ``name``.
    Where ``profile.long_runs`` the run shows progress bars and keeps its state in
    :func:`restorelib.core.long_runs.run_checkpoint`'s folder (it resumes). Returns (net, config, record with
    ``seconds``, ``command``, ``task`` and ``curve``)."""
    def train(cfg: PixelRLConfig, **run: object) -> tuple[PixelRLNet, PixelRLConfig, dict]:
        net, rec = train_pixelrl(bank, task, cfg, device=device, log=log, **run)
        return net, cfg, {"seconds": rec.seconds, "command": f"train_pixelrl at {profile.name} scale", "task": task,
                          "curve": rec.curve()}
    return load_or_train(profile, bank, lambda: PIXELRL_MODELS.load(name, device), train, config=SCALES.__getitem__,
                         run=f"pixelrl-{task.replace(':', '')}", inputs=(bank,), progress=progress,
                         shape="(P, C, H, W)")


@torch.no_grad()
def time_inference(net: PixelRLNet, size: tuple[int, int] = (321, 481), t_max: int = 5, repeats: int = 5,
                   device: torch.device | str | None = None, torch_filters: bool = False) -> dict:
    """Median seconds of ``t_max`` steps of :func:`~restorelib.pixelrl.a2c.pixelrl_restore` on one random gray image of
    ``size`` (H, W) and of the ``t_max`` network forwards alone (with the convGRU state); ``ratio`` = the first over
    the second, the cost of inference against the network's (goal <= 1.2). Chapter 7.

    Inference runs only the policy branch (:meth:`~restorelib.pixelrl.nets.PixelRLNet.policy`), so ``policy_s`` (its
    ``t_max`` forwards) and ``actions_ratio`` (inference over them: what sampling, the filters and the gather add)
    are reported too. ``torch_filters``: also time inference with the torch filters (``torch_inference_s``,
    ``torch_ratio``), as an install without OpenCV runs them. The timings take turns within each repeat, so a
    machine whose load changes slows them alike."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    dev = get_device(device)
    net = net.to(dev).eval()
    x = torch.rand(1, net.in_channels, *size, generator=torch.Generator().manual_seed(0)).to(dev)

    def forwards(step: Callable) -> Callable[[], None]:
        def run() -> None:
            h = None
            for _ in range(t_max):
                h = step(x, h)[-1]
        return run

    fns = {"network": forwards(net), "policy": forwards(net.policy),
           "inference": lambda: pixelrl_restore(net, x, t_max)}
    if torch_filters:
        fns["torch_inference"] = lambda: pixelrl_restore(net, x, t_max, backend="torch")
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()                                         # warm-up
    for _ in range(repeats):
        for key, fn in fns.items():
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if dev.type == "cuda":                   # GPU work is asynchronous: wait for it before reading the clock
                torch.cuda.synchronize()
            runs[key].append(time.perf_counter() - t0)
    t = {k: statistics.median(v) for k, v in runs.items()}
    out = {"device": str(dev), "size": list(size), "t_max": t_max, "backend": resolve_backend("auto", x),
           "threads": torch.get_num_threads(), "repeats": repeats, "network_s": round(t["network"], 6),
           "policy_s": round(t["policy"], 6), "inference_s": round(t["inference"], 6),
           "ratio": round(t["inference"] / t["network"], 3), "actions_ratio": round(t["inference"] / t["policy"], 3)}
    if torch_filters:
        out.update(torch_inference_s=round(t["torch_inference"], 6),
                   torch_ratio=round(t["torch_inference"] / t["network"], 3))
    return out


def pixelrl_factory(arg: str, device: torch.device | str, max_length: int | None = None,
                    **_: object) -> PixelRLMethod:
    """The ``pixelrl[:MODEL]`` method (registered below); ``max_length`` is the number of steps (``--max-length``,
    default the trained ``t_max``)."""
    return PixelRLMethod(arg or DEFAULT_MODEL, device, t_max=max_length)


register_method("pixelrl", pixelrl_factory, "per-pixel agents (chapter 7); pixelrl:MODEL picks a shipped model "
                "(noise25-gru-rmc by default) or a folder; --max-length sets the steps")


__all__ = ["DEFAULT_MODEL", "INFERENCE_GOAL", "PIXELRL_MODELS", "PixelRLMethod", "describe_actions", "get_pixelrl",
           "pixelrl_factory", "pixelrl_folder", "shipped_pixelrl", "time_inference"]
