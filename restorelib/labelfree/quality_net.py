"""A learnt no-reference quality score (chapter 8): :class:`QualityNet` predicts the PSNR of a degraded image.

Trained in the book on our synthetic distortions, with the true PSNR (clipped to ``PSNR_RANGE``) as its target; it is
a learnt proxy of a full-reference score, so it is only as good as the distortions it saw. :mod:`restorelib.core.quality`
registers it as the scorer ``"quality-net"``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from functools import lru_cache
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.validation import check_images, positive_ints
from ..core.config import get_device
from ..core.training_log import TrainingLog
from ..core.scales import build_scales
from ..core.degradations import apply_levels, parse_spec
from ..core.long_runs import Progress
from ..core.metrics import psnr
from ..core.banks import check_bank, crops_phrase, draw_clean
from ..core.patches import CropSampler
from ..core.quality import QUALITY_DIR, Scorer, register_scorer
from ..core.resume import MixedPrecision, RunCheckpoint
from ..core.artifacts import has_record, write_readme
from ..core.checkpoints import RECORD, load_checkpoint
from ..toolbox.tools import write_checkpoint


PSNR_RANGE = (10.0, 50.0)
TRAIN_SPECS = ("mild", "moderate", "severe", "blur:0..5", "noise:0..50", "jpeg:10..100")


class QualityNet(nn.Module):
    """A small fully convolutional CNN predicting PSNR (dB) from the degraded image alone. Chapter 8.

    Four 3x3 convolutions (16, 32, 32, 48 channels, the last three with stride 2), global average pooling and a
    two-layer head: 29,809 parameters. Input (N, 3, H, W) in [0, 1] with H, W >= 32; output (N,) in dB.

    Target: PSNR of the degraded image against its (unseen) clean version, clipped to [10, 50] dB. PSNR because
    it is what the tools and the agents of chapters 2-7 maximise, so a reward from this net imitates theirs
    without the ground truth. Caveat: it is a learnt proxy of a full-reference score, trained on our synthetic
    distortions only; it knows nothing of human preference, and an agent may find images that fool it.
    """

    def __init__(self) -> None:
        super().__init__()
        chans = (3, 16, 32, 32, 48)
        self.body = nn.Sequential(*[m for i in range(4) for m in (
            nn.Conv2d(chans[i], chans[i + 1], 3, stride=1 if i == 0 else 2, padding=1), nn.ReLU())])
        self.head = nn.Sequential(nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "x", channels=3, min_size=32, check_range=False)
        h = self.body(x - 0.5).mean(dim=(2, 3))
        return 30.0 + 10.0 * self.head(h)[:, 0]        # the head works in units of 10 dB around 30 dB


@dataclass
class QualityConfig:
    """Training settings of :class:`QualityNet`: Adam with cosine decay on an L1 loss in dB."""

    steps: int = 20_000
    batch: int = 64
    lr: float = 3e-3
    clean_fraction: float = 0.1     # share of patches left clean (target 50 dB)
    specs: tuple[str, ...] = TRAIN_SPECS
    chain_fraction: float = 0.0     # share of patches then run through a random chain of 1-3 tools (the guard)
    amp: bool = False               # the net's passes in bf16 autocast + channels-last (core.resume.MixedPrecision)
    seed: int = 0

    def __post_init__(self) -> None:
        positive_ints(self, "steps", "batch")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        for name in ("clean_fraction", "chain_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if not self.specs:
            raise ValueError("specs must name at least one distortion spec")
        for spec in self.specs:
            parse_spec(spec)

    def to_dict(self) -> dict:
        return asdict(self)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["quality-net"]`` says what each changes and
#: why.
SCALES: dict[str, QualityConfig] = build_scales("quality-net", QualityConfig)


def quality_batch(bank: "torch.Tensor | CropSampler", cfg: QualityConfig, generator: torch.Generator | None = None,
                  toolbox: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: degraded patches (B, 3, S, S) and their target PSNR (B,) in dB, clipped to PSNR_RANGE.

    With a ``toolbox`` and ``cfg.chain_fraction`` > 0, that share of the patches then goes through a random chain of
    1-3 tools, so the net also learns what the tools' outputs, good and bad, are worth: an agent rewarded by it
    meets exactly such images (chapter 8's guard against reward hacking)."""
    clean = draw_clean(bank, cfg.batch, generator)
    pick = torch.randint(len(cfg.specs), (cfg.batch,), generator=generator)
    pick[torch.rand(cfg.batch, generator=generator) < cfg.clean_fraction] = -1
    levels: list[dict[str, float]] = [{} for _ in range(cfg.batch)]
    for k, spec in enumerate(cfg.specs):                # one draw per spec for its images
        idx = (pick == k).nonzero().flatten().tolist()
        for i, lv in zip(idx, parse_spec(spec).sample(len(idx), generator)):
            levels[i] = lv
    degraded = apply_levels(clean, levels, generator)
    if toolbox is not None and cfg.chain_fraction > 0:
        dev = next(toolbox.parameters(), torch.empty(0)).device
        degraded = degraded.clone()                     # apply_levels may return the clean batch itself
        chained = (torch.rand(cfg.batch, generator=generator) < cfg.chain_fraction).nonzero().flatten()
        lengths = torch.randint(1, 4, (len(chained),), generator=generator)
        with torch.no_grad():
            for step in range(3):
                for j in chained[lengths > step].tolist():
                    tool = int(torch.randint(len(toolbox), (1,), generator=generator))
                    degraded[j:j + 1] = toolbox.apply(degraded[j:j + 1].to(dev), tool).cpu()
    return degraded, psnr(degraded, clean).clamp(*PSNR_RANGE)


@dataclass
class QualityRecord(TrainingLog):
    """What a training run measured: the mean L1 loss (dB) per logged step, and seconds
    (:class:`~restorelib.core.training_log.TrainingLog`)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    MEANS = {"losses": "loss"}
    JSON = {"steps": "steps", "losses": "l1_db"}


def train_quality_net(bank: "torch.Tensor | CropSampler", cfg: QualityConfig, device: torch.device | str | None = None,
                      log: Callable | None = None, progress: bool | str = False, toolbox: nn.Module | None = None,
                      checkpoint: str | Path | None = None, checkpoint_every: float = 300.0
                      ) -> tuple[QualityNet, QualityRecord]:
    """Train a :class:`QualityNet` on clean patches ``bank`` (P, 3, 63, 63) in [0, 1] (or fresh crops of a
    :class:`~restorelib.core.patches.CropSampler`), degraded on the fly by a random spec of ``cfg.specs`` (or left
    clean), and, with ``toolbox``, partly run through random tool chains (``cfg.chain_fraction``), on ``device``
    (default :func:`~restorelib.core.config.get_device`). ``log`` (e.g. ``print``) gets 50 lines; ``progress`` shows a
    bar with an ETA (:class:`restorelib.core.long_runs.Progress`). ``checkpoint``: a file that holds the whole run
    (weights, optimiser, schedule, step, random state, curve) every ``checkpoint_every`` seconds and when the run is
    done; a run started with an existing one continues from it to the same result.
    Returns (net in eval mode, record). Chapter 8.
    """
    if isinstance(bank, CropSampler):
        check_bank(bank, min_size=32)
    else:
        check_images(bank, "bank", channels=3, min_size=32)
    device = get_device(device)
    if not isinstance(cfg.steps, int) or cfg.steps < 1 or not isinstance(cfg.batch, int) or cfg.batch < 1:
        raise ValueError(f"cfg.steps and cfg.batch must be positive ints, got {cfg.steps!r}, {cfg.batch!r}")
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    mp = MixedPrecision(device, cfg.amp)
    net = QualityNet().to(device, memory_format=mp.memory_format).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr * 0.05)
    rec, every = QualityRecord(), max(1, cfg.steps // 50)
    run = RunCheckpoint(checkpoint, checkpoint_every, {**cfg.to_dict(), "train_patches": len(bank)},
                        {"net": net, "opt": opt, "sched": sched}, g, rec)
    loop = run.resume() or {"step": 0}
    bar = Progress(progress, cfg.steps, loop["step"], "QualityNet steps")
    for step in range(loop["step"] + 1, cfg.steps + 1):
        x, y = quality_batch(bank, cfg, g, toolbox)
        with mp.autocast():
            pred = net(x.to(device).contiguous(memory_format=mp.memory_format))
        loss = F.l1_loss(pred.float(), y.to(device))                      # the loss in float32
        opt.zero_grad(set_to_none=True)
        mp.step(loss, opt)
        sched.step()
        if rec.add_step(step, every, cfg.steps, loss=loss.item()) and log:
            log(f"[quality] step {step}: L1 {rec.losses[-1]:.2f} dB, {run.seconds():.0f} s", flush=True)
        run.save_if_due(step=step)
        bar.update_to(step)
    bar.close()
    run.finish(step=max(cfg.steps, loop["step"]))
    return net.to(memory_format=torch.contiguous_format).eval(), rec


def save_quality_net(net: QualityNet, cfg: QualityConfig, rec: QualityRecord, folder: str | Path, command: str,
                     scale: str, device: torch.device | str = "cpu", train_patches: int | None = None,
                     extra: dict | None = None) -> Path:
    """Write ``quality-net.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curve) and a README."""
    folder = Path(folder)
    record = write_checkpoint(net, folder, "quality-net.pt", command=command, scale=scale, config=cfg.to_dict(),
                              device=device, seconds=rec.seconds, train_patches=train_patches,
                              target=f"PSNR (dB) clipped to {PSNR_RANGE}",
                              curve=rec.curve(), **(extra or {}))
    write_readme(folder,
        f"# Quality network ({scale} scale)\n\nProduced by `{command}` on {record['date']} ({record['hardware']}, "
        f"{device}, torch {torch.__version__}), {rec.seconds / 60:.1f} min.\n\n"
        f"Predicts the PSNR (dB, clipped to [{PSNR_RANGE[0]:g}, {PSNR_RANGE[1]:g}]) of a degraded image against its "
        f"unseen clean version, from the degraded image alone. Trained on {_training_data(train_patches, extra)}, "
        f"degraded on the fly by one of {list(cfg.specs)} or left clean "
        f"({cfg.clean_fraction:.0%}); {cfg.chain_fraction:.0%} of them then went through a random chain of 1-3 "
        f"tools of the toolbox. Configuration: `{json.dumps(cfg.to_dict())}`.\n\n"
        f"Final training L1 error: {rec.losses[-1]:.2f} dB. The sha256 of `quality-net.pt` is in `record.json` and "
        f"is checked on load; the rank correlations with true PSNR are measured by chapter 8 of the book.\n")
    return folder / RECORD


def _training_data(train_patches: int | None, extra: dict | None) -> str:
    if "train_sets" not in (extra or {}):
        return f"{train_patches} clean 63x63 patches of `embedded-train`"
    return crops_phrase(train_patches, extra["train_sets"], extra["train_images"])


def load_quality_net(folder: str | Path | None = None,
                     device: torch.device | str = "cpu") -> tuple[QualityNet, QualityConfig]:
    """A trained :class:`QualityNet` from ``folder`` (default: the shipped ``weights/quality/quality-net``).

    Loaded with ``weights_only=True`` after a sha256 check; returns (net in eval mode, config).
    """
    folder = Path(folder) if folder is not None else QUALITY_DIR / "quality-net"
    if not has_record(folder):
        raise FileNotFoundError(f"no quality network in {folder} ({RECORD} missing); train one with "
                                "`python scripts/train_quality.py --scale book`")
    net, cfg, _ = load_checkpoint(folder, QualityConfig, lambda c, _: QualityNet(), device)
    return net, cfg


def quality_net_scorer(folder: str | Path | None = None) -> Scorer:
    """A scorer returning :class:`QualityNet`'s predicted PSNR (dB, higher = better), loaded on first use."""
    nets: dict[str, QualityNet] = {}

    @torch.no_grad()
    def score(images: torch.Tensor) -> torch.Tensor:
        key = str(images.device)
        if key not in nets:
            nets[key] = load_quality_net(folder, images.device)[0]
        return nets[key](images)

    return score


@lru_cache(maxsize=None)
def _shipped_scorer(name: str) -> Scorer:
    return quality_net_scorer(QUALITY_DIR / name)        # loaded once, on the first images it scores


register_scorer("quality-net", lambda images: _shipped_scorer("quality-net")(images))
# the first quality net, trained on degraded photos only: the agent of chapter 8 learnt to fool it
register_scorer("quality-net-naive", lambda images: _shipped_scorer("quality-net-naive")(images))
