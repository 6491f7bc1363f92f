"""Chapter 7's colour-enhancement comparison (the paper's Table 6) and its agents on disk.

The table compares, on whole test photos, the mean CIELab error (:func:`~restorelib.pixelrl.color.mean_lab_error`)
of: the original photo, a global-action agent (:class:`~restorelib.pixelrl.color.GlobalActionNet`, one action per
image and step), a supervised CNN with PixelRL's layers (:class:`ColorCNN`, trained on the same crops for as many
updates), and PixelRL +convGRU without and with RMC (:func:`~restorelib.pixelrl.color.color_env` runs of
:func:`~restorelib.pixelrl.a2c.train_pixelrl`). :func:`save_color_model` / :func:`load_color_model` keep any of them in a
folder with ``record.json`` (sha256-checked on load); :class:`ColorMethod` is ``pixelrl-color:FOLDER`` for
``python -m restorelib restore``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from ..core.config import get_device, weights_dir
from ..core.method import Capabilities, OptionError, Restored, register_method
from .a2c import PixelRLConfig, PixelRLNet, draw_crops
from ..core.validation import check_images
from .color import (
    COLOR_ACTIONS, N_COLOR_ACTIONS, GlobalActionNet, color_action_counts, color_bank, color_restore, lab_input,
    mean_lab_error, rgb_to_lab)
from .color_data import PairSampler
from ..core.training_log import TrainingLog
from ..core.artifacts import has_record, produced, write_readme
from ..core.checkpoints import RECORD, load_checkpoint, read_record
from ..toolbox.tools import count_params, write_checkpoint

KINDS = ("pixelrl", "global", "cnn")
#: The paper's Table 6 (mean L2 test error in CIELab on Yan et al.'s 45 test photos), per style.
PAPER_TABLE6 = {"styles": ("Foreground Pop-Out", "Local Xpro", "Watercolor"),
                "Original": (13.86, 19.71, 15.30), "Lasso": (11.44, 12.01, 9.34),
                "Random Forest": (9.05, 7.51, 11.41), "DNN (Yan et al. 2016)": (7.08, 7.43, 7.20),
                "Pix2pix (Isola et al. 2017)": (5.85, 6.56, 8.84), "PixelRL +convGRU": (6.75, 6.17, 6.44),
                "PixelRL +convGRU +RMC": (6.69, 5.67, 6.41)}


class ColorCNN(nn.Module):
    """The supervised twin of a colour agent: PixelRL's trunk (dilations 1, 2, 3, 4), a branch's dilation-3 and -2
    convs and a 3x3 conv to an RGB residual, fed CIELab like the agent. x (N, 3, H, W) in [0, 1] -> (N, 3, H, W),
    clipped at inference (:meth:`enhance`). Chapter 7."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        twin = PixelRLNet(3, N_COLOR_ACTIONS, width=width, gru=False)     # built as the agent's: the layers match
        self.width, self.trunk, self.head = width, twin.trunk, twin.v_head
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(self.head(self.trunk(lab_input(x))))

    @torch.no_grad()
    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        """RGB x (N, 3, H, W) in [0, 1] -> the CNN's enhanced photos (N, 3, H, W), clamped to [0, 1]."""
        check_images(x, "x", channels=3)
        return self(x.to(next(self.parameters()).device)).clamp(0, 1)


@dataclass
class ColorCNNRecord(TrainingLog):
    """The supervised colour CNN's curve: per logged step the mean CIELab error of its batches; total seconds."""

    episodes: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    AXIS = "episodes"
    MEANS = {"losses": "loss"}
    JSON = {"episodes": "episodes", "losses": "loss"}


def train_color_cnn(sampler: PairSampler, cfg: PixelRLConfig, device: torch.device | str | None = None,
                    log: Callable[[str], None] | None = None) -> tuple[ColorCNN, ColorCNNRecord]:
    """Train a :class:`ColorCNN` on the mean CIELab distance to the targets: ``cfg.episodes`` Adam steps (lr
    ``cfg.lr``, the agents' poly decay) of ``cfg.batch`` crops of ``cfg.crop`` pixels from ``sampler``, i.e. as many
    updates on the same crops as an agent gets. Returns (model in eval mode, record: loss per logged step in
    ``losses``, seconds). Chapter 7."""
    if not isinstance(sampler, PairSampler) or sampler.size != cfg.crop:
        raise ValueError(f"sampler must be a PairSampler of size {cfg.crop} (cfg.crop), got {type(sampler).__name__}")
    dev = get_device(device)
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    model = ColorCNN(cfg.width).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rec, t0 = ColorCNNRecord(), time.perf_counter()
    for step in range(cfg.episodes):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * (1 - step / cfg.episodes) ** cfg.lr_power
        pairs = draw_crops(sampler, cfg.batch, cfg.crop, 3, g).to(dev)
        # sqrt(. + 1e-6): the distance, with a finite gradient where a pixel is already on target
        d = (rgb_to_lab(model(pairs[:, :3])) - rgb_to_lab(pairs[:, 3:])).square().sum(1).add(1e-6).sqrt()
        loss = d.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if rec.add_step(step + 1, cfg.log_every, cfg.episodes, loss=loss.item()) and log:
            log(f"[color-cnn] step {step + 1}: CIELab error {rec.losses[-1]:.3f}, {time.perf_counter() - t0:.0f} s")
    rec.seconds = time.perf_counter() - t0
    return model.eval(), rec


# ----------------------------------------------------------------------------- the models on disk
def save_color_model(model: nn.Module, kind: str, cfg: PixelRLConfig, rec: TrainingLog, folder: str | Path,
                     command: str, scale: str, style: str, device: torch.device | str = "cpu",
                     extra: dict | None = None) -> Path:
    """Write ``model.pt`` and ``record.json`` (command, kind, style, config, seconds, sha256, curves, ``extra`` such
    as the test table) into ``folder``; ``kind`` is one of :data:`KINDS`. Returns the record's path."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    write_checkpoint(model, folder, "model.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, kind=kind, style=style, task=f"color:{style}",
                     actions=list(COLOR_ACTIONS) if kind != "cnn" else [], curve=rec.curve(), **(extra or {}))
    write_color_card(folder)
    return Path(folder) / RECORD


def write_color_card(folder: str | Path) -> Path:
    """The model card ``folder/README.md`` of a colour model, from its record (command, time, config, test)."""
    r = read_record(folder)
    lines = [f"# Colour model `{Path(folder).name}` ({r['scale']} scale, style `{r['style']}`, {r['kind']})", "",
             produced(r, ".1f"), "", f"Configuration: `{json.dumps(r['config'])}`."]
    if e := r.get("evaluation"):
        lines += ["", f"Test on {e['images']} photos of `{e['set']}` ({'whole' if not e['crop'] else e['crop']}): "
                  f"mean CIELab error to the target {e['error_in']:.3f} -> {e['error_out']:.3f} (lower is better, "
                  "the paper's Table 6). The curves are in `record.json`; the sha256 of `model.pt` there is checked "
                  "on load (chapter 7)."]
    return write_readme(folder, lines + [""])


def load_color_model(folder: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """A model saved by :func:`save_color_model`, its record checked (file, sha256, config), in eval mode; returns
    (model, record)."""
    if not has_record(folder):
        raise FileNotFoundError(f"folder must hold {RECORD}, got {str(folder)!r}; train a colour model with "
                                "`python scripts/train_pixelrl_color.py`")
    record = read_record(folder)
    if record.get("kind") not in KINDS:
        raise ValueError(f"{Path(folder) / RECORD} is not a colour model's record (kind {record.get('kind')!r})")
    model, _, record = load_checkpoint(folder, PixelRLConfig, _build_color, device)
    return model, record


def _build_color(cfg: PixelRLConfig, record: dict) -> nn.Module:
    if record["kind"] == "cnn":
        return ColorCNN(cfg.width)
    net_class = GlobalActionNet if record["kind"] == "global" else PixelRLNet
    return net_class(3, N_COLOR_ACTIONS, width=cfg.width, gru=cfg.gru, rmc=cfg.rmc)


def enhancer(model: nn.Module, t_max: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x (N, 3, H, W) -> enhanced (N, 3, H, W)`` on CPU for a colour agent (``t_max`` greedy steps) or a CNN."""
    if isinstance(model, ColorCNN):
        return lambda x: model.enhance(x).cpu()
    return lambda x: color_restore(model, x, t_max)[0].cpu()


@torch.no_grad()
def oracle_enhance(x: torch.Tensor, target: torch.Tensor, t_max: int = 10) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The greedy per-pixel oracle: at each of ``t_max`` steps every pixel takes the action of
    :data:`~restorelib.pixelrl.color.COLOR_ACTIONS` that brings it closest to ``target`` in CIELab (it sees the
    target, so it bounds what a greedy agent with these actions can reach). x, target: RGB (N, 3, H, W) in [0, 1].
    Returns (output (N, 3, H, W), the action maps (N, H, W) of the steps). Chapter 7."""
    check_images(x, "x", channels=3)
    if check_images(target, "target", channels=3).shape != x.shape:
        raise ValueError(f"target must have the shape of x {tuple(x.shape)}, got {tuple(target.shape)}")
    t_lab, state, maps = rgb_to_lab(target), x, []
    for _ in range(t_max):
        bank = color_bank(state)                                        # (N, 13, 3, H, W)
        n, a, c, h, w = bank.shape
        d = (rgb_to_lab(bank.reshape(n * a, c, h, w)).reshape(n, a, c, h, w) - t_lab[:, None]).square().sum(2)
        best = d.argmin(dim=1)                                          # (N, H, W); "do nothing" keeps it monotone
        state = bank.gather(1, best[:, None, None].expand(n, 1, c, h, w))[:, 0]
        maps.append(best)
    return state, maps


@torch.no_grad()
def color_table(pairs: dict[str, tuple[torch.Tensor, torch.Tensor]],
                methods: dict[str, Callable[[torch.Tensor], torch.Tensor]]) -> dict:
    """Our Table 6: the mean CIELab error of the original photos and of each method's output on whole ``pairs``
    ({name: (input, target)}, (3, H, W) each). ``methods``: {row name: x (1, 3, H, W) -> (1, 3, H, W)}.

    Returns ``{"rows": {name: mean error}, "per_image": {name: {image: error}}, "images": count}``. Chapter 7.
    """
    if not pairs:
        raise ValueError("pairs must hold at least one (input, target) pair")
    per: dict[str, dict[str, float]] = {"Original": {}, **{k: {} for k in methods}}
    for image, (inp, tgt) in pairs.items():
        x, t = inp[None], tgt[None]
        per["Original"][image] = mean_lab_error(x, t).item()
        for name, fn in methods.items():
            per[name][image] = mean_lab_error(fn(x).clamp(0, 1), t).item()
    rows = {k: sum(v.values()) / len(v) for k, v in per.items()}
    return {"rows": rows, "per_image": per, "images": len(pairs)}


# ----------------------------------------------------------------------------- the chapter's models
#: Table 6's rows that are trained here, with (kind, RMC): PixelRL with and without RMC, the global-action agent, the
#: supervised CNN of the same layers.
COLOR_ROWS: dict[str, tuple[str, bool]] = {"PixelRL +convGRU +RMC": ("pixelrl", True),
                                           "PixelRL +convGRU": ("pixelrl", False),
                                           "global-action agent": ("global", False),
                                           "supervised CNN": ("cnn", False)}


def run_name(style: str, kind: str, rmc: bool) -> str:
    """A colour model's folder name: ``watercolor-gru-rmc``, ``watercolor-gru``, ``watercolor-global``, ``...-cnn``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    return f"{style}-" + ({"pixelrl": "gru-rmc" if rmc else "gru"}.get(kind, kind))


def color_folder(style: str, kind: str, rmc: bool) -> Path:
    """Where ``scripts/train_pixelrl_color.py --style STYLE`` ships that model: ``restorelib/weights/pixelrl-color``."""
    return weights_dir() / "pixelrl-color" / run_name(style, kind, rmc)


def get_color_models(profile, style: str, pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
                     device: torch.device | str = "cpu", log: Callable[[str], None] | None = None,
                     skip_missing: bool = False) -> dict[str, tuple[nn.Module, dict]]:
    """Chapter 7's four colour models of :data:`COLOR_ROWS` at the active scale: trained here on the training
    ``pairs`` ({name: (input, target)}, (3, H, W) each) when ``profile.train`` (CI: seconds), else the shipped
    ``restorelib/weights/pixelrl-color/STYLE-*`` (``FileNotFoundError`` naming the script when one is missing,
    unless ``skip_missing``: then the rows not shipped are left out, and the chapter names them).
    Returns {row: (model in eval mode, record with ``seconds``, ``config`` and ``curve``)}."""
    if not profile.train:
        folders = {row: color_folder(style, kind, rmc) for row, (kind, rmc) in COLOR_ROWS.items()}
        return {row: load_color_model(f, device) for row, f in folders.items()
                if not skip_missing or has_record(f)}
    if not pairs:
        raise ValueError("pairs must hold the (input, target) training pairs when the profile trains")
    from dataclasses import replace

    from .a2c import train_pixelrl
    from .color import COLOR_SCALES, color_env
    base = COLOR_SCALES[profile.name]
    sampler, out = PairSampler(pairs, base.crop), {}
    for row, (kind, rmc) in COLOR_ROWS.items():
        cfg = replace(base, rmc=rmc)
        if kind == "cnn":
            model, rec = train_color_cnn(sampler, cfg, device, log)
        else:
            model, rec = train_pixelrl(sampler, color_env(style, kind == "global"), cfg, device=device, log=log)
        out[row] = (model, {"seconds": rec.seconds, "config": cfg.to_dict(), "kind": kind, "style": style,
                            "command": f"get_color_models at {profile.name} scale", "curve": rec.curve()})
    return out


def table6(models: dict[str, tuple[nn.Module, dict]], pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None
           ) -> dict:
    """Our Table 6 for one style: ``{"rows": {"Original": error, row: error, ...}, "images": n, "set": name}``, the mean
    CIELab error over whole test photos. Measured here on ``pairs`` ({name: (input, target)}) when given; else read
    from each model's record (the test that ``scripts/train_pixelrl_color.py`` ran after training), which must all
    cover the same images (``ValueError`` otherwise). ``models``: :func:`get_color_models`'s. Chapter 7."""
    if pairs is not None:
        fns = {row: enhancer(m, r["config"]["t_max"]) for row, (m, r) in models.items()}
        t = color_table(pairs, fns)
        return {"rows": t["rows"], "images": t["images"], "set": None}
    evals = {row: r.get("evaluation") for row, (_, r) in models.items()}
    if missing := [row for row, e in evals.items() if not e]:
        raise ValueError(f"models {missing} have no test in their record; pass pairs to measure them here")
    first = next(iter(evals.values()))
    for row, e in evals.items():
        if sorted(e["per_image"]) != sorted(first["per_image"]) or e["crop"] != first["crop"]:
            raise ValueError(f"the records' tests differ: {row!r} was tested on other images than the first model")
    return {"rows": {"Original": first["error_in"], **{row: e["error_out"] for row, e in evals.items()}},
            "images": first["images"], "set": first["set"]}


# ----------------------------------------------------------------------------- restore
class ColorMethod:
    """``pixelrl-color:FOLDER`` for ``python -m restorelib restore``: a colour agent or CNN of
    :func:`load_color_model` enhances the photo; ``chains`` name the most used action of each step. Chapter 7."""

    def __init__(self, folder: str | Path, device: torch.device | str = "cpu", t_max: int | None = None) -> None:
        if not folder:
            raise ValueError("method pixelrl-color:FOLDER needs the folder of a colour model (record.json)")
        self.model, self.record = load_color_model(folder, device)
        self.t_max = self.record["config"]["t_max"] if t_max is None else t_max
        if not isinstance(self.t_max, int) or isinstance(self.t_max, bool) or not 1 <= self.t_max <= 20:
            raise OptionError("max_length", f"max_length must be an int in 1..20 (the colour agent's steps), "
                              f"got {t_max!r}")
        self.can = Capabilities(steps=self.t_max)          # per-pixel actions, but reported as a chain of the most used
        self.name = f"pixelrl-color:{Path(folder).name}({self.record['kind']}, t={self.t_max})"
        self.params = count_params(self.model)
        self.step_counts: torch.Tensor | None = None

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        """degraded: RGB photos (N, 3, H, W) in [0, 1] -> Restored (the enhanced photos)."""
        n = check_images(degraded, "degraded", channels=3).shape[0]
        if isinstance(self.model, ColorCNN):
            return Restored(self.model.enhance(degraded).cpu(), [1] * n, [0] * n, [["cnn"] for _ in range(n)])
        out, maps = color_restore(self.model, degraded, self.t_max)
        self.step_counts = color_action_counts(maps)                  # (t_max, 13) shares of the pixels
        chain = [COLOR_ACTIONS[int(c.argmax())] for c in self.step_counts]
        return Restored(out.cpu(), [self.t_max] * n, [0] * n, [list(chain) for _ in range(n)], [self.t_max] * n)


def color_factory(arg: str, device: torch.device | str, max_length: int | None = None, **_: object) -> ColorMethod:
    """The ``pixelrl-color:FOLDER`` method (registered below)."""
    return ColorMethod(arg, device, t_max=max_length)


register_method("pixelrl-color", color_factory, "PixelRL's local colour enhancement (chapter 7): "
                "pixelrl-color:FOLDER, a model of scripts/train_pixelrl_color.py; --max-length sets the steps")


__all__ = ["COLOR_ROWS", "KINDS", "PAPER_TABLE6", "ColorCNN", "ColorCNNRecord", "ColorMethod", "color_factory",
           "color_folder", "color_table", "enhancer", "get_color_models", "table6", "load_color_model", "oracle_enhance",
           "run_name", "save_color_model", "train_color_cnn"]
