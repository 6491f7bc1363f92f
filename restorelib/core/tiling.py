"""Running fully convolutional networks on images of any size: tiles with enough context, receptive fields, and the
grid of patches that the agents vote with (chapters 2-8).

A tool sees only ``receptive_radius`` pixels around each output pixel, so a large photo can be cut into tiles that
overlap by that much and put back together exactly (:func:`apply_tiled`); memory then never exceeds one tile.
"""
from __future__ import annotations

import torch

#: The side of RL-Restore's patches (63 px), which the agents see and vote with.
PATCH = 63

#: Receptive-field radius of every tool (9x9 + 5x5 + 5x5 for the small ones): tiles overlap by at least this.
TOOL_RADIUS = 8


@torch.no_grad()
def apply_tiled(fn, image: torch.Tensor, tile: int = 512, margin: int = 2 * TOOL_RADIUS) -> torch.Tensor:
    """Apply a fully convolutional ``fn`` to (N, C, H, W) in tiles of ``tile`` px with ``margin`` px of context.

    With ``margin`` at least the receptive-field radius the result equals ``fn(image)`` (up to float rounding).
    """
    if not isinstance(tile, int) or tile < 16:
        raise ValueError(f"tile must be an int >= 16, got {tile!r}")
    n, c, h, w = image.shape
    if h <= tile and w <= tile:
        return fn(image)
    out = torch.empty_like(image)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(h, y + tile + margin), min(w, x + tile + margin)
            res = fn(image[:, :, y0:y1, x0:x1])
            out[:, :, y:y + tile, x:x + tile] = res[:, :, y - y0:y - y0 + min(tile, h - y),
                                                    x - x0:x - x0 + min(tile, w - x)]
    return out


def receptive_radius(module: torch.nn.Module) -> int:
    """An upper bound on how far (px) an output pixel of a convolutional network sees: the sum over its convolutions
    of ``dilation * (kernel - 1) / 2``, the largest of the two axes (8 for every tool of the toolbox)."""
    r = 0
    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            r += max(d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
    return r


def patch_grid(h: int, w: int, size: int = PATCH) -> list[tuple[int, int]]:
    """Top-left corners of ``size`` patches covering an h x w image; the last row/column is aligned to the border."""
    ys = list(range(0, max(1, h - size + 1), size))
    xs = list(range(0, max(1, w - size + 1), size))
    if h > size and ys[-1] != h - size:
        ys.append(h - size)
    if w > size and xs[-1] != w - size:
        xs.append(w - size)
    return [(y, x) for y in ys for x in xs]



__all__ = ["PATCH", "TOOL_RADIUS", "apply_tiled", "patch_grid", "receptive_radius"]
