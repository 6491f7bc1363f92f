"""The pieces of PixelRL's training loop (chapter 7): its crops and the record of a run.

Training crops come from a patch bank (P, C, H, W), as the chapter builds, or from a
:class:`~restorelib.core.patches.CropSampler` over whole photos (CBSD398 in 0.2 GB instead of a bank of about 1 GB).
:func:`restorelib.pixelrl.a2c.train_pixelrl` uses them; :mod:`restorelib.pixelrl.a2c` re-exports them. The
supervised start (:func:`restorelib.pixelrl.baselines.pretrain_shared`) lives with the supervised denoiser.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..core.training_log import TrainingLog
from ..core.validation import check_images
from ..core.patches import CropSampler, augment
from .actions import to_gray



def _check_bank(bank: object, channels: int, size: int) -> torch.Tensor | CropSampler:
    """The bank of a training run: a patch bank (P, C, H, W) (RGB made gray for ``channels`` 1), or a
    :class:`~restorelib.core.patches.CropSampler` cutting ``size`` x ``size`` crops (made gray at draw time)."""
    if isinstance(bank, CropSampler):
        if bank.size != size:
            raise ValueError(f"clean_bank must be a CropSampler of size {size} (the training crop), got {bank.size}")
        return bank
    check_images(bank, "clean_bank", min_size=size)
    if bank.shape[1] == 3 and channels == 1:
        bank = to_gray(bank)
    if bank.shape[1] != channels:
        raise ValueError(f"clean_bank must have {channels} channel(s) (or 3, converted to gray), got shape "
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
    :class:`~restorelib.core.patches.CropSampler`, flipped and rotated, made gray when ``channels`` is 1."""
    if not isinstance(bank, CropSampler):
        return sample_crops(bank, n, size, generator)
    crops = augment(bank.sample(n, generator), generator)
    return to_gray(crops) if channels == 1 else crops


@dataclass
class TrainRecord(TrainingLog):
    """Per logged episode: mean return per pixel, PSNR gain of the (sampled) episodes, loss, lr; the supervised
    start's losses; total seconds (:class:`~restorelib.core.training_log.TrainingLog`)."""

    episodes: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    psnr_gain: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    pretrain_loss: list[float] = field(default_factory=list)

    AXIS = "episodes"
    MEANS = {"returns": "ret", "psnr_gain": "gain", "losses": "loss"}
    JSON = {"episodes": "episodes", "returns": "return", "psnr_gain": "psnr_gain_db", "losses": "loss", "lr": "lr",
            "pretrain_loss": "pretrain_loss"}
