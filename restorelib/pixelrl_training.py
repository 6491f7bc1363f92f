"""The pieces of PixelRL's training loop (chapter 7): its crops, the supervised start, the record of a run.

Training crops come from a patch bank (P, C, H, W), as the chapter builds, or from a
:class:`~restorelib.patches.CropSampler` over whole photos (CBSD398 in 0.2 GB instead of a bank of about 1 GB).
:func:`restorelib.pixelrl.train_pixelrl` uses them; :mod:`restorelib.pixelrl` re-exports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from ._checks import check_images
from .config import get_device
from .patches import CropSampler, augment
from .pixelrl_actions import Task, to_gray

if TYPE_CHECKING:
    from .pixelrl import PixelRLConfig, PixelRLNet


def _check_bank(bank: object, cfg: PixelRLConfig, size: int) -> torch.Tensor | CropSampler:
    """The bank of a training run: a patch bank (P, C, H, W) (RGB made gray for a 1-channel ``cfg``), or a
    :class:`~restorelib.patches.CropSampler` cutting ``size`` x ``size`` crops (made gray at draw time)."""
    if isinstance(bank, CropSampler):
        if bank.size != size:
            raise ValueError(f"clean_bank must be a CropSampler of size {size} (the training crop), got {bank.size}")
        return bank
    check_images(bank, "clean_bank", min_size=size)
    if bank.shape[1] == 3 and cfg.channels == 1:
        bank = to_gray(bank)
    if bank.shape[1] != cfg.channels:
        raise ValueError(f"clean_bank must have {cfg.channels} channel(s) (or 3, converted to gray), got shape "
                         f"{tuple(bank.shape)}")
    return bank


def sample_crops(bank: torch.Tensor, n: int, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` random ``size`` x ``size`` crops of random images of bank (P, C, H, W), each flipped and rotated."""
    idx = torch.randint(len(bank), (n,), generator=generator).tolist()
    h, w = bank.shape[-2:]
    out = []
    for i in idx:
        y, x = (int(torch.randint(d - size + 1, (1,), generator=generator)) for d in (h, w))
        k, flip = torch.randint(4, (2,), generator=generator).tolist()
        crop = torch.rot90(bank[i, :, y:y + size, x:x + size], k, dims=(-2, -1))
        out.append(crop.flip(-1) if flip % 2 else crop)
    return torch.stack(out)


def draw_crops(bank: torch.Tensor | CropSampler, n: int, size: int, channels: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` training crops (n, channels, size, size): :func:`sample_crops` of a patch bank, or fresh crops of a
    :class:`~restorelib.patches.CropSampler`, flipped and rotated, made gray when ``channels`` is 1."""
    if not isinstance(bank, CropSampler):
        return sample_crops(bank, n, size, generator)
    crops = augment(bank.sample(n, generator), generator)
    return to_gray(crops) if channels == 1 else crops


def pretrain_shared(net: PixelRLNet, clean_bank: torch.Tensor | CropSampler, task: str | Task = "noise:15",
                    steps: int = 1000, batch: int = 16, crop: int = 48, lr: float = 1e-3,
                    device: torch.device | str | None = None, seed: int = 0,
                    progress: bool | str = False) -> list[float]:
    """Initialise ``net`` from a supervised residual denoiser with the same layers (the paper starts from DnCNN).

    The denoiser is the trunk, a dilation-3 and a dilation-2 conv and a 3x3 conv to the noise (IRCNN's dilations
    1, 2, 3, 4, 3, 2, 1); after ``steps`` Adam steps on MSE its trunk is copied into ``net.trunk`` and its two
    dilated convs into both branches (as the authors did), the last layers and the convGRU stay as they are.
    clean_bank: (P, C, H, W) in [0, 1], or a :class:`~restorelib.patches.CropSampler`. ``progress``: a bar with an
    ETA (:class:`restorelib.long_runs.Progress`). Returns the loss per step. Chapter 7.
    """
    from .pixelrl_baselines import Denoiser, train_denoiser
    dev = get_device(device)
    twin = Denoiser(net.in_channels, net.width).to(dev)
    twin.trunk.load_state_dict(net.trunk.state_dict())
    twin, losses, _ = train_denoiser(clean_bank, task, steps, batch, crop, lr, dev, seed, model=twin, progress=progress)
    net.trunk.load_state_dict(twin.trunk.state_dict())
    net.pi_head.load_state_dict(twin.head.state_dict())
    net.v_head.load_state_dict(twin.head.state_dict())
    return losses


@dataclass
class TrainRecord:
    """Per logged episode: mean return per pixel, PSNR gain of the (sampled) episodes, loss, lr; total seconds."""

    episodes: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    psnr_gain: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    pretrain_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def curve(self) -> dict[str, list[float]]:
        """The curves as stored in ``record.json`` (``episodes``, ``return``, ``psnr_gain_db``, ...)."""
        return {"episodes": self.episodes, "return": self.returns, "psnr_gain_db": self.psnr_gain,
                "loss": self.losses, "lr": self.lr, "pretrain_loss": self.pretrain_loss}
