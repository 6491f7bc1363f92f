"""One tool as a method (chapter 2): ``tool:NAME`` applies one tool of the toolbox once, in tiles on large photos."""
from __future__ import annotations

import torch

from ..core.method import Capabilities, Method, Restored, register_method
from ..core.tiling import apply_tiled
from ..core.validation import check_images
from .tools import TOOL_NAMES, Toolbox, count_params


class SingleTool:
    """Apply one tool of the toolbox (``tool:NAME``) once; ``restore(..., tile=T)`` runs it in tiles of T px."""

    can = Capabilities(tiles=True, steps=1)

    def __init__(self, tool: str, toolbox: Toolbox | None = None, device: torch.device | str = "cpu") -> None:
        self.toolbox = toolbox if toolbox is not None else Toolbox.load(device=device)
        self.index = self.toolbox.index(tool)
        self.name = f"tool:{tool}"
        self.params = count_params(self.toolbox.nets[self.index])

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, *, tile: int | None = None, **_: object) -> Restored:
        """degraded (N, 3, H, W) in [0, 1] -> the tool's output, one tool call and its multiply-adds per image."""
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        out = apply_tiled(lambda t: self.toolbox.apply(t, self.index), degraded, tile) if tile else \
            self.toolbox.apply(degraded, self.index)
        name = self.toolbox.names[self.index]
        return Restored(out, [1] * n, [round(self.toolbox.macs_per_pixel(self.index) * h * w)] * n,
                        [[name] for _ in range(n)])


def _tool_factory(arg: str, device: torch.device, **_: object) -> Method:
    if arg not in TOOL_NAMES:
        raise ValueError(f"method tool:NAME needs NAME in {list(TOOL_NAMES)}, got {arg!r}")
    return SingleTool(arg, device=device)


register_method("tool", _tool_factory, "tool:NAME applies one tool of the toolbox once")

__all__ = ["SingleTool"]
