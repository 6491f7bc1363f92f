"""Evaluating restoration methods on image sets: the engine behind ``python -m restorelib evaluate``.

A *method* (:mod:`restorelib.methods`) turns degraded images into restored ones and says what it spent (tool calls,
multiply-adds). Chapters register theirs with :func:`register_method`; this module registers ``identity``,
``tool:NAME`` and the chapter-3 searches.
Every image is degraded with a generator seeded by ``(seed, image index)``, so a result depends on the seed and
the image list only, never on which method ran before.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch

from .config import get_device
from .data import to_rgb
from .degradations import degrade, parse_spec
from .methods import (  # noqa: F401  (re-exported: the methods live in restorelib.methods)
    FixedChain, Identity, Method, Restored, SearchMethod, SingleTool)
from .metrics import psnr, ssim
from .patches import random_patches

MethodFactory = Callable[..., Method]
_METHODS: dict[str, tuple[MethodFactory, str]] = {}


def register_method(name: str, factory: MethodFactory, help: str = "") -> None:
    """Register ``factory(argument, device, **options) -> Method`` under ``name``; ``name:ARG`` passes ``ARG``.

    Options are the keyword arguments given to :func:`get_method` (``max_length``, ``budget``, ``seed``...); a
    factory takes the ones it understands and ignores the rest.
    """
    _METHODS[name] = (factory, help)


def method_names() -> dict[str, str]:
    """``{name: one-line help}`` of the registered methods."""
    return {k: h for k, (_, h) in sorted(_METHODS.items())}


def get_method(spec: str, device: torch.device | str | None = None, **options: object) -> Method:
    """Build a method from ``spec`` such as ``identity``, ``tool:noise-2`` or ``brute-force`` (``max_length=2``).

    Raises ValueError naming ``method`` when the name is unknown.
    """
    if not isinstance(spec, str):
        raise TypeError(f"method must be a string, got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    if name not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)} (tool:NAME with a tool name), got {spec!r}")
    return _METHODS[name][0](arg, get_device(device), **options)


def _tool_factory(arg: str, device: torch.device, **_: object) -> Method:
    from .tools import TOOL_NAMES
    if arg not in TOOL_NAMES:
        raise ValueError(f"method tool:NAME needs NAME in {list(TOOL_NAMES)}, got {arg!r}")
    return SingleTool(arg, device=device)


MAX_TRIALS_WITHOUT_BUDGET = 10_000
"""The most trials per image :func:`get_method` lets brute force spend without a ``budget``: every chain of up to 3
of RL-Restore's 12 tools (1,884) or of up to 4 of HIRL's 9 (7,380, HIRL's Table 2); 4 of 12 (22,620) needs one."""


def _check_cost(method: SearchMethod) -> SearchMethod:
    from .search import brute_force_trials
    if method.kind == "brute-force" and method.budget is None:
        m, length = len(method.toolbox), method.max_length
        n = brute_force_trials(m, length)
        if n > MAX_TRIALS_WITHOUT_BUDGET:
            raise ValueError(f"max_length {length}: brute force over {m} tools tries {n:,} chains per image, more "
                             f"than {MAX_TRIALS_WITHOUT_BUDGET:,} without a budget; give one (--budget N) or a "
                             f"shorter max_length")
    return method


def _search_factory(kind: str):
    def make(arg: str, device: torch.device, max_length: int = 3, budget: int | None = None, seed: int = 0,
             **_: object) -> Method:
        if not isinstance(max_length, int) or not 1 <= max_length <= 6:
            raise ValueError(f"max_length must be an int in 1..6, got {max_length!r}")
        if budget is not None and (not isinstance(budget, int) or budget < 1):
            raise ValueError(f"budget must be a positive int or None, got {budget!r}")
        return _check_cost(SearchMethod(kind, device, max_length=max_length, budget=budget, seed=seed,
                                        toolbox=_search_toolbox(arg, device)))
    return make


def _search_toolbox(arg: str, device: torch.device) -> "object | None":
    """The toolbox of ``KIND:ARG``: none given = RL-Restore's 12 tools, ``hirl`` = HIRL's 9 (chapter 6), or a
    folder with a ``manifest.json`` of trained tools."""
    from pathlib import Path

    from .tools import Toolbox
    if arg in ("", "rl-restore"):
        return None
    if arg == "hirl":
        from .hirl_tools import hirl_toolbox
        return hirl_toolbox(device=device)
    if (Path(arg) / "manifest.json").is_file():
        return Toolbox.load(arg, device)
    raise ValueError(f"method KIND:TOOLS needs TOOLS = rl-restore, hirl or a folder with manifest.json, got {arg!r}")


register_method("identity", lambda arg, device, **_: Identity(), "the degraded input, unchanged")
register_method("tool", _tool_factory, "tool:NAME applies one tool of the toolbox once")
register_method("reverse", _search_factory("reverse"), "undo the known distortions in reverse order (JPEG, noise, blur)")
register_method("greedy", _search_factory("greedy"), "best one-step PSNR gain each step (oracle, --max-length)")
register_method("brute-force", _search_factory("brute-force"),
                "best chain of length <= --max-length, stopping allowed (oracle; --budget caps the trials); "
                "KIND:hirl searches HIRL's 9 tools, for every search method")
register_method("random", _search_factory("random"), "a random chain of --max-length tools")


def _nr_search_factory(kind: str):
    def make(arg: str, device: torch.device, max_length: int = 3, budget: int | None = None, **_: object) -> Method:
        from .quality import scorer_names
        scorer = arg or "niqe"
        if scorer not in scorer_names():
            raise ValueError(f"method {kind}-nr:SCORER needs SCORER in {scorer_names()}, got {arg!r}")
        if not isinstance(max_length, int) or not 1 <= max_length <= 6:
            raise ValueError(f"max_length must be an int in 1..6, got {max_length!r}")
        if budget is not None and (not isinstance(budget, int) or budget < 1):
            raise ValueError(f"budget must be a positive int or None, got {budget!r}")
        return _check_cost(SearchMethod(kind, device, max_length=max_length, budget=budget, scorer=scorer))
    return make


register_method("greedy-nr", _nr_search_factory("greedy"), "greedy on a no-reference score, no ground truth "
                "(chapter 8); greedy-nr:SCORER (default niqe)")
register_method("brute-force-nr", _nr_search_factory("brute-force"), "brute force on a no-reference score, no "
                "ground truth (chapter 8); brute-force-nr:SCORER (default niqe)")


def _agent_factory(arg: str, device: torch.device, max_length: int | None = None, tools: str | None = None,
                   **_: object) -> Method:
    from .restore import AgentMethod
    from .tools import Toolbox, toolset_dir
    if max_length is not None and (not isinstance(max_length, int) or not 1 <= max_length <= 10):
        raise ValueError(f"max_length must be an int in 1..10, got {max_length!r}")
    if tools is None:
        return AgentMethod(arg or "rl-restore", device, max_length=max_length)
    box = Toolbox.load(toolset_dir(tools), device)
    method = AgentMethod(arg or "rl-restore", device, max_length=max_length, toolbox=box)
    method.name += f" (tools {tools})"
    return method


def _hirl_factory(arg: str, device: torch.device, **options: object) -> Method:
    from .hirl_restore import hirl_factory                     # HIRL is imported only when it is asked for
    return hirl_factory(arg, device, **options)


register_method("hirl", _hirl_factory, "the hierarchical type-then-degree agent (chapter 6, --max-length); "
                "hirl:AGENT picks a trained agent folder")
def _pixelrl_factory(arg: str, device: torch.device, **options: object) -> Method:
    from .pixelrl_method import pixelrl_factory                 # PixelRL is imported only when it is asked for
    return pixelrl_factory(arg, device, **options)


def _baseline_factory(name: str):
    def make(arg: str, device: torch.device, **_: object) -> Method:
        from .baselines import BaselineMethod
        return BaselineMethod(arg or name, device)
    return make


for _name, _what in (("vdsr", "VDSR, 20 layers"), ("vdsr-s", "RL-Restore's slim VDSR, 15 layers of 42 channels"),
                     ("dncnn", "DnCNN, 17 layers with batch norm")):
    register_method(_name, _baseline_factory(_name), f"the single-network baseline {_what} (chapter 5); "
                    f"{_name}:FOLDER loads another training run")


def _label_free_factory(arg: str, device: torch.device, **options: object) -> Method:
    from .label_free import label_free_factory
    return label_free_factory(arg, device, **options)


register_method("label-free", _label_free_factory, "the agent trained on a no-reference reward (chapter 8); "
                "label-free:AGENT picks a shipped agent or a folder; --max-length")
register_method("pixelrl", _pixelrl_factory, "per-pixel agents (chapter 7); pixelrl:MODEL picks a shipped model "
                "(noise25-gru-rmc by default) or a folder; --max-length sets the steps")


def _pixelrl_color_factory(arg: str, device: torch.device, **options: object) -> Method:
    from .pixelrl_color_method import color_factory              # imported only when it is asked for
    return color_factory(arg, device, **options)


register_method("pixelrl-color", _pixelrl_color_factory, "PixelRL's local colour enhancement (chapter 7): "
                "pixelrl-color:FOLDER, a model of scripts/train_pixelrl_color.py; --max-length sets the steps")
register_method("rl-restore", _agent_factory,
                "the trained DQN agent (chapter 4); rl-restore:AGENT picks a shipped agent or a folder; --tools "
                "original|noise|joint picks its tool set (chapter 5)")


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
    :mod:`restorelib.quality` (higher = better). Chapter 8.

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
