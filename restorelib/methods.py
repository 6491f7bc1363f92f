"""The methods of chapters 1-3 for :func:`restorelib.evaluate.evaluate`: what a method is (:class:`Method`, its
:class:`Restored` output), ``identity``, ``tool:NAME``, the chapter-3 searches and a fixed chain.

A method's ``restore(degraded, clean=..., levels=...)`` turns degraded images into restored ones and says what it
spent; a method whose ``tileable`` is true also takes ``tile=T`` and then runs in tiles of T px (for the whole
photos of ``python -m restorelib restore``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from ._checks import check_images


@dataclass
class Restored:
    """A method's output for a batch: images (N, 3, H, W) in [0, 1], and per image its cost and chain."""

    images: torch.Tensor
    tool_calls: list[int]
    macs: list[int]
    chains: list[list[str]] = field(default_factory=list)
    trials: list[int] | None = None


class Method(Protocol):
    """What :func:`restorelib.evaluate.evaluate` needs of a method. ``clean`` and ``levels`` are for oracles
    (e.g. greedy search)."""

    name: str
    params: int

    def restore(self, degraded: torch.Tensor, *, clean: torch.Tensor | None = None,
                levels: list[dict[str, float]] | None = None) -> Restored: ...


class Identity:
    """Return the degraded image unchanged: the baseline every method must beat."""

    name, params, tileable = "identity", 0, True

    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        n = check_images(degraded, "degraded").shape[0]
        return Restored(degraded, [0] * n, [0] * n, [[] for _ in range(n)])


class SingleTool:
    """Apply one tool of the toolbox (``tool:NAME``) once; ``restore(..., tile=T)`` runs it in tiles of T px."""

    tileable = True

    def __init__(self, tool: str, toolbox: "object | None" = None, device: torch.device | str = "cpu") -> None:
        from .tools import Toolbox, count_params
        self.toolbox = toolbox if toolbox is not None else Toolbox.load(device=device)
        self.index = self.toolbox.index(tool)
        self.name = f"tool:{tool}"
        self.params = count_params(self.toolbox.nets[self.index])

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, *, tile: int | None = None, **_: object) -> Restored:
        from .restore import apply_tiled
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        out = apply_tiled(lambda t: self.toolbox.apply(t, self.index), degraded, tile) if tile else \
            self.toolbox.apply(degraded, self.index)
        name = self.toolbox.names[self.index]
        return Restored(out, [1] * n, [round(self.toolbox.macs_per_pixel(self.index) * h * w)] * n,
                        [[name] for _ in range(n)])


class SearchMethod:
    """A chapter-3 searcher as a method: ``reverse``, ``greedy``, ``brute-force`` or ``random``.

    ``tool_calls`` counts the tools of the chain finally applied; ``trials`` the tool applications spent searching
    (greedy and brute force score candidates against the ground truth: they are oracles); ``macs`` the cost of all
    tool applications, search included. ``reverse`` and ``random`` fix the chain before they run it, so they can
    run in tiles (``tileable``, ``restore(..., tile=T)``); the searches score whole images and cannot.
    """

    def __init__(self, kind: str, device: torch.device | str = "cpu", max_length: int = 3, budget: int | None = None,
                 seed: int = 0, toolbox: "object | None" = None, scorer: "str | Callable | None" = None) -> None:
        from .tools import Toolbox, count_params
        self.kind, self.max_length, self.budget = kind, max_length, budget
        self.score = None
        if scorer is not None:                  # greedy / brute force on a no-reference score: no ground truth
            from .quality import get_scorer
            self.score = get_scorer(scorer)
        self.toolbox = toolbox if toolbox is not None else Toolbox.load(device=device)
        self.name = kind if kind in ("reverse", "random") else f"{kind}(L={max_length})"
        if len(self.toolbox) != 12:
            self.name = f"{self.name}[{len(self.toolbox)} tools]"
        if budget is not None:
            self.name = f"{self.name}[budget {budget}]"
        if scorer is not None:
            self.name = f"{self.name}[{scorer if isinstance(scorer, str) else 'score'}]"
        self.params = count_params(self.toolbox)
        self.generator = torch.Generator().manual_seed(seed)
        self.tileable = kind in ("reverse", "random")

    def _macs(self, chain: list[str], h: int, w: int) -> int:
        return round(sum(self.toolbox.macs_per_pixel(t) for t in chain) * h * w)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, *, clean: torch.Tensor | None = None,
                levels: list[dict[str, float]] | None = None, tile: int | None = None) -> Restored:
        from . import search
        from .restore import apply_tiled, receptive_radius
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        if clean is not None and check_images(clean, "clean", channels=3).shape != degraded.shape:
            raise ValueError(f"clean must have the shape of degraded {tuple(degraded.shape)}, got {tuple(clean.shape)}")
        if tile is not None and not self.tileable:
            raise ValueError(f"method {self.kind} scores whole images and cannot run in tiles")
        if self.kind in ("reverse", "random"):
            if self.kind == "reverse":
                if levels is None:
                    raise ValueError("method reverse needs the distortion levels (it knows the degradation)")
                chains = [search.reverse_chain(lv, self.toolbox) for lv in levels]
            else:
                chains = search.random_chains(self.toolbox, n, self.max_length, generator=self.generator)
            if tile:
                reach = max([sum(receptive_radius(self.toolbox.nets[self.toolbox.index(t)]) for t in c)
                             for c in chains] + [1])
                out = apply_tiled(lambda t: search.run_chains(self.toolbox, t, chains), degraded, tile, 2 * reach)
            else:
                out = search.run_chains(self.toolbox, degraded, chains)
            return Restored(out, [len(c) for c in chains], [self._macs(c, h, w) for c in chains], chains,
                            [len(c) for c in chains])
        if self.score is not None:
            clean = None
        elif clean is None:
            raise ValueError(f"method {self.kind} needs the ground truth (it is an oracle)")
        if self.kind == "greedy":
            r = search.greedy(self.toolbox, degraded, clean, self.max_length, score=self.score)
        else:
            r = search.brute_force(self.toolbox, degraded, clean, self.max_length, budget=self.budget, score=self.score)
        # every trial runs one tool; greedy and brute force try all tools alike, so charge the mean tool's cost
        per_trial = sum(self.toolbox.macs_per_pixel(i) for i in range(len(self.toolbox))) / len(self.toolbox)
        macs = [round(t * per_trial * h * w) for t in r.trials]
        return Restored(r.images, [len(c) for c in r.chains], macs, r.chains, r.trials)


class FixedChain:
    """The same chain of tools for every image (e.g. chapter 3's best fixed chain, fitted on training patches)."""

    def __init__(self, chain: list[str], toolbox: "object", name: str = "best fixed chain") -> None:
        from .tools import count_params
        self.chain, self.toolbox, self.name = list(chain), toolbox, name
        self.params = count_params(toolbox)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        from .search import run_chains
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        macs = round(sum(self.toolbox.macs_per_pixel(t) for t in self.chain) * h * w)
        return Restored(run_chains(self.toolbox, degraded, [self.chain] * n), [len(self.chain)] * n, [macs] * n,
                        [list(self.chain) for _ in range(n)])
