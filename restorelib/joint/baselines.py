"""Single-network baselines of chapter 5: VDSR, VDSR-s and DnCNN, trained on the same images and distortions.

RL-Restore's claim is that a chain of small tools picked per image matches one large network at a fraction of the
cost. The baselines (all residual: they predict the correction added to the input):

* **VDSR** (Kim et al., 2016): 20 3x3 convolutions of 64 channels, ReLU between, 668,227 parameters and 2.65 G
  multiply-adds per 63x63 patch, as in RL-Restore's Table 2;
* **VDSR-s**: RL-Restore's slim VDSR, 15 layers of 42 channels (209,247 parameters), about the agent plus its tools;
* **DnCNN** (Zhang et al., 2017): 17 layers of 64 channels with batch normalisation in the 15 middle ones (558,403
  parameters; RL-Restore's own DnCNN has 20 layers).

They train on 63x63 patches of the embedded training photos degraded on the fly by ``cfg.spec`` (RL-Restore's
*moderate* group, as the agent), with He initialisation, Adam (3e-4) and a cosine learning-rate decay, and ship as
``restorelib/weights/baselines/NAME`` (``model.pt``, ``record.json``, README card); the ``vdsr``, ``vdsr-s`` and
``dncnn`` methods of ``evaluate`` load them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.validation import check_images
from ..core.config import get_device, weights_dir
from ..core.scales import build_scales
from ..core.degradations import GROUPS as _GROUP_LEVELS, degrade
from ..core.long_runs import Progress
from ..core.metrics import psnr
from ..core.banks import check_bank, crops_phrase, draw_clean
from ..core.patches import CropSampler
from ..core.resume import MixedPrecision, RunCheckpoint
from ..core.artifacts import ArtifactKind, load_or_train, write_readme
from ..core.checkpoints import RECORD, CheckpointError
from ..core.evaluation import evaluate
from ..core.method import Capabilities, Restored, get_method, register_method
from ..core.tiling import apply_tiled, receptive_radius
from ..toolbox.tools import count_macs, count_params, write_checkpoint
from ..toolbox.training import PatchTrainConfig, PatchTrainRecord

BASELINES_DIR: Path = weights_dir() / "baselines"


class PlainResidualCNN(nn.Module):
    """``depth`` 3x3 convolutions of ``width`` channels (ReLU between, batch norm in the
    middle ones when ``bn``) predicting a residual: (N, 3, H, W) in [0, 1] -> input +
    correction. VDSR, VDSR-s and DnCNN are instances (chapter 5)."""

    def __init__(self, depth: int = 20, width: int = 64, bn: bool = False) -> None:
        super().__init__()
        if depth < 2 or width < 1:
            raise ValueError(f"depth must be >= 2 and width >= 1, got {depth} and "
                             f"{width}")
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=not bn)]
            layers += [nn.BatchNorm2d(width), nn.ReLU()] if bn else [nn.ReLU()]
        for m in layers:
            # He init: with PyTorch's default a plain deep net stays at the identity
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        nn.init.zeros_(layers[-1].weight)      # start as the identity, as the tools do
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
    lr: float = 3e-4                # Adam; 1e-3 leaves VDSR at the identity for hundreds of steps
    log_every: int = 100
    crop: int = 0                   # train on random CROPxCROP windows of the 63x63 patches (0: whole patches)
    amp: bool = False               # bf16 autocast + channels-last (core.resume.MixedPrecision): ~4x on AMX

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.crop, int) or not 0 <= self.crop <= 63:
            raise ValueError(f"crop must be an int in 0..63 (0: whole 63x63 patches), got {self.crop!r}")


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["baselines"]`` says what each changes and
#: why.
SCALES: dict[str, BaselineConfig] = build_scales("baselines", BaselineConfig)


BaselineRecord = PatchTrainRecord


def train_baseline(net: nn.Module, bank: "torch.Tensor | CropSampler", cfg: BaselineConfig,
                   device: torch.device | str | None = None, log: Callable | None = None,
                   checkpoint: str | Path | None = None, checkpoint_every: float = 300.0,
                   progress: bool | str = False) -> BaselineRecord:
    """Train ``net`` on patches of ``bank`` degraded by ``cfg.spec``, MSE loss. Chapter 5.

    ``bank``: a patch bank (P, 3, S, S) in [0, 1] or a :class:`~restorelib.core.patches.CropSampler` (fresh crops of
    whole photos). ``checkpoint``: a file that holds the whole run (weights, optimiser, schedule, step, random
    state, curves) every ``checkpoint_every`` seconds and when the run is done; a run started with an existing one
    continues from it to the same result (``ValueError`` when it was saved with another configuration).
    ``progress``: a bar with an ETA (:class:`restorelib.core.long_runs.Progress`).
    """
    check_bank(bank, min_size=max(cfg.crop, 1))
    dev = get_device(device)
    mp = MixedPrecision(dev, cfg.amp)
    net.to(dev, memory_format=mp.memory_format).train()
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr * 0.05)
    rec = BaselineRecord()
    run = RunCheckpoint(checkpoint, checkpoint_every, {**cfg.to_dict(), "train_patches": len(bank)},
                        {"net": net, "opt": opt, "sched": sched}, g, rec)
    start = (run.resume() or {"step": 0})["step"] + 1
    bar = Progress(progress, cfg.steps, start - 1, "baseline steps")
    for step in range(start, cfg.steps + 1):
        clean = draw_clean(bank, cfg.batch, g)
        if cfg.crop:
            i, j = torch.randint(clean.shape[-1] - cfg.crop + 1, (2,), generator=g).tolist()
            clean = clean[..., i:i + cfg.crop, j:j + cfg.crop]
        x = degrade(clean, cfg.spec, generator=g)[0].to(dev, memory_format=mp.memory_format)
        y = clean.to(dev, memory_format=mp.memory_format)
        with mp.autocast():
            out = net(x)
        loss = F.mse_loss(out.float(), y)
        opt.zero_grad(set_to_none=True)
        mp.step(loss, opt, clip=1.0)                         # VDSR's 20 plain layers need the clip at this rate
        sched.step()
        gain = (psnr(out.detach().float().clamp(0, 1), y) - psnr(x, y)).mean().item()
        if rec.add_step(step, cfg.log_every, cfg.steps, loss=loss.item(), gain=gain) and log:
            log(f"[baseline] step {step}: loss {rec.losses[-1]:.5f}, PSNR gain {rec.psnr_gain[-1]:+.2f} dB, "
                f"{run.seconds():.0f} s", flush=True)
        run.save_if_due(step=step)
        bar.update_to(step)
    bar.close()
    run.finish(step=max(cfg.steps, start - 1))
    net.to(memory_format=torch.contiguous_format).eval()
    return rec


def save_baseline(net: nn.Module, name: str, cfg: BaselineConfig, rec: BaselineRecord, folder: str | Path,
                  command: str, scale: str, device: torch.device | str = "cpu", extra: dict | None = None) -> Path:
    """Write ``model.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curves, size, ``extra``
    such as ``train_sets`` and ``train_images``) and a card."""
    folder = Path(folder)
    params, macs = count_params(net), count_macs(net.eval(), (1, 3, 63, 63))
    write_checkpoint(net, folder, "model.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, model=name, params=params, macs_63=macs,
                     curve=rec.curve(), **(extra or {}))
    gain = f"{rec.psnr_gain[-1]:+.2f} dB" if rec.psnr_gain else "n/a"
    photos = "of the embedded training photos" if "train_sets" not in (extra or {}) else \
        "from " + crops_phrase(extra.get("train_patches"), extra["train_sets"], extra["train_images"])
    write_readme(folder,
        f"# Baseline `{name}` ({scale} scale)\n\nProduced by `{command}` ({rec.seconds / 60:.1f} min). "
        f"{params:,} parameters, {macs / 1e9:.3f} G multiply-adds per 63x63 patch. Trained on `{cfg.spec}` patches "
        f"{photos}: `{json.dumps(cfg.to_dict())}`. PSNR gain on the last training batches: "
        f"{gain}. The sha256 of `model.pt` in `record.json` is checked on load (chapter 5).\n")
    return folder / RECORD


def load_baseline(name: str | Path, device: torch.device | str = "cpu") -> tuple[PlainResidualCNN, dict]:
    """A trained baseline (a shipped name or a folder with ``record.json``), sha256-checked, ``weights_only``."""
    net, _, record = BASELINES.load(name, device)
    return net, record


def _build_from_record(cfg: BaselineConfig, record: dict) -> PlainResidualCNN:
    if record.get("model") not in ARCHS:
        raise CheckpointError(f"'model' must be one of {sorted(ARCHS)}, got {record.get('model')!r}")
    return build_baseline(record["model"])


#: Chapter 5's baselines on disk (``BASELINES_DIR`` read on each use).
BASELINES = ArtifactKind(folder=lambda: BASELINES_DIR, config_cls=BaselineConfig, build=_build_from_record,
                         what="baseline", hint="train one with `python scripts/train_baseline.py --model NAME`")


def get_baseline(name: str, profile, bank: torch.Tensor | None = None, device: torch.device | str = "cpu",
                 log: Callable | None = None, progress: bool | str = False) -> tuple[PlainResidualCNN, dict]:
    """A baseline at the active scale (chapter 5): trained here when ``profile.train`` (CI: seconds; gpu: minutes on
    a Colab T4; paper: hours) on ``bank`` (P, 3, 63, 63) clean patches, else the shipped checkpoint. Where
    ``profile.long_runs`` the run shows a progress bar and keeps its state in
    :func:`restorelib.core.long_runs.run_checkpoint`'s folder (it resumes). Returns (net in eval mode, record with
    ``seconds``, ``command`` and the ``curve``)."""
    def train(cfg: BaselineConfig, **run: object) -> tuple[PlainResidualCNN, dict]:
        net = build_baseline(name)
        rec = train_baseline(net, bank, cfg, device, log, **run)
        return net, {"seconds": rec.seconds, "command": f"train_baseline at {profile.name} scale", "model": name,
                     "curve": rec.curve()}
    return load_or_train(profile, bank, lambda: load_baseline(name, device), train, config=SCALES.__getitem__,
                         run=f"baseline-{name}", inputs=(bank,), progress=progress)


class BaselineMethod:
    """A trained baseline as an :func:`restorelib.core.evaluation.evaluate` method: one forward pass per image, or, with
    ``restore(..., tile=T)``, one per tile of T px (with the network's receptive field as overlap)."""

    tileable, can = True, Capabilities(tiles=True, steps=1)

    def __init__(self, name: "str | Path | nn.Module", device: torch.device | str = "cpu",
                 record: dict | None = None) -> None:
        if isinstance(name, nn.Module):                     # a network in hand (e.g. from get_baseline)
            self.net, self.record = name.to(device).eval(), {**(record or {}), "macs_63": count_macs(
                name.eval(), (1, 3, 63, 63))}
        else:
            self.net, self.record = load_baseline(name, device)
        self.name, self.params = self.record.get("model", "baseline"), count_params(self.net)
        self.device = next(self.net.parameters()).device
        self._macs_per_pixel = self.record["macs_63"] / (63 * 63)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, *, tile: int | None = None, **_: object) -> Restored:
        """degraded (N, 3, H, W) in [0, 1] -> the network's output, one call and its multiply-adds per image."""
        check_images(degraded, "degraded", channels=3)
        x = degraded.to(self.device, torch.float32)                   # any float dtype: the network is float32
        if tile:
            out = apply_tiled(lambda t: self.net(t).clamp(0, 1), x, tile, 2 * receptive_radius(self.net))
        else:
            out = self.net(x).clamp(0, 1)
        n, _, h, w = degraded.shape
        return Restored(out, [1] * n, [round(self._macs_per_pixel * h * w)] * n, [[self.name] for _ in range(n)])


def _baseline_factory(name: str) -> Callable[..., BaselineMethod]:
    def make(arg: str, device: torch.device, **_: object) -> BaselineMethod:
        return BaselineMethod(arg or name, device)
    return make


for _name, _what in (("vdsr", "VDSR, 20 layers"), ("vdsr-s", "RL-Restore's slim VDSR, 15 layers of 42 channels"),
                     ("dncnn", "DnCNN, 17 layers with batch norm")):
    register_method(_name, _baseline_factory(_name), f"the single-network baseline {_what} (chapter 5); "
                    f"{_name}:FOLDER loads another training run")


#: RL-Restore's Table 2 (parameters, multiply-adds per 63x63 input; RL-Restore: the agent plus the tools it ran).
PAPER_TABLE2: dict[str, tuple[float, float]] = {"dncnn": (6.69e5, 2.66e9), "vdsr": (6.67e5, 2.65e9),
                                                "vdsr-s": (2.09e5, 0.828e9), "rl-restore": (1.96e5, 0.474e9)}
#: RL-Restore's Tables 3 and 5 on DIV2K, {row: {group: (PSNR, SSIM)}}; "rl-restore" (Table 3) is "+joint" (Table 5).
PAPER_TABLE3: dict[str, dict[str, tuple[float, float]]] = {
    "dncnn": {"mild": (28.03, 0.6503), "moderate": (26.42, 0.5554), "severe": (24.99, 0.4658)},
    "vdsr": {"mild": (28.04, 0.6496), "moderate": (26.40, 0.5544), "severe": (24.90, 0.4629)},
    "vdsr-s": {"mild": (27.69, 0.6383), "moderate": (25.99, 0.5399), "severe": (24.50, 0.4505)},
    "rl-restore": {"mild": (28.04, 0.6498), "moderate": (26.45, 0.5587), "severe": (25.20, 0.4777)},
}
PAPER_TABLE5: dict[str, dict[str, tuple[float, float]]] = {
    "joint": PAPER_TABLE3["rl-restore"],
    "noise": {"mild": (27.78, 0.6372), "moderate": (26.20, 0.5441), "severe": (24.97, 0.4643)},
    "original": {"mild": (27.52, 0.6027), "moderate": (25.91, 0.5119), "severe": (24.81, 0.4490)},
}
GROUPS: tuple[str, ...] = tuple(_GROUP_LEVELS)   # mild, moderate, severe: the groups of chapter 1
COMPARISON_FILE: Path = BASELINES_DIR / "comparison.json"


def params_used(method: object, chains: list[list[str]]) -> float:
    """Mean parameters a method actually ran per image: for an agent (a method with ``restorer``), the agent plus the
    distinct tools of each chain, as the paper's Table 2 counts RL-Restore; otherwise ``method.params``."""
    r = getattr(method, "restorer", None)
    if r is None:
        return float(method.params)
    agent, tool = count_params(r.net), {n: count_params(r.toolbox.nets[r.toolbox.index(n)]) for n in r.toolbox.names}
    return sum(agent + sum(tool[t] for t in set(c)) for c in chains) / max(len(chains), 1)


def compare(methods: dict[str, object], images: dict[str, torch.Tensor], groups: tuple[str, ...] = GROUPS,
            seed: int = 0, device: torch.device | str | None = None) -> list[dict]:
    """Chapter 5's table: each method (``{label: Method or method spec}``) on one seeded 63x63 patch per image of
    ``images`` ({name: (C, H, W) in [0, 1]}) degraded by each group. One row per (label, group): PSNR/SSIM in and
    out, tool calls, parameters (all, and those actually run) and multiply-adds per 63x63 patch (means)."""
    rows = []
    for label, m in methods.items():
        method = get_method(m, device) if isinstance(m, str) else m
        for g in groups:
            r = evaluate(method, images, g, patch=63, seed=seed, device=device)
            rows.append({"method": label, "group": g, "images": r["images"],
                         **{k: round(r[k], 4) for k in ("psnr_in", "psnr_out", "ssim_in", "ssim_out", "tool_calls")},
                         "params": method.params, "params_used": round(params_used(method, [
                             x["chain"] for x in r["per_image"]])), "macs": round(r["macs"]),
                         "seconds": round(r["seconds"], 2)})
    return rows


def load_comparison(path: str | Path | None = None) -> dict:
    """The stored comparison of ``scripts/eval_baselines.py`` (command, set, date, rows), or {} when absent;
    ``path`` defaults to :data:`COMPARISON_FILE`."""
    path = Path(COMPARISON_FILE if path is None else path)
    return json.loads(path.read_text()) if path.is_file() else {}


__all__ = ["ARCHS", "BASELINES", "BaselineConfig", "BaselineMethod", "COMPARISON_FILE", "GROUPS", "PAPER_TABLE2", "PAPER_TABLE3",
           "PAPER_TABLE5", "PlainResidualCNN", "SCALES", "build_baseline", "compare", "get_baseline", "load_baseline",
           "load_comparison", "params_used", "save_baseline", "train_baseline"]
