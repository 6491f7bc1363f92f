"""The searches of chapter 3 as methods: ``reverse``, ``greedy``, ``brute-force``, ``random`` (and, on a
no-reference score, ``greedy-nr`` / ``brute-force-nr`` of chapter 8), and a fixed chain.

``KIND:TOOLS`` searches another toolbox: a folder with a ``manifest.json``, or a name that a chapter registered with
:func:`register_search_toolbox` (``hirl``: HIRL's nine tools, chapter 6).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ..core.method import Capabilities, Method, OptionError, Restored, register_method
from ..core.plugins import load_providers
from ..core.quality import get_scorer
from ..core.tiling import apply_tiled, receptive_radius
from ..core.validation import check_images
from ..toolbox.tools import Toolbox, count_params
from . import chains as search

MAX_TRIALS_WITHOUT_BUDGET = 10_000
"""The most trials per image the ``brute-force`` method spends without a ``budget``: every chain of up to 3 of
RL-Restore's 12 tools (1,884) or of up to 4 of HIRL's 9 (7,380, HIRL's Table 2); 4 of 12 (22,620) needs one."""


class SearchMethod:
    """A chapter-3 searcher as a method: ``reverse``, ``greedy``, ``brute-force`` or ``random``.

    ``tool_calls`` counts the tools of the chain finally applied; ``trials`` the tool applications spent searching
    (greedy and brute force score candidates against the ground truth: they are oracles); ``macs`` the cost of all
    tool applications, search included. ``reverse`` and ``random`` fix the chain before they run it, so they can
    run in tiles (``restore(..., tile=T)``); the searches score whole images and cannot. ``scorer`` (a name of
    :func:`restorelib.core.quality.scorer_names` or a callable) makes greedy and brute force search on a
    no-reference score instead of the ground truth (chapter 8).
    """

    def __init__(self, kind: str, device: torch.device | str = "cpu", max_length: int = 3, budget: int | None = None,
                 seed: int = 0, toolbox: Toolbox | None = None, scorer: str | Callable | None = None) -> None:
        self.kind, self.max_length, self.budget = kind, max_length, budget
        self.score = None if scorer is None else get_scorer(scorer)   # greedy / brute force without ground truth
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
        self.can = Capabilities(tiles=self.tileable, steps=None if kind == "reverse" else max_length,
                                oracle=kind in ("greedy", "brute-force") and scorer is None)

    def cost_note(self, items: int, unit: str = "image", budget_flag: str = "budget") -> str | None:
        """Brute force: one line saying what it will cost on ``items`` images (or patches: ``unit``), told before
        it starts, e.g. ``brute-force(L=3): up to 1,884 tool applications per image (...), 18,840 for 10 images``;
        None for the other searches, which cost a few tool applications."""
        if self.kind != "brute-force":
            return None
        m = len(self.toolbox)
        trials = search.brute_force_trials(m, self.max_length)
        trials = trials if self.budget is None else min(trials, self.budget)
        plural = unit if items == 1 else unit + ("es" if unit.endswith("ch") else "s")
        capped = "" if self.budget is None else f", capped by {budget_flag}"
        return (f"{self.name}: up to {trials:,} tool applications per {unit} (every chain of at most "
                f"{self.max_length} of {m} tools{capped}), {trials * items:,} for {items:,} {plural}")

    def _macs(self, chain: list[str], h: int, w: int) -> int:
        return round(sum(self.toolbox.macs_per_pixel(t) for t in chain) * h * w)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, *, clean: torch.Tensor | None = None,
                levels: list[dict[str, float]] | None = None, tile: int | None = None) -> Restored:
        """degraded (N, 3, H, W) in [0, 1]; ``clean`` for the oracles, ``levels`` for ``reverse``."""
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        if clean is not None and check_images(clean, "clean", channels=3).shape != degraded.shape:
            raise ValueError(f"clean must have the shape of degraded {tuple(degraded.shape)}, got {tuple(clean.shape)}")
        if tile is not None and not self.tileable:
            raise ValueError(f"method {self.kind} scores whole images and cannot run in tiles")
        if self.kind in ("reverse", "random"):
            return self._fixed_chains(degraded, levels, tile)
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

    def _fixed_chains(self, degraded: torch.Tensor, levels: list[dict[str, float]] | None,
                      tile: int | None) -> Restored:
        n, _, h, w = degraded.shape
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


class FixedChain:
    """The same chain of tools for every image (e.g. chapter 3's best fixed chain, fitted on training patches)."""

    def __init__(self, chain: list[str], toolbox: Toolbox, name: str = "best fixed chain") -> None:
        self.chain, self.toolbox, self.name = list(chain), toolbox, name
        self.params = count_params(toolbox)
        self.can = Capabilities(steps=len(self.chain))

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        """degraded (N, 3, H, W) in [0, 1] -> the chain's output for every image."""
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        macs = round(sum(self.toolbox.macs_per_pixel(t) for t in self.chain) * h * w)
        return Restored(search.run_chains(self.toolbox, degraded, [self.chain] * n), [len(self.chain)] * n,
                        [macs] * n, [list(self.chain) for _ in range(n)])


# ----------------------------------------------------------------------------- the registry's entries
_TOOLBOXES: dict[str, Callable[[torch.device], Toolbox]] = {}


def register_search_toolbox(name: str, load: Callable[[torch.device], Toolbox]) -> None:
    """Let ``KIND:name`` search the toolbox ``load(device)`` returns (chapter 6 registers ``hirl``)."""
    _TOOLBOXES[name] = load


def search_toolbox(arg: str, device: torch.device) -> Toolbox | None:
    """The toolbox of ``KIND:ARG``: none given = RL-Restore's 12 tools (None), a registered name, or a folder with a
    ``manifest.json`` of trained tools."""
    if arg in ("", "rl-restore"):
        return None
    if arg not in _TOOLBOXES:
        load_providers()
    if arg in _TOOLBOXES:
        return _TOOLBOXES[arg](device)
    if (Path(arg) / "manifest.json").is_file():
        return Toolbox.load(arg, device)
    raise ValueError(f"method KIND:TOOLS needs TOOLS = rl-restore, {', '.join(sorted(_TOOLBOXES))} or a folder with "
                     f"manifest.json, got {arg!r}")


def check_cost(method: SearchMethod) -> SearchMethod:
    """Refuse a brute force without budget that would try more than :data:`MAX_TRIALS_WITHOUT_BUDGET` chains."""
    if method.kind == "brute-force" and method.budget is None:
        m, length = len(method.toolbox), method.max_length
        n = search.brute_force_trials(m, length)
        if n > MAX_TRIALS_WITHOUT_BUDGET:
            raise OptionError("max_length", f"max_length {length}: brute force over {m} tools tries {n:,} chains "
                              f"per image, more than {MAX_TRIALS_WITHOUT_BUDGET:,} without a budget; give one "
                              f"(--budget N) or a shorter max_length")
    return method


def _check_search_options(max_length: object, budget: object) -> None:
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 6:
        raise OptionError("max_length", f"max_length must be an int in 1..6, got {max_length!r}")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 1):
        raise OptionError("budget", f"budget must be a positive int or None, got {budget!r}")


def _search_factory(kind: str) -> Callable[..., Method]:
    def make(arg: str, device: torch.device, max_length: int = 3, budget: int | None = None, seed: int = 0,
             **_: object) -> Method:
        _check_search_options(max_length, budget)
        return check_cost(SearchMethod(kind, device, max_length=max_length, budget=budget, seed=seed,
                                       toolbox=search_toolbox(arg, device)))
    return make


def _nr_search_factory(kind: str) -> Callable[..., Method]:
    def make(arg: str, device: torch.device, max_length: int = 3, budget: int | None = None, **_: object) -> Method:
        from ..core.quality import scorer_names
        scorer = arg or "niqe"
        if scorer not in scorer_names():
            raise ValueError(f"method {kind}-nr:SCORER needs SCORER in {scorer_names()}, got {arg!r}")
        _check_search_options(max_length, budget)
        return check_cost(SearchMethod(kind, device, max_length=max_length, budget=budget, scorer=scorer))
    return make


register_method("reverse", _search_factory("reverse"), "undo the known distortions in reverse order (JPEG, noise, blur)")
register_method("greedy", _search_factory("greedy"), "best one-step PSNR gain each step (oracle, --max-length)")
register_method("brute-force", _search_factory("brute-force"),
                "best chain of length <= --max-length, stopping allowed (oracle; --budget caps the trials); "
                "KIND:hirl searches HIRL's 9 tools, for every search method")
register_method("random", _search_factory("random"), "a random chain of --max-length tools")
register_method("greedy-nr", _nr_search_factory("greedy"), "greedy on a no-reference score, no ground truth "
                "(chapter 8); greedy-nr:SCORER (default niqe)")
register_method("brute-force-nr", _nr_search_factory("brute-force"), "brute force on a no-reference score, no "
                "ground truth (chapter 8); brute-force-nr:SCORER (default niqe)")

__all__ = ["MAX_TRIALS_WITHOUT_BUDGET", "FixedChain", "SearchMethod", "check_cost", "register_search_toolbox",
           "search_toolbox"]
