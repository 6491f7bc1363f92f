"""Training a whole toolbox (chapter 2): every tool with :func:`restorelib.toolbox.training.train_tool`, resumable, checked.

``python scripts/train_tools.py`` calls :func:`train_toolbox`. Each tool trains on fresh random crops of the training
photos (:class:`~restorelib.core.patches.CropSampler`), in bfloat16 autocast, and saves its whole state every few
minutes into ``out/.partial``, so a stopped run continues where it stopped. A finished toolbox is measured on
held-out photos at each tool's mid-level (:data:`TOOL_FLOORS` are the gains it should reach), and a toolbox in which
a tool did not learn is refused: no manifest, no record.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from ..core import data
from ..core.data import load_train_sets  # noqa: F401  (also here, where chapter 2 found it)
from ..core.atomic import write_text
from ..core.scales import build_scales
from ..core.checkpoints import RECORD
from ..core.config import get_device, hardware
from ..core.degradations import apply_levels
from ..core.patches import CropSampler, random_patches
from ..core.resume import precision
from .tools import Toolbox, ToolSpec, load_state, save_state
from .training import evaluate_pair, tool_levels, train_tool

#: The tools' training by scale (plain dicts): :data:`restorelib.core.scales.SCALE_SETTINGS` ``["tools"]`` says
#: what each setting is and why.
TOOLBOX_SCALES: dict[str, dict] = build_scales("tools", dict)

#: The PSNR gain (dB) each of RL-Restore's tools should reach on held-out colour photos at its own mid-level, with
#: no robustness noise: what networks of this size reach in the literature, rounded down.
TOOL_FLOORS: dict[str, float] = {
    "noise-1": 3.0, "noise-2": 5.0, "noise-3": 7.0, "noise-4": 8.0,
    "jpeg-1": 0.15, "jpeg-2": 0.4, "jpeg-3": 0.6, "jpeg-4": 0.6,
    "blur-1": 1.5, "blur-2": 1.5, "blur-3": 1.5, "blur-4": 1.5,
}


class ToolDidNotLearn(RuntimeError):
    """A trained tool changes its own distortion by less than the scale's ``min_gain``; nothing was written."""


def mid_level(spec: ToolSpec) -> dict[str, float]:
    """The middle of a tool's level interval, e.g. ``{"noise": 18.75}`` (JPEG qualities rounded)."""
    v = (spec.low + spec.high) / 2
    return {spec.distortion: float(round(v)) if spec.distortion == "jpeg" else v}


def validation_pairs(spec: ToolSpec, images: dict[str, torch.Tensor], per_image: int, seed: int,
                     robust: bool = False, mid: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean) 63x63 patches, ``per_image`` per image, degraded inside the tool's own interval
    (plus the slight noise and JPEG of training when ``robust``), or at its mid-level when ``mid``."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.cat([random_patches(data.to_rgb(im), per_image, generator=g) for im in images.values()])
    levels = [mid_level(spec) for _ in range(len(clean))] if mid else \
        tool_levels(spec, len(clean), robust=robust, generator=g)
    return apply_levels(clean, levels, g), clean


def _stems(images: dict[str, torch.Tensor]) -> set[str]:
    return {k.rsplit("/", 1)[-1] for k in images}


def train_toolbox(scale: str, out: str | Path, *, train_set: str | list[str] = "embedded-train",
                  val_set: str = "CBSD68", curve_set: str | None = None, val_per_image: int = 4,
                  robust: bool = True, seed: int = 0, resume: bool = False, only: list[str] | None = None,
                  steps: int | None = None, device: str | None = None, command: str = "",
                  log: Callable | None = print, specs: tuple[ToolSpec, ...] | None = None,
                  min_gain: float | None = ..., checkpoint_every: float = 180.0) -> tuple[Toolbox, dict]:
    """Train all tools at ``scale`` (:data:`TOOLBOX_SCALES`) and save them with a record into ``out``. Chapter 2.

    The tools are RL-Restore's 12, or the :class:`ToolSpec` list ``specs`` (e.g. HIRL's 9 of chapter 6), which the
    record then lists under ``specs``. Every tool's state is kept in ``out/.partial`` (whole every
    ``checkpoint_every`` seconds; finished tools as ``.pt`` + ``.json``) so that ``resume=True`` continues a stopped
    run; several processes may share ``out`` with disjoint ``only`` lists. The manifest (every file's sha256),
    ``record.json`` and the card are written once all tools are done and each gains at least ``min_gain`` dB at its
    mid-level on ``val_set`` (default: the scale's); else :class:`ToolDidNotLearn` is raised and ``.partial`` kept.
    ``curve_set`` (e.g. LIVE1) gives each tool a validation curve; neither set may share a photo with ``train_set``.
    Returns (toolbox, record).
    """
    _check_args(scale, specs, steps)
    cfg, out, dev = dict(TOOLBOX_SCALES[scale]), Path(out), get_device(device)
    if steps is not None:
        cfg["small_steps"] = cfg["large_steps"] = steps
    min_gain = cfg["min_gain"] if min_gain is ... else min_gain
    box = Toolbox() if specs is None else Toolbox(tuple(specs))
    if only and (unknown := sorted(set(only) - set(box.names))):
        raise ValueError(f"only must name tools of {box.names}, got {unknown}")
    log = log or (lambda *a, **k: None)
    train_imgs, val_imgs = data.load_train_sets(train_set), data.load_set(val_set)
    curve_imgs = data.load_set(curve_set) if curve_set else {}
    for name, imgs in ((val_set, val_imgs), (curve_set, curve_imgs)):
        if shared := sorted(_stems(train_imgs) & _stems(imgs)):
            raise ValueError(f"{name} shares images with train_set: {shared[:5]}")
    partial = out / ".partial"
    if partial.exists() and not resume:
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    sampler = CropSampler(train_imgs, cfg["crop"])
    log(f"[train_tools] {scale}: {len(sampler)} crop positions ({cfg['crop']}x{cfg['crop']}) in {len(train_imgs)} "
        f"images of {train_set}; validation on {len(val_imgs)} images of {val_set}; device {dev}, "
        f"{torch.get_num_threads()} threads", flush=True)
    results, order = {}, list(range(len(box)))
    if only:                                     # train in the order given; the others are only loaded
        order = [box.names.index(n) for n in only] + [i for i in order if box.names[i] not in only]
    for i in order:
        spec, net = box.specs[i], box.nets[i]
        ck, rec = partial / f"{spec.name}.pt", partial / f"{spec.name}.json"
        if ck.is_file() and rec.is_file() and (resume or (only and spec.name not in only)):
            load_state(net, ck, None)
            results[spec.name] = json.loads(rec.read_text())
            log(f"[train_tools] {spec.name}: finished before, loaded", flush=True)
            continue
        if only and spec.name not in only:
            continue
        results[spec.name] = _train_one(spec, net, i, sampler, cfg, curve_imgs, partial, robust, seed, dev,
                                        checkpoint_every)
        save_state(net, ck)
        write_text(rec, json.dumps(results[spec.name]), overwrite=True)
        log(f"[train_tools] {spec.name}: {results[spec.name]['steps']} steps in {results[spec.name]['seconds']:.0f} s "
            f"({results[spec.name]['steps_per_s']:.1f} steps/s), final loss "
            f"{results[spec.name]['loss_curve'][-1][1]:.6f}", flush=True)
    results = _validate_all(box, {n: results[n] for n in box.names if n in results}, val_set, val_imgs,
                            val_per_image, log)
    record = _record(command, scale, cfg, robust, seed, train_set, train_imgs, sampler, val_set, val_per_image,
                     curve_set, dev, results, box, specs)
    if len(results) < len(box.specs):
        log(f"[train_tools] trained {len(results)} of {len(box.specs)} tools; no manifest written", flush=True)
        return box.eval(), record
    if min_gain is not None and (failed := [n for n, r in results.items() if r["val_mid"]["gain"] < min_gain]):
        raise ToolDidNotLearn(f"tools {failed} gain less than {min_gain} dB at their mid-level on {val_set}; "
                              f"no record written (their weights stay in {partial})")
    box.save(out, extra={"record": RECORD})
    write_text(out / RECORD, json.dumps(record, indent=2) + "\n", overwrite=True)
    write_model_card(out, record)
    shutil.rmtree(partial)
    log(f"[train_tools] wrote {out / 'manifest.json'} and {RECORD}", flush=True)
    return box.eval(), record


def _check_args(scale: str, specs: tuple[ToolSpec, ...] | None, steps: int | None) -> None:
    """The checks of :func:`train_toolbox`'s arguments, before any work (``ValueError`` naming the argument)."""
    if scale not in TOOLBOX_SCALES:
        raise ValueError(f"scale must be one of {sorted(TOOLBOX_SCALES)}, got {scale!r}")
    if specs is not None and (not specs or not all(isinstance(s, ToolSpec) for s in specs)
                              or len({s.name for s in specs}) != len(specs)):
        raise ValueError(f"specs must be a non-empty sequence of ToolSpec with distinct names, got {specs!r}")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise ValueError(f"steps must be a positive int or None, got {steps!r}")


def _validate_all(box: Toolbox, results: dict[str, dict], val_set: str, val_imgs: dict, val_per_image: int,
                  log: Callable) -> dict[str, dict]:
    """Every trained tool of ``results`` measured on the held-out ``val_set`` (its mid-level, its interval, with
    slight noise + JPEG), added to its result and logged; returns ``results``."""
    for i, (spec, net) in enumerate(zip(box.specs, box.nets)):
        if spec.name in results:
            results[spec.name].update(_validate_tool(spec, net, i, val_imgs, val_per_image))
            v = results[spec.name]
            log(f"[train_tools] {spec.name}: {val_set} gain {v['val_mid']['gain']:+.2f} dB at its mid-level, "
                f"{v['val_own']['gain']:+.2f} dB on its interval, {v['val_robust']['gain']:+.2f} dB with slight "
                "noise+JPEG", flush=True)
    return results


def _train_one(spec: ToolSpec, net: torch.nn.Module, i: int, sampler: CropSampler, cfg: dict,
               curve_imgs: dict[str, torch.Tensor], partial: Path, robust: bool, seed: int, dev: torch.device,
               checkpoint_every: float) -> dict:
    """Train tool ``i`` (resuming from its ``.state.pt``) and return its per-tool record."""
    steps = cfg["small_steps"] if spec.depth == 3 else cfg["large_steps"]
    curve = validation_pairs(spec, curve_imgs, 2, 20_000 + i) if curve_imgs else None
    state = partial / f"{spec.name}.state.pt"
    tl = train_tool(net, spec, sampler, steps=steps, batch=cfg["batch"], lr=cfg["lr"], robust=robust,
                    robust_p=cfg["robust_p"], val=curve, val_every=max(1, steps // 20) if curve else None,
                    generator=torch.Generator().manual_seed(seed * 1000 + i), device=dev, amp=cfg["amp"],
                    log_every=max(1, steps // 50), checkpoint=state, checkpoint_every=checkpoint_every)
    net.cpu()
    state.unlink(missing_ok=True)
    out = {"steps": steps, "seconds": round(tl.seconds, 1), "steps_per_s": round(steps / max(tl.seconds, 1e-9), 2),
           "precision": precision(dev, cfg["amp"]),  # of the run that finished it (bf16 on AVX-512-BF16, else fp32)
           "loss_curve": [[s, round(v, 7)] for s, v in zip(tl.steps, tl.losses)]}
    if curve is not None:
        out["val_curve"] = [[s, round(g, 3)] for s, g in zip(tl.val_steps, tl.val_gains)]
    return out


def _validate_tool(spec: ToolSpec, net: torch.nn.Module, i: int, images: dict[str, torch.Tensor],
                   per_image: int) -> dict:
    """Held-out figures: at the mid-level, on the tool's interval, and with training's slight noise and JPEG."""
    out = {}
    for key, rob, mid in (("mid", False, True), ("own", False, False), ("robust", True, False)):
        p_in, p_out = evaluate_pair(net, *validation_pairs(spec, images, per_image, 10_000 + i, rob, mid))
        out[f"val_{key}"] = {"psnr_in": round(p_in, 3), "psnr_out": round(p_out, 3), "gain": round(p_out - p_in, 3)}
    return out


def _record(command: str, scale: str, cfg: dict, robust: bool, seed: int, train_set: str | list[str],
            train_imgs: dict, sampler: CropSampler, val_set: str, val_per_image: int, curve_set: str | None,
            dev: torch.device, results: dict, box: Toolbox, specs: tuple[ToolSpec, ...] | None) -> dict:
    record = {"command": command, "scale": scale, "config": cfg, "robust": robust, "seed": seed,
              "train_set": train_set, "train_images": len(train_imgs), "train_positions": len(sampler),
              "val_set": val_set, "val_patches_per_image": val_per_image, "curve_set": curve_set,
              "device": str(dev), "hardware": hardware(dev),
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
              "total_seconds": round(sum(r["seconds"] for r in results.values()), 1), "tools": results}
    if specs is not None:
        record["specs"] = [asdict(s) for s in box.specs]
    return record


def write_model_card(out: str | Path, record: dict) -> Path:
    """Write ``out/README.md``: the record of a toolbox training run (command, config, time, figures) for people."""
    lines = [f"# Tool checkpoints ({record['scale']} scale)", "",
             f"Produced by `{record['command']}` on {record['date']} ({record['hardware']}, {record['device']}, "
             f"torch {record['torch']}), {record['total_seconds'] / 60:.0f} min of training in all.", "",
             f"Configuration: `{json.dumps(record['config'])}`; robust training (slight noise + JPEG): "
             f"{record['robust']}; seed {record['seed']}; random crops from {record['train_images']} images of "
             f"`{record['train_set']}`.", "",
             f"Validation: {record['val_patches_per_image']} random 63x63 patches per image of {record['val_set']}, "
             "degraded at each tool's mid-level (\"mid\", with the floor it should reach), inside its own interval "
             "(\"own\"), and with training's slight noise and JPEG added (\"robust\"). PSNR in dB.", "",
             "| tool | steps | min | mid: in -> out (gain) | floor | own: gain | robust: gain |",
             "|------|------:|----:|-----------------------|------:|----------:|-------------:|"]
    for name, r in record["tools"].items():
        m, o, b = r["val_mid"], r["val_own"], r["val_robust"]
        floor = TOOL_FLOORS.get(name)
        mark = "" if floor is None else f"{floor:+.2f} {'met' if m['gain'] >= floor else 'missed'}"
        lines.append(f"| {name} | {r['steps']} | {r['seconds'] / 60:.0f} | {m['psnr_in']:.2f} -> {m['psnr_out']:.2f} "
                     f"({m['gain']:+.2f}) | {mark} | {o['gain']:+.2f} | {b['gain']:+.2f} |")
    lines += ["", "Every file's sha256 is in `manifest.json` and is checked when the tools are loaded; the loss and "
              "validation curves are in `record.json`.", ""]
    path = Path(out) / "README.md"
    write_text(path, "\n".join(lines), overwrite=True)
    return path
