"""Patch sampling as in RL-Restore (chapter 1): 63x63 sub-images on a stride, at scales x1, x2/3 and x1/3.

Training and test patches must come from different images; :func:`split_names` makes a seeded split by
image, and :func:`patch_bank` refuses to mix them only in the sense that it is called per split.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .validation import check_image, check_images
from .data import to_rgb

PATCH = 63
#: The image scales patches are cut at (RL-Restore's x1, x2/3, x1/3); not the book's scales (core.scales).
CROP_SCALES = (1.0, 2 / 3, 1 / 3)
SCALES = CROP_SCALES                              # the 0.1 name


def _check_image(image: object, name: str = "image") -> torch.Tensor:
    return check_image(image, name)                    # (C, H, W), float, finite, in [0, 1]


def grid_patches(image: torch.Tensor, size: int = PATCH, stride: int = 96) -> torch.Tensor:
    """All ``size`` x ``size`` patches of ``image`` (C, H, W) on a ``stride`` grid -> (P, C, size, size)."""
    _check_image(image)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    c, h, w = image.shape
    if h < size or w < size:
        raise ValueError(f"size {size} is larger than the image ({h}x{w})")
    p = image.unfold(1, size, stride).unfold(2, size, stride)            # (C, nh, nw, size, size)
    return p.permute(1, 2, 0, 3, 4).reshape(-1, c, size, size).contiguous()


def rescale(image: torch.Tensor, scale: float) -> torch.Tensor:
    """Down-scale (C, H, W) by ``scale`` in (0, 1] with antialiased bicubic interpolation, clipped to [0, 1]."""
    _check_image(image)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:   # NaN fails too
        raise ValueError(f"scale must be in (0, 1] (a number), got {scale!r}")
    if scale == 1:
        return image
    h, w = image.shape[-2:]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(image[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)


def patch_bank(images: dict[str, torch.Tensor] | list[torch.Tensor], size: int = PATCH, stride: int = 96,
               scales: tuple[float, ...] = CROP_SCALES, rgb: bool = True) -> torch.Tensor:
    """Patches of every image at every scale, stacked: (P, 3 or C, size, size) float32 in [0, 1].

    Scales at which an image is smaller than ``size`` contribute nothing; an image with no patch at
    any scale raises ``ValueError``.
    """
    items = list(images.items()) if isinstance(images, dict) else list(enumerate(images))
    if not items:
        raise ValueError("images must not be empty")
    out = []
    for key, img in items:
        _check_image(img, f"images[{key!r}]")
        img = to_rgb(img) if rgb else img
        scaled = [rescale(img, s) for s in scales]
        got = [grid_patches(r, size, stride) for r in scaled if min(r.shape[-2:]) >= size]
        if not got:
            raise ValueError(f"images[{key!r}] of size {tuple(img.shape[-2:])} is smaller than size {size}")
        out.extend(got)
    return torch.cat(out)


def random_patches(image: torch.Tensor, n: int, size: int = PATCH,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` seeded random ``size`` x ``size`` crops of ``image`` (C, H, W) -> (n, C, size, size)."""
    _check_image(image)
    c, h, w = image.shape
    if h < size or w < size:
        raise ValueError(f"size {size} is larger than the image ({h}x{w})")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    ys = torch.randint(0, h - size + 1, (n,), generator=generator).tolist()
    xs = torch.randint(0, w - size + 1, (n,), generator=generator).tolist()
    return torch.stack([image[:, y:y + size, x:x + size] for y, x in zip(ys, xs)])


def augment(batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random flips and 90-degree rotations of square patches, one draw per batch: (N, C, S, S) -> same."""
    check_images(batch, "batch")
    k = int(torch.randint(4, (1,), generator=generator))
    flip = bool(torch.randint(2, (1,), generator=generator))
    batch = torch.rot90(batch, k, dims=(-2, -1))
    return batch.flip(-1) if flip else batch


def split_names(names: list[str], test_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split image names into disjoint (train, test) lists by image, seeded; each gets at least one image."""
    names = list(names)
    if len(names) < 2:
        raise ValueError(f"names must hold at least two images to split, got {len(names)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    perm = torch.randperm(len(names), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test = min(len(names) - 1, max(1, round(test_fraction * len(names))))
    test = sorted(names[i] for i in perm[:n_test])
    return sorted(n for n in names if n not in test), test


class CropSampler:
    """Random ``size`` x ``size`` crops of whole images at the scales x1, x2/3, x1/3, drawn on the fly (chapter 2).

    Where :func:`patch_bank` stores every 63x63 patch on a grid (about 180 per photo: 3 GB for CBSD398), this keeps
    each image once per scale as uint8 (0.3 GB for CBSD398) and cuts fresh crops at any position, so a smaller
    training crop (e.g. 40x40, 2.5x cheaper per step than 63x63) sees every position of every photo.
    """

    def __init__(self, images: dict[str, torch.Tensor] | list[torch.Tensor], size: int,
                 scales: tuple[float, ...] = CROP_SCALES) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        items = list(images.items()) if isinstance(images, dict) else list(enumerate(images))
        if not items:
            raise ValueError("images must not be empty")
        self.size, self.images = size, []
        for key, img in items:
            _check_image(img, f"images[{key!r}]")
            img = to_rgb(img)
            for s in scales:
                r = rescale(img, s)
                if min(r.shape[-2:]) >= size:
                    self.images.append((r * 255).round().to(torch.uint8))
        if not self.images:
            raise ValueError(f"no image is at least {size}x{size} pixels at any scale")
        # An image is drawn in proportion to its number of crop positions, so every position is equally likely.
        self.weights = torch.tensor([float((im.shape[1] - size + 1) * (im.shape[2] - size + 1))
                                     for im in self.images], dtype=torch.float64)

    def __len__(self) -> int:
        """The number of distinct crop positions over all images and scales."""
        return int(self.weights.sum())

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random crops -> (n, 3, size, size) float32 in [0, 1]."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        idx = torch.multinomial(self.weights, n, replacement=True, generator=generator).tolist()
        u = torch.rand(n, 2, generator=generator, dtype=torch.float64).tolist()
        out = []
        for i, (uy, ux) in zip(idx, u):
            im = self.images[i]
            y = int(uy * (im.shape[1] - self.size + 1))
            x = int(ux * (im.shape[2] - self.size + 1))
            out.append(im[:, y:y + self.size, x:x + self.size])
        return torch.stack(out).float() / 255.0
