"""Clean training patches for the loops of chapters 5-8: from a patch bank, or fresh crops of whole photos.

A loop takes either a *patch bank* (P, 3, S, S) in [0, 1], as the notebooks build with
:func:`~restorelib.core.patches.patch_bank`, or a :class:`~restorelib.core.patches.CropSampler`, which keeps each training photo
once as uint8 and cuts fresh S x S crops anywhere (CBSD398 in about 0.3 GB, where its patch bank needs 3 GB). A batch
from a bank is drawn exactly as before the samplers existed, so results at the same settings do not change.
"""
from __future__ import annotations

import argparse

import torch

from .flags import add_train_set_flag  # noqa: F401 -- defined with the other shared flags, importable here too
from .validation import check_images
from .patches import CropSampler, augment


def draw_clean(bank: "torch.Tensor | CropSampler", n: int, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` clean patches (n, C, S, S), randomly flipped and rotated, from a patch bank or a crop sampler."""
    if isinstance(bank, CropSampler):
        return augment(bank.sample(n, generator), generator)
    return augment(bank[torch.randint(len(bank), (n,), generator=generator)], generator)


def check_bank(bank: object, size: int | None = None, min_size: int = 1, name: str = "bank") -> None:
    """``ValueError`` unless ``bank`` is a patch bank (P, 3, S, S) or a :class:`~restorelib.core.patches.CropSampler`,
    of side ``size`` when given, else at least ``min_size``, with finite values in [0, 1]."""
    if isinstance(bank, CropSampler):
        side, ok = bank.size, True
    else:
        ok = isinstance(bank, torch.Tensor) and bank.dim() == 4 and bank.shape[1] == 3 and len(bank) > 0 \
            and bank.shape[2] == bank.shape[3] and bank.is_floating_point()
        side = bank.shape[-1] if ok else None
    if not ok or (size is not None and side != size) or (size is None and side < min_size):
        want = f"{size} x {size}" if size is not None else f"at least {min_size} x {min_size}"
        got = f"a CropSampler of size {side}" if isinstance(bank, CropSampler) else \
            f"{tuple(bank.shape) if isinstance(bank, torch.Tensor) else type(bank).__name__}"
        raise ValueError(f"{name} must be a patch bank (P, 3, S, S) or a CropSampler, with patches of {want}; "
                         f"got {got}")
    if isinstance(bank, torch.Tensor):
        check_images(bank, name, channels=3)               # finite, in [0, 1]: a 0-255 bank would train nothing


def train_sampler(ap: argparse.ArgumentParser, names: list[str], size: int,
                  scales: tuple[float, ...] | None = None) -> tuple[dict[str, torch.Tensor], CropSampler]:
    """The images of the named sets and a :class:`~restorelib.core.patches.CropSampler` of ``size`` over them (at
    ``scales``, default the three of RL-Restore); a set that cannot be loaded exits with status 2 naming
    ``--train-set``."""
    from . import data
    try:
        images = data.load_train_sets(names)
        return images, CropSampler(images, size, *(() if scales is None else (scales,)))
    except (KeyError, ValueError, FileNotFoundError, data.DownloadError) as e:
        ap.error(f"--train-set: {e}")


def train_set_record(names: list[str], images: dict[str, torch.Tensor]) -> dict:
    """The record's fields of the training data: ``train_sets`` (names) and ``train_images`` (photos)."""
    return {"train_sets": list(names), "train_images": len(images)}


def crops_phrase(train_patches: int | None, train_sets: list[str], train_images: int, size: int = 63) -> str:
    """A model card's words for crop-sampled training data, e.g. "fresh 63x63 crops (1,234,567 positions) of 398
    images of `CBSD398`"."""
    where = f" ({train_patches:,} positions)" if train_patches is not None else ""
    return (f"fresh {size}x{size} crops{where} of {train_images} images of "
            + ", ".join(f"`{n}`" for n in train_sets))
