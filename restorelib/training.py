"""Training the tools of chapter 2: MSE on each tool's own level interval, with RL-Restore's robustness trick.

RL-Restore adds "slight Gaussian noise and JPEG compression to all the training data" of every tool so that
tools tolerate what other tools leave behind. Here that is ``robust=True``: besides its own distortion, every
training patch gets Gaussian noise of sigma U(0, 2) (0-255 scale) and JPEG of quality U(90, 100) -- unless the
tool's own distortion is that kind, in which case the tool's own level is used.
"""
from __future__ import annotations

import json
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data
from .config import get_device
from .degradations import apply_levels
from .metrics import psnr
from .patches import augment, patch_bank, random_patches
from .tools import Toolbox, ToolSpec, load_state, save_state

SLIGHT_NOISE = (0.0, 2.0)
SLIGHT_JPEG = (90.0, 100.0)


@dataclass
class PatchTrainConfig:
    """A training on 63x63 patches degraded on the fly by ``spec`` (chapter 5's baselines and joint training)."""

    steps: int = 1_000
    batch: int = 32
    lr: float = 1e-3
    spec: str = "moderate"
    log_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        from ._checks import positive_ints
        from .degradations import parse_spec
        positive_ints(self, "steps", "batch", "log_every")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        parse_spec(self.spec)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PatchTrainRecord:
    """Curves of a :class:`PatchTrainConfig` training: per log, the mean loss and PSNR gain (dB) of the batches
    since the previous log; and the seconds of the whole run."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    psnr_gain: list[float] = field(default_factory=list)
    seconds: float = 0.0
    pending: list[tuple[float, float]] = field(default_factory=list, repr=False)

    def add(self, step: int, loss: float, gain: float, cfg: PatchTrainConfig) -> bool:
        """Record one batch; at a log step (every ``cfg.log_every`` and the last) append the means and return True."""
        self.pending.append((loss, gain))
        if step % cfg.log_every and step != cfg.steps:
            return False
        self.steps.append(step)
        self.losses.append(sum(p[0] for p in self.pending) / len(self.pending))
        self.psnr_gain.append(sum(p[1] for p in self.pending) / len(self.pending))
        self.pending = []
        return True


def _uniform(low: float, high: float, n: int, generator: torch.Generator | None) -> list[float]:
    return (low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)).tolist()


def tool_levels(spec: ToolSpec, n: int, robust: bool = True,
                generator: torch.Generator | None = None) -> list[dict[str, float]]:
    """Levels for ``n`` training patches of tool ``spec``: its own distortion drawn in [low, high] (+ slight ones)."""
    own = _uniform(spec.low, spec.high, n, generator)
    levels = [{spec.distortion: round(v) if spec.distortion == "jpeg" else v} for v in own]
    if robust:
        for kind, (lo, hi) in (("noise", SLIGHT_NOISE), ("jpeg", SLIGHT_JPEG)):
            if kind != spec.distortion:
                for lv, v in zip(levels, _uniform(lo, hi, n, generator)):
                    lv[kind] = round(v) if kind == "jpeg" else v
    return levels


def tool_batch(patches: torch.Tensor, spec: ToolSpec, batch: int, robust: bool = True,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A training pair (degraded, clean), each (batch, 3, S, S), drawn from ``patches`` (P, 3, S, S)."""
    idx = torch.randint(patches.shape[0], (batch,), generator=generator)
    clean = augment(patches[idx], generator)
    return apply_levels(clean, tool_levels(spec, batch, robust, generator), generator), clean


@dataclass
class TrainLog:
    """What a training run measured: loss per logged step, wall-clock seconds, final validation figures."""

    steps: list[int]
    losses: list[float]
    seconds: float
    psnr_in: float = math.nan
    psnr_out: float = math.nan


def train_tool(net: nn.Module, spec: ToolSpec, train: torch.Tensor, *, steps: int, batch: int = 64,
               lr: float = 1e-3, robust: bool = True, val: tuple[torch.Tensor, torch.Tensor] | None = None,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               log_every: int = 50, progress: bool = False) -> TrainLog:
    """Train one tool with Adam (cosine learning-rate decay) on MSE; returns a :class:`TrainLog`.

    train: patch bank (P, 3, S, S) in [0, 1] on the CPU; val: an optional fixed (degraded, clean) pair on which
    the final PSNR before/after is measured. Chapter 2.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    if not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be a positive int, got {log_every!r}")
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    log = TrainLog([], [], 0.0)
    t0 = time.perf_counter()
    it = range(1, steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=spec.name, leave=False)
    running = 0.0
    for step in it:
        x, y = tool_batch(train, spec, batch, robust, generator)
        x, y = x.to(device), y.to(device)
        loss = F.mse_loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if step % log_every == 0 or step == steps:
            log.steps.append(step)
            log.losses.append(running / (log_every if step % log_every == 0 else step % log_every))
            running = 0.0
    log.seconds = time.perf_counter() - t0
    net.eval()
    if val is not None:
        log.psnr_in, log.psnr_out = evaluate_pair(net, *val, device=device)
    return log


@torch.no_grad()
def evaluate_pair(net: nn.Module, degraded: torch.Tensor, clean: torch.Tensor,
                  device: torch.device | str = "cpu", chunk: int = 256) -> tuple[float, float]:
    """Mean PSNR of ``degraded`` and of ``net(degraded)`` (clipped) against ``clean``; both (N, 3, H, W)."""
    outs = [net(degraded[i:i + chunk].to(device)).clamp(0, 1).cpu() for i in range(0, len(degraded), chunk)]
    return psnr(degraded, clean).mean().item(), psnr(torch.cat(outs), clean).mean().item()


# ----------------------------------------------------------------------------- the whole toolbox
TOOLBOX_SCALES = {
    # steps for the 3-layer tools, steps for the 8-layer tools, batch, learning rate, patch stride
    "ci": dict(small_steps=5, large_steps=3, batch=8, lr=1e-3, stride=96),
    "book": dict(small_steps=1000, large_steps=400, batch=32, lr=1e-3, stride=32),
    "paper": dict(small_steps=40000, large_steps=40000, batch=64, lr=1e-3, stride=32),
}


def validation_pairs(spec: ToolSpec, images: dict[str, torch.Tensor], per_image: int, seed: int,
                     robust: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean) 63x63 patches, ``per_image`` per image, degraded inside the tool's own interval
    (plus the slight noise and JPEG of training when ``robust``)."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.cat([random_patches(data.to_rgb(im), per_image, generator=g) for im in images.values()])
    return apply_levels(clean, tool_levels(spec, len(clean), robust=robust, generator=g), g), clean


def train_toolbox(scale: str, out: str | Path, *, train_set: str = "embedded-train", val_set: str = "CBSD68",
                  val_per_image: int = 4, robust: bool = True, seed: int = 0, resume: bool = False,
                  only: list[str] | None = None, device: str | None = None, command: str = "",
                  log: "callable | None" = print, specs: tuple[ToolSpec, ...] | None = None
                  ) -> tuple[Toolbox, dict]:
    """Train all tools at ``scale`` (:data:`TOOLBOX_SCALES`) and save them with a record into ``out``.

    The tools are RL-Restore's 12 (chapter 2), or the :class:`ToolSpec` list ``specs`` (e.g. HIRL's 9 of chapter 6,
    :data:`restorelib.hirl_tools.HIRL_TOOLS`), which the record then lists under ``specs``. Each finished tool is kept
    in ``out/.partial`` so that ``resume=True`` continues an interrupted run; the manifest (every file's sha256) and
    ``record.json`` are written only once all are done. Validation patches come from ``val_set``, which must not
    share an image with ``train_set``. Returns (toolbox, record).
    """
    if scale not in TOOLBOX_SCALES:
        raise ValueError(f"scale must be one of {sorted(TOOLBOX_SCALES)}, got {scale!r}")
    if specs is not None and (not specs or not all(isinstance(s, ToolSpec) for s in specs)
                              or len({s.name for s in specs}) != len(specs)):
        raise ValueError(f"specs must be a non-empty sequence of ToolSpec with distinct names, got {specs!r}")
    cfg, out, dev = dict(TOOLBOX_SCALES[scale]), Path(out), get_device(device)
    log = log or (lambda *a, **k: None)
    train_imgs, val_imgs = data.load_set(train_set), data.load_set(val_set)
    if set(train_imgs) & set(val_imgs):
        raise ValueError(f"val_set shares images with train_set: {sorted(set(train_imgs) & set(val_imgs))}")
    partial = out / ".partial"
    if partial.exists() and not resume:
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    bank = patch_bank(train_imgs, stride=cfg["stride"])
    log(f"[train_tools] {scale}: {len(bank)} training patches from {len(train_imgs)} images of {train_set}; "
        f"validation on {len(val_imgs)} images of {val_set}; device {dev}", flush=True)
    box, results = (Toolbox() if specs is None else Toolbox(tuple(specs))), {}
    for i, (spec, net) in enumerate(zip(box.specs, box.nets)):
        if only and spec.name not in only:
            continue
        ck, rec = partial / f"{spec.name}.pt", partial / f"{spec.name}.json"
        if resume and ck.is_file() and rec.is_file():
            load_state(net, ck, None)
            results[spec.name] = json.loads(rec.read_text())
            log(f"[train_tools] {spec.name}: resumed", flush=True)
            continue
        steps = cfg["small_steps"] if spec.depth == 3 else cfg["large_steps"]
        tl = train_tool(net, spec, bank, steps=steps, batch=cfg["batch"], lr=cfg["lr"], robust=robust,
                        generator=torch.Generator().manual_seed(seed * 1000 + i), device=dev,
                        log_every=max(1, steps // 20))
        net.cpu()
        save_state(net, ck)
        results[spec.name] = {"steps": steps, "seconds": round(tl.seconds, 1),
                              "loss_curve": [[s, round(v, 7)] for s, v in zip(tl.steps, tl.losses)]}
        rec.write_text(json.dumps(results[spec.name]))
        log(f"[train_tools] {spec.name}: {steps} steps in {tl.seconds:.0f} s, final loss {tl.losses[-1]:.6f}",
            flush=True)
    # Validation on held-out images: the tool's own interval alone, and with training's slight noise and JPEG.
    for i, (spec, net) in enumerate(zip(box.specs, box.nets)):
        if spec.name not in results:
            continue
        for key, rob in (("own", False), ("robust", True)):
            p_in, p_out = evaluate_pair(net, *validation_pairs(spec, val_imgs, val_per_image, 10_000 + i, rob))
            results[spec.name][f"val_{key}"] = {"psnr_in": round(p_in, 3), "psnr_out": round(p_out, 3),
                                                "gain": round(p_out - p_in, 3)}
        v = results[spec.name]
        log(f"[train_tools] {spec.name}: {val_set} PSNR gain {v['val_own']['gain']:+.2f} dB on its own interval "
            f"({v['val_own']['psnr_in']:.2f} dB in), {v['val_robust']['gain']:+.2f} dB with slight noise+JPEG",
            flush=True)
    record = {"command": command, "scale": scale, "config": cfg, "robust": robust, "seed": seed,
              "train_set": train_set, "train_patches": len(bank), "val_set": val_set,
              "val_patches_per_image": val_per_image, "device": str(dev),
              "hardware": f"{platform.machine()}, {torch.get_num_threads()} torch threads"
                          + (f", {torch.cuda.get_device_name()}" if dev.type == "cuda" else ""),
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
              "total_seconds": round(sum(r["seconds"] for r in results.values()), 1), "tools": results}
    if specs is not None:
        record["specs"] = [asdict(s) for s in box.specs]
    if len(results) == len(box.specs):
        box.save(out, extra={"record": "record.json"})
        (out / "record.json").write_text(json.dumps(record, indent=2) + "\n")
        write_model_card(out, record)
        shutil.rmtree(partial)
        log(f"[train_tools] wrote {out / 'manifest.json'} and record.json", flush=True)
    else:
        log(f"[train_tools] trained {len(results)} of {len(box.specs)} tools; no manifest written", flush=True)
    return box.eval(), record


def write_model_card(out: str | Path, record: dict) -> Path:
    """Write ``out/README.md``: the record of a toolbox training run (command, config, time, figures) for people."""
    lines = [f"# Tool checkpoints ({record['scale']} scale)", "",
             f"Produced by `{record['command']}` on {record['date']} ({record['hardware']}, {record['device']}, "
             f"torch {record['torch']}), {record['total_seconds'] / 60:.0f} min in all.", "",
             f"Configuration: `{json.dumps(record['config'])}`; robust training (slight noise + JPEG): "
             f"{record['robust']}; seed {record['seed']}; {record['train_patches']} training patches from "
             f"`{record['train_set']}`.", "",
             f"Validation: {record['val_patches_per_image']} random 63x63 patches per image of {record['val_set']}, "
             "degraded inside each tool's own interval (\"own\"), and with training's slight noise and JPEG "
             "added (\"robust\"). PSNR in dB.", "",
             "| tool | steps | seconds | own: in -> out (gain) | robust: in -> out (gain) |",
             "|------|------:|--------:|-----------------------|--------------------------|"]
    for name, r in record["tools"].items():
        o, b = r["val_own"], r["val_robust"]
        lines.append(f"| {name} | {r['steps']} | {r['seconds']:.0f} | {o['psnr_in']:.2f} -> {o['psnr_out']:.2f} "
                     f"({o['gain']:+.2f}) | {b['psnr_in']:.2f} -> {b['psnr_out']:.2f} ({b['gain']:+.2f}) |")
    lines += ["", "Every file's sha256 is in `manifest.json` and is checked when the tools are loaded; the loss curves "
              "are in `record.json`.", ""]
    path = Path(out) / "README.md"
    path.write_text("\n".join(lines))
    return path
