"""Evaluating restoration methods on image sets: the engine behind ``python -m restorelib evaluate``.

A *method* turns degraded images into restored ones and says what it spent (tool calls, multiply-adds).
Chapters register theirs with :func:`register_method`; this module knows ``identity`` and ``tool:NAME``.
Every image is degraded with a generator seeded by ``(seed, image index)``, so a result depends on the seed and
the image list only, never on which method ran before.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from .config import get_device
from .data import to_rgb
from .degradations import degrade, parse_spec
from .metrics import psnr, ssim
from .patches import random_patches


@dataclass
class Restored:
    """A method's output for a batch: images (N, 3, H, W) in [0, 1], and per image its cost and chain."""

    images: torch.Tensor
    tool_calls: list[int]
    macs: list[int]
    chains: list[list[str]] = field(default_factory=list)


class Method(Protocol):
    """What :func:`evaluate` needs of a method. ``clean`` and ``levels`` are for oracles (e.g. greedy search)."""

    name: str
    params: int

    def restore(self, degraded: torch.Tensor, *, clean: torch.Tensor | None = None,
                levels: list[dict[str, float]] | None = None) -> Restored: ...


class Identity:
    """Return the degraded image unchanged: the baseline every method must beat."""

    name, params = "identity", 0

    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        n = degraded.shape[0]
        return Restored(degraded, [0] * n, [0] * n, [[] for _ in range(n)])


class SingleTool:
    """Apply one tool of the toolbox (``tool:NAME``) once."""

    def __init__(self, tool: str, toolbox: "object | None" = None, device: torch.device | str = "cpu") -> None:
        from .tools import Toolbox, count_params
        self.toolbox = toolbox if toolbox is not None else Toolbox.load(device=device)
        self.index = self.toolbox.index(tool)
        self.name = f"tool:{tool}"
        self.params = count_params(self.toolbox.nets[self.index])
        self._mpp = self.toolbox.macs(self.index, (1, 3, 32, 32)) / (32 * 32)   # same-padded convs: MACs ∝ pixels

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        n, _, h, w = degraded.shape
        out = self.toolbox.apply(degraded, self.index)
        name = self.toolbox.names[self.index]
        return Restored(out, [1] * n, [round(self._mpp * h * w)] * n, [[name] for _ in range(n)])


MethodFactory = Callable[[str, torch.device], Method]
_METHODS: dict[str, tuple[MethodFactory, str]] = {}


def register_method(name: str, factory: MethodFactory, help: str = "") -> None:
    """Register ``factory(argument, device) -> Method`` under ``name``; ``name:ARG`` passes ``ARG``."""
    _METHODS[name] = (factory, help)


def method_names() -> dict[str, str]:
    """``{name: one-line help}`` of the registered methods."""
    return {k: h for k, (_, h) in sorted(_METHODS.items())}


def get_method(spec: str, device: torch.device | str | None = None) -> Method:
    """Build a method from ``spec`` such as ``identity`` or ``tool:noise-2``; ValueError naming ``method`` if unknown."""
    if not isinstance(spec, str):
        raise TypeError(f"method must be a string, got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    if name not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)} (tool:NAME with a tool name), got {spec!r}")
    return _METHODS[name][0](arg, get_device(device))


def _tool_factory(arg: str, device: torch.device) -> Method:
    from .tools import TOOL_NAMES
    if arg not in TOOL_NAMES:
        raise ValueError(f"method tool:NAME needs NAME in {list(TOOL_NAMES)}, got {arg!r}")
    return SingleTool(arg, device=device)


register_method("identity", lambda arg, device: Identity(), "the degraded input, unchanged")
register_method("tool", _tool_factory, "tool:NAME applies one tool of the toolbox once")


def _items(images: dict[str, torch.Tensor], patch: int | None, per_image: int,
           seed: int) -> list[tuple[str, torch.Tensor]]:
    if patch is None:
        return [(k, to_rgb(v)) for k, v in images.items()]
    if not isinstance(patch, int) or patch < 11:
        raise ValueError(f"patch must be an int >= 11 (SSIM needs 11x11), got {patch!r}")
    out = []
    for i, (k, v) in enumerate(images.items()):
        if min(v.shape[-2:]) < patch:
            raise ValueError(f"patch {patch} is larger than image {k!r} ({v.shape[-2]}x{v.shape[-1]})")
        g = torch.Generator().manual_seed(seed * 100_003 + i)
        crops = random_patches(to_rgb(v), per_image, patch, generator=g)
        out += [(f"{k}#{j}", c) for j, c in enumerate(crops)]
    return out


def evaluate(method: Method | str, images: dict[str, torch.Tensor], distortion: str, *, patch: int | None = None,
             patches_per_image: int = 1, seed: int = 0, device: torch.device | str | None = None,
             progress: bool = False) -> dict:
    """Degrade every image by ``distortion``, restore it with ``method`` and measure it.

    images: ``{name: (C, H, W) in [0, 1]}``; grayscale images are replicated to RGB. With ``patch`` each image
    contributes ``patches_per_image`` seeded random patch x patch crops instead. Returns the JSON-ready dict
    described in the README (``method``, ``distortion``, means of ``psnr_in/out``, ``ssim_in/out``,
    ``tool_calls``, ``macs``, plus ``params``, ``seconds`` and ``per_image``). Chapter 2.
    """
    if not isinstance(images, dict) or not images:
        raise ValueError("images must be a non-empty dict {name: (C, H, W) tensor}")
    if not isinstance(patches_per_image, int) or patches_per_image < 1:
        raise ValueError(f"patches_per_image must be a positive int, got {patches_per_image!r}")
    spec = parse_spec(distortion)
    device = get_device(device)
    method = get_method(method, device) if isinstance(method, str) else method
    items = _items(images, patch, patches_per_image, seed)
    if progress:
        from tqdm.auto import tqdm
        items = tqdm(items, desc=method.name, leave=False)
    rows = []
    for i, (name, clean) in enumerate(items):
        g = torch.Generator().manual_seed(seed * 1_000_003 + i)
        x = clean[None]
        y, levels = degrade(x, spec, generator=g)
        t0 = time.perf_counter()
        res = method.restore(y.to(device), clean=x.to(device), levels=levels)
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        out = res.images.detach().float().cpu().clamp(0, 1)
        rows.append({"image": name, "levels": levels[0],
                     "psnr_in": psnr(y, x).item(), "psnr_out": psnr(out, x).item(),
                     "ssim_in": ssim(y, x).item(), "ssim_out": ssim(out, x).item(),
                     "tool_calls": res.tool_calls[0], "macs": res.macs[0],
                     "chain": res.chains[0] if res.chains else [], "seconds": dt})
    mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {"method": method.name, "distortion": spec.text, "images": len(rows),
            "psnr_in": mean("psnr_in"), "psnr_out": mean("psnr_out"),
            "ssim_in": mean("ssim_in"), "ssim_out": mean("ssim_out"),
            "tool_calls": mean("tool_calls"), "params": method.params, "macs": mean("macs"),
            "seconds": sum(r["seconds"] for r in rows), "patch": patch, "seed": seed,
            "device": str(device), "per_image": rows}


GRID_LEVELS: dict[str, list[float]] = {
    # the midpoints of RL-Restore's 10 sub-intervals per distortion (JPEG qualities rounded)
    "blur": [0.25 + 0.5 * i for i in range(10)],
    "noise": [2.5 + 5 * i for i in range(10)],
    "jpeg": [90, 70, 55, 45, 38, 32, 28, 22, 18, 12],
}


@torch.no_grad()
def gain_matrix(toolbox: "object", clean: torch.Tensor, specs: list[str], seed: int = 0) -> torch.Tensor:
    """Mean PSNR gain of every tool on every single distortion: clean (N, 3, H, W) -> (tools, len(specs)) in dB.

    Each spec degrades the same clean batch with the same seed; a gain is PSNR(tool(y)) - PSNR(y). Chapter 2.
    """
    out = torch.empty(len(toolbox), len(specs))
    for j, spec in enumerate(specs):
        y, _ = degrade(clean, spec, generator=torch.Generator().manual_seed(seed))
        base = psnr(y, clean)
        dev = next(toolbox.parameters()).device
        for i in range(len(toolbox)):
            out[i, j] = (psnr(toolbox.apply(y.to(dev), i).cpu(), clean) - base).mean()
    return out


def summary(result: dict) -> str:
    """A short human-readable report of an :func:`evaluate` result."""
    gain = result["psnr_out"] - result["psnr_in"]
    lines = [f"{result['method']} on {result['images']} images, distortion {result['distortion']}",
             f"  PSNR {result['psnr_in']:.2f} -> {result['psnr_out']:.2f} dB ({gain:+.2f})",
             f"  SSIM {result['ssim_in']:.4f} -> {result['ssim_out']:.4f}",
             f"  tool calls {result['tool_calls']:.2f}, params {result['params']:,}, "
             f"MACs {result['macs'] / 1e9:.3f} G per image, {result['seconds']:.2f} s"]
    if math.isnan(gain):
        lines.append("  (NaN: check the inputs)")
    return "\n".join(lines)
