"""Evaluating restoration methods on image sets: the engine behind ``python -m restorelib evaluate``.

A *method* (:mod:`restorelib.core.method`) turns degraded images into restored ones and says what it spent (tool
calls, multiply-adds); :func:`evaluate` measures any of them alike. Every image is degraded with a generator seeded
by ``(seed, image index)``, so a result depends on the seed and the image list only, never on which method ran
before. A method given by name is built by :func:`restorelib.core.method.get_method` (every chapter registers its
own). Chapters 2-8.
"""
from __future__ import annotations

import math
import time

import torch

from .config import get_device
from .data import to_rgb
from .degradations import degrade, parse_spec
from .method import Method, get_method
from .metrics import psnr, ssim
from .patches import random_patches


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
             batch: int = 16, progress: bool = False) -> dict:
    """Degrade every image by ``distortion``, restore it with ``method`` and measure it.

    images: ``{name: (C, H, W) in [0, 1]}``; grayscale images are replicated to RGB. With ``patch`` each image
    contributes ``patches_per_image`` seeded random patch x patch crops instead, restored ``batch`` at a time.
    Returns the JSON-ready dict described in the README (``method``, ``distortion``, means of ``psnr_in/out``,
    ``ssim_in/out``, ``tool_calls``, ``trials``, ``macs``, plus ``params``, ``seconds`` and ``per_image``).
    """
    if not isinstance(images, dict) or not images:
        raise ValueError("images must be a non-empty dict {name: (C, H, W) tensor}")
    if not isinstance(patches_per_image, int) or patches_per_image < 1:
        raise ValueError(f"patches_per_image must be a positive int, got {patches_per_image!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    spec = parse_spec(distortion)
    device = get_device(device)
    method = get_method(method, device, seed=seed) if isinstance(method, str) else method
    items = _items(images, patch, patches_per_image, seed)
    # Degrade each item with its own seeded generator, then restore runs of equally sized items together.
    degraded = []
    for i, (name, clean) in enumerate(items):
        y, levels = degrade(clean[None], spec, generator=torch.Generator().manual_seed(seed * 1_000_003 + i))
        degraded.append((name, clean[None], y, levels[0]))
    groups, k = [], 0
    while k < len(degraded):
        j = k + 1
        while j < len(degraded) and j - k < batch and degraded[j][1].shape == degraded[k][1].shape:
            j += 1
        groups.append(degraded[k:j])
        k = j
    if progress:
        from .long_runs import progress_bar
        groups = progress_bar(groups, desc=method.name, leave=False)
    rows = []
    for grp in groups:
        x, y = torch.cat([g[1] for g in grp]), torch.cat([g[2] for g in grp])
        t0 = time.perf_counter()
        res = method.restore(y.to(device), clean=x.to(device), levels=[g[3] for g in grp])
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / len(grp)
        out = res.images.detach().float().cpu().clamp(0, 1)
        p_in, p_out, s_in, s_out = psnr(y, x), psnr(out, x), ssim(y, x), ssim(out, x)
        for j, (name, _, _, levels) in enumerate(grp):
            rows.append({"image": name, "levels": levels,
                         "psnr_in": p_in[j].item(), "psnr_out": p_out[j].item(),
                         "ssim_in": s_in[j].item(), "ssim_out": s_out[j].item(),
                         "tool_calls": res.tool_calls[j], "macs": res.macs[j],
                         "trials": res.trials[j] if res.trials else res.tool_calls[j],
                         "chain": res.chains[j] if res.chains else [], "seconds": dt})
    mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {"method": method.name, "distortion": spec.text, "images": len(rows), "source_images": len(images),
            "psnr_in": mean("psnr_in"), "psnr_out": mean("psnr_out"),
            "ssim_in": mean("ssim_in"), "ssim_out": mean("ssim_out"),
            "tool_calls": mean("tool_calls"), "trials": mean("trials"), "params": method.params, "macs": mean("macs"),
            "seconds": sum(r["seconds"] for r in rows), "patch": patch, "seed": seed,
            "device": str(device), "per_image": rows}


@torch.no_grad()
def evaluate_no_reference(method: Method | str, images: dict[str, torch.Tensor], scorer: str = "niqe",
                          distortion: str = "none", *, patch: int | None = None, seed: int = 0,
                          device: torch.device | str | None = None) -> dict:
    """Restore images that have no clean original and score inputs and outputs with a no-reference ``scorer`` of
    :mod:`restorelib.core.quality` (higher = better). Chapter 8.

    ``distortion`` (default ``none``) may still degrade the images first, e.g. ``jpeg:20`` to re-save photos as
    low-quality JPEG. Methods that need the ground truth (greedy, brute force) refuse. Returns the means of
    ``nr_in``, ``nr_out``, ``tool_calls``, ``macs`` and ``seconds``, the ``scorer`` and ``per_image`` rows.
    """
    from .quality import check_scores, get_scorer
    if not isinstance(images, dict) or not images:
        raise ValueError("images must be a non-empty dict {name: (C, H, W) tensor}")
    score, spec, device = get_scorer(scorer), parse_spec(distortion), get_device(device)
    method = get_method(method, device, seed=seed) if isinstance(method, str) else method
    rows = []
    for i, (name, img) in enumerate(_items(images, patch, 1, seed)):
        y, _ = degrade(img[None], spec, generator=torch.Generator().manual_seed(seed * 1_000_003 + i))
        t0 = time.perf_counter()
        res = method.restore(y.to(device))
        out = res.images.detach().float().cpu().clamp(0, 1)
        rows.append({"image": name, "nr_in": check_scores(score(y), 1, scorer).item(),
                     "nr_out": check_scores(score(out), 1, scorer).item(), "tool_calls": res.tool_calls[0],
                     "macs": res.macs[0], "chain": res.chains[0] if res.chains else [],
                     "seconds": time.perf_counter() - t0})
    mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {"method": method.name, "distortion": spec.text, "scorer": str(scorer), "images": len(rows),
            "source_images": len(images), "nr_in": mean("nr_in"), "nr_out": mean("nr_out"), "tool_calls": mean("tool_calls"),
            "params": method.params, "macs": mean("macs"), "seconds": sum(r["seconds"] for r in rows),
            "patch": patch, "seed": seed, "device": str(device), "per_image": rows}


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
    dev = next(toolbox.parameters()).device
    for j, spec in enumerate(specs):
        y, _ = degrade(clean, spec, generator=torch.Generator().manual_seed(seed))
        base = psnr(y, clean)
        for i in range(len(toolbox)):
            out[i, j] = (psnr(toolbox.apply(y.to(dev), i).cpu(), clean) - base).mean()
    return out


def measured_on(result: dict) -> str:
    """What a result was measured on, in words: ``1 image``, ``5 images``, or ``2 images x 4 patches of 63x63``.

    ``result["images"]`` counts the measured items (patches when ``patch`` was set); ``source_images`` (added in
    2026-12; older JSON files lack it) the images they were cut from.
    """
    n, src, patch = result["images"], result.get("source_images", result["images"]), result.get("patch")
    if patch is None:
        return f"{n} image" + "s" * (n != 1)
    if src and n % src == 0:
        per = n // src
        return (f"{src} image" + "s" * (src != 1) + f" x {per} patch" + "es" * (per != 1) + f" of {patch}x{patch}")
    return f"{n} patch" + "es" * (n != 1) + f" of {patch}x{patch}"


def summary(result: dict) -> str:
    """A short human-readable report of an :func:`evaluate` (or :func:`evaluate_no_reference`) result."""
    if "nr_in" in result:
        unscored = sum(math.isnan(r[k]) for r in result.get("per_image", []) for k in ("nr_in", "nr_out"))
        return "\n".join([
            f"{result['method']} on {measured_on(result)}, distortion {result['distortion']}, no reference",
            f"  {result['scorer']} score {result['nr_in']:.3f} -> {result['nr_out']:.3f} (higher = better)",
            f"  tool calls {result['tool_calls']:.2f}, params {result['params']:,}, "
            f"MACs {result['macs'] / 1e9:.3f} G per image, {result['seconds']:.2f} s"]
            + [f"  ({unscored} scores are NaN: {result['scorer']} could not score those images, e.g. NIQE a flat "
               "image without texture)"] * bool(unscored))
    gain = result["psnr_out"] - result["psnr_in"]
    lines = [f"{result['method']} on {measured_on(result)}, distortion {result['distortion']}",
             f"  PSNR {result['psnr_in']:.2f} -> {result['psnr_out']:.2f} dB ({gain:+.2f})",
             f"  SSIM {result['ssim_in']:.4f} -> {result['ssim_out']:.4f}",
             f"  tool calls {result['tool_calls']:.2f}, params {result['params']:,}, "
             f"MACs {result['macs'] / 1e9:.3f} G per image, {result['seconds']:.2f} s"]
    if math.isnan(gain):
        lines.append("  (NaN: check the inputs)")
    return "\n".join(lines)


__all__ = ["GRID_LEVELS", "evaluate", "evaluate_no_reference", "gain_matrix", "measured_on", "summary"]
