"""Searching toolchains without learning (chapter 3): reverse order, greedy, brute force, random, best fixed chain.

All searchers work on a batch (N, 3, H, W) in [0, 1] and return a :class:`SearchResult` per batch: the chain chosen
for each image, the restored images, and the number of *trials* (tool applications spent searching) per image.
``greedy`` and ``brute_force`` are oracles: they read the ground truth to score candidate chains, which no real
restorer can do. They bound what a tool-picking agent could reach with the same toolbox.

Brute force over chains of length <= L with m tools, stopping allowed, costs sum_{i=1..L} m^i trials per image:
12 + 144 + 1728 = 1884 for RL-Restore's toolbox at L = 3 (HIRL's Table 2 counts 9, 90, 819, 7380 for 9 tools).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..core.validation import check_images
from ..core.metrics import psnr
from ..toolbox.tools import Toolbox

JPEG_THEN_NOISE_THEN_BLUR = ("jpeg", "noise", "blur")


@dataclass
class SearchResult:
    """Chains (tool names per image), restored images (N, 3, H, W), PSNR per image and trials per image."""

    chains: list[list[str]]
    images: torch.Tensor
    psnr: torch.Tensor
    trials: list[int]


def brute_force_trials(m: int, max_len: int) -> int:
    """Tool applications to score every chain of length 1..max_len over m tools (shared prefixes reused)."""
    if m < 1 or max_len < 0:
        raise ValueError(f"m must be >= 1 and max_len >= 0, got m={m}, max_len={max_len}")
    return sum(m**i for i in range(1, max_len + 1))


def _check(x: torch.Tensor, clean: torch.Tensor | None, max_len: int) -> None:
    check_images(x, "x", channels=3)
    if clean is not None:
        check_images(clean, "clean", channels=3)
        if clean.shape != x.shape:
            raise ValueError(f"clean must have the shape of x {tuple(x.shape)}, got {tuple(clean.shape)}")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 0:
        raise ValueError(f"max_len must be a non-negative int, got {max_len!r}")


def _tool_ids(toolbox: Toolbox, tools: list[str] | None) -> list[int]:
    return list(range(len(toolbox))) if tools is None else [toolbox.index(t) for t in tools]


def reverse_chain(levels: dict[str, float], toolbox: Toolbox) -> list[str]:
    """Undo known distortions in the reverse order of the degradation (JPEG, then noise, then blur).

    For each distortion present with a positive level (any JPEG quality counts), pick the tool whose interval holds
    the level (the nearest interval when none does). ``levels`` is one dict as returned by ``degrade``.
    """
    chain = []
    for kind in JPEG_THEN_NOISE_THEN_BLUR:
        if kind not in levels or (kind != "jpeg" and levels[kind] <= 0):
            continue
        v = levels[kind]
        specs = [s for s in toolbox.specs if s.distortion == kind]
        if not specs:
            continue
        best = min(specs, key=lambda s: 0.0 if s.low <= v <= s.high else min(abs(v - s.low), abs(v - s.high)))
        chain.append(best.name)
    return chain


@torch.no_grad()
def run_chains(toolbox: Toolbox, x: torch.Tensor, chains: list[list[str]]) -> torch.Tensor:
    """Apply a (possibly different) chain to every image, one tool call per distinct tool per step."""
    check_images(x, "x", channels=3)
    if len(chains) != x.shape[0]:
        raise ValueError(f"chains must have one chain per image ({x.shape[0]}), got {len(chains)}")
    out = x.clone()
    for t in range(max((len(c) for c in chains), default=0)):
        by_tool: dict[str, list[int]] = {}
        for i, c in enumerate(chains):
            if t < len(c):
                by_tool.setdefault(c[t], []).append(i)
        for tool, idx in by_tool.items():
            sel = torch.tensor(idx, device=x.device)
            out[sel] = toolbox.apply(out[sel], tool)
    return out


def _measure(clean: torch.Tensor | None, score: Callable[[torch.Tensor], torch.Tensor] | None
             ) -> Callable[..., torch.Tensor]:
    """``f(y, sel)``: PSNR of y against ``clean[sel]`` (the oracle), or a no-reference ``score(y)`` (N,), higher =
    better, which needs no ground truth (chapter 8)."""
    if (clean is None) == (score is None):
        raise ValueError("give exactly one of clean (PSNR, an oracle) and score (a no-reference scorer)")
    if score is None:
        return lambda y, sel=slice(None): psnr(y, clean[sel])
    return lambda y, sel=None: score(y).to(y.device).float()


@torch.no_grad()
def greedy(toolbox: Toolbox, x: torch.Tensor, clean: torch.Tensor | None, max_len: int = 3,
           tools: list[str] | None = None, score: Callable[[torch.Tensor], torch.Tensor] | None = None
           ) -> SearchResult:
    """Each step, apply the tool with the best one-step PSNR gain; stop when no tool improves (oracle).

    With ``score`` (images -> (N,), higher = better) and ``clean`` None it climbs a no-reference score instead;
    the result's ``psnr`` then holds that score (chapter 8)."""
    _check(x, clean, max_len)
    ids = _tool_ids(toolbox, tools)
    measure = _measure(clean, score)
    cur, best_p = x.clone(), measure(x)
    chains: list[list[str]] = [[] for _ in range(x.shape[0])]
    active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    trials = [0] * x.shape[0]
    for _ in range(max_len):
        if not active.any():
            break
        sel = active.nonzero().flatten()
        cand = torch.stack([toolbox.apply(cur[sel], i) for i in ids])                 # (m, n, 3, H, W)
        scores = torch.stack([measure(c, sel) for c in cand])                          # (m, n)
        top, arg = scores.max(dim=0)
        for j, i in enumerate(sel.tolist()):
            trials[i] += len(ids)
            if top[j] > best_p[i]:
                cur[i], best_p[i] = cand[arg[j], j], top[j]
                chains[i].append(toolbox.names[ids[arg[j]]])
            else:
                active[i] = False
    return SearchResult(chains, cur, best_p, trials)


@torch.no_grad()
def brute_force(toolbox: Toolbox, x: torch.Tensor, clean: torch.Tensor | None, max_len: int = 3,
                tools: list[str] | None = None, budget: int | None = None, chunk: int = 16,
                score: Callable[[torch.Tensor], torch.Tensor] | None = None) -> SearchResult:
    """Score every chain of length 0..max_len (stopping allowed) and keep the best per image (oracle).

    Chains are visited breadth first (all length-1 chains, then length 2, ...), so ``budget`` (trials per image)
    stops the search after a fair share of every length instead of one corner of the tree. Images are processed
    ``chunk`` at a time; memory holds the states of one chain length, which are batched: each tool runs once on all
    states of a length (see ``_tree``). Where chains tie, the first in breadth-first order is kept. ``score``
    (with ``clean`` None) searches a no-reference score instead of PSNR, as :func:`greedy` does.
    """
    _check(x, clean, max_len)
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 0):
        raise ValueError(f"budget must be a non-negative int or None, got {budget!r}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    ids = _tool_ids(toolbox, tools)
    _measure(clean, score)
    results = [_brute_force_chunk(toolbox, x[i:i + chunk], None if clean is None else clean[i:i + chunk], max_len,
                                  ids, budget, score) for i in range(0, x.shape[0], chunk)]
    return SearchResult([c for r in results for c in r.chains], torch.cat([r.images for r in results]),
                        torch.cat([r.psnr for r in results]), [t for r in results for t in r.trials])


PIXELS_PER_CALL = 2**19
"""The batched searches run one tool on up to this many pixels at once (about 130 patches of 63 x 63): on a CPU
large calls cost less per patch than small ones (chapter 4's brute force at L=2 on 20 patches, batched this way
and channels-last, took 2.6 times less CPU time on the book's 2-core machine than one call per chain)."""


def _tree(toolbox: Toolbox, x: torch.Tensor, max_len: int, ids: list[int], budget: int | None = None):
    """Every chain of length 1..max_len over the tools ``ids``, breadth first, in blocks that share a tool call.

    Yields ``(orders, y)``: ``orders`` (k,) long are the chains' places in breadth-first order, which is the order
    of the trials (0..m-1 the single tools, then the pair (t1, t2) at m + t1 * m + t2, ...; ``budget`` keeps the
    first ``budget``, see :func:`_chain_of`), and ``y`` (k, N, 3, H, W) their outputs for the N images of ``x``.
    Each depth runs a tool once on the stacked states of the depth before (up to :data:`PIXELS_PER_CALL` pixels
    a call), so a chain of length 3 reuses its length-2 prefix; only the states that will be extended are kept.
    On a CPU the states are stored channels-last, the layout oneDNN's convolutions run fastest in.
    """
    m, (n, c, h, w) = len(ids), x.shape
    fmt = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    per_call = max(1, PIXELS_PER_CALL // (n * h * w))          # states per tool call
    frontier, width, offset = x.contiguous(memory_format=fmt), 1, 0   # (width * N, 3, H, W), depth 0
    for depth in range(1, max_len + 1):
        limit = m**depth if budget is None else min(m**depth, budget - offset)   # chains of this depth to try
        if limit <= 0:
            return
        keep = depth < max_len                                  # the last length's states are never extended
        nxt = torch.empty((limit * n, c, h, w), dtype=x.dtype, device=x.device, memory_format=fmt) if keep else None
        for k, tool in enumerate(ids):
            states = min(width, -(-(limit - k) // m))           # the states s with s * m + k < limit
            for s0 in range(0, states, per_call):
                s1 = min(states, s0 + per_call)
                y = toolbox.apply(frontier[s0 * n:s1 * n], tool).reshape(s1 - s0, n, c, h, w)
                q = torch.arange(s0, s1, device=x.device) * m + k
                if keep:
                    nxt.view(limit, n, c, h, w)[q] = y
                yield offset + q, y
        frontier, width, offset = nxt, limit, offset + m**depth


def _chain_of(order: int, ids: list[int]) -> tuple[int, ...]:
    """The chain (tool indices) at place ``order`` of ``_tree``'s breadth-first order; -1 is the empty chain."""
    m, depth, first = len(ids), 0, 0
    while order >= first:
        depth, first = depth + 1, first + m ** (depth + 1)
    q, digits = order - (first - m**depth), []
    for _ in range(depth):
        q, r = divmod(q, m)
        digits.append(ids[r])
    return tuple(reversed(digits))


def _block_measure(clean: torch.Tensor | None, score: Callable[[torch.Tensor], torch.Tensor] | None
                   ) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f(y)``: y (k, N, 3, H, W), the outputs of k chains for N images -> (k, N), their PSNR against ``clean``
    (N, 3, H, W) or their no-reference ``score`` (see :func:`_measure`)."""
    _measure(clean, score)                                     # the same check of the arguments

    def f(y: torch.Tensor) -> torch.Tensor:
        k, n = y.shape[:2]
        flat = y.reshape(k * n, *y.shape[2:])
        if score is None:
            return psnr(flat, clean.repeat(k, 1, 1, 1)).view(k, n)
        return score(flat.contiguous()).to(y.device).float().view(k, n)
    return f


def _earliest_best(p: torch.Tensor, orders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per column of p (k, N): the best value, the smallest order that reaches it, and that order's row."""
    top = p.max(dim=0).values
    tied = torch.where(p == top, orders[:, None], torch.iinfo(torch.long).max)
    first = tied.min(dim=0)
    return top, first.values, first.indices


def _brute_force_chunk(toolbox: Toolbox, x: torch.Tensor, clean: torch.Tensor | None, max_len: int, ids: list[int],
                       budget: int | None, score: Callable[[torch.Tensor], torch.Tensor] | None = None
                       ) -> SearchResult:
    """Brute force on one chunk of images: the best chain of ``_tree`` per image, the earliest one (in
    breadth-first order) where several score the same, and the input where none beats it."""
    n = x.shape[0]
    measure = _block_measure(clean, score)
    best_img, best_p = x.clone(), measure(x[None])[0]
    best_o = torch.full((n,), -1, dtype=torch.long, device=x.device)      # -1: the empty chain
    trials = 0
    for orders, y in _tree(toolbox, x, max_len, ids, budget):
        trials += len(orders)
        top, o, row = _earliest_best(measure(y), orders)
        better = (top > best_p) | ((top == best_p) & (o < best_o))
        if better.any():
            j = better.nonzero().flatten()
            best_p[j], best_o[j], best_img[j] = top[j], o[j], y[row[j], j]
    chains = [[toolbox.names[i] for i in _chain_of(o, ids)] for o in best_o.tolist()]
    return SearchResult(chains, best_img, best_p, [trials] * n)


@torch.no_grad()
def brute_force_curve(toolbox: Toolbox, x: torch.Tensor, clean: torch.Tensor, budgets: list[int],
                      tools: list[str] | None = None, chunk: int = 16, progress: bool = False) -> torch.Tensor:
    """Best PSNR brute force reaches within each number of trials of ``budgets`` (sorted ascending), per image.

    One breadth-first walk serves every budget: its best after ``sum_{i<=n} m^i`` trials is the best chain of length
    <= n, so ``budgets = [9, 90, 819, 7380]`` gives HIRL's Table 2 row for 9 tools at the cost of the last column.
    x, clean: (N, 3, H, W) in [0, 1]. Returns (len(budgets), N) PSNR in dB (the input's PSNR counts as length 0).
    ``progress`` shows a bar of the tool applications. Chapter 6.
    """
    if not budgets or any(not isinstance(b, int) or b < 0 for b in budgets) or list(budgets) != sorted(budgets):
        raise ValueError(f"budgets must be a non-empty ascending list of non-negative ints, got {budgets!r}")
    ids = _tool_ids(toolbox, tools)
    depth = 0
    while brute_force_trials(len(ids), depth) < budgets[-1]:
        depth += 1
    _check(x, clean, depth)
    out = torch.empty(len(budgets), x.shape[0], device=x.device)
    limits = torch.tensor(budgets, device=x.device)[:, None]               # (K, 1)
    bar = None
    if progress:
        from ..core.long_runs import progress_bar
        bar = progress_bar(total=budgets[-1] * -(-x.shape[0] // chunk), desc="brute force", leave=False)
    for i in range(0, x.shape[0], chunk):
        xs, cs = x[i:i + chunk], clean[i:i + chunk]
        measure = _block_measure(cs, None)
        best = psnr(xs, cs)[None].repeat(len(budgets), 1)                  # (K, n): the input counts as length 0
        for orders, y in _tree(toolbox, xs, depth, ids, budgets[-1]):
            within = (orders[None] < limits)[..., None]                     # (K, k, 1): trial o + 1 <= budget
            best = torch.maximum(best, torch.where(within, measure(y)[None], -torch.inf).max(dim=1).values)
            if bar is not None:
                bar.update(len(orders))
        out[:, i:i + chunk] = best
    if bar is not None:
        bar.close()
    return out


def random_chains(toolbox: Toolbox, n: int, max_len: int = 3, tools: list[str] | None = None,
                  generator: torch.Generator | None = None) -> list[list[str]]:
    """``n`` chains of exactly ``max_len`` tools drawn uniformly (a baseline an agent must beat)."""
    ids = _tool_ids(toolbox, tools)
    draw = torch.randint(len(ids), (n, max_len), generator=generator).tolist()
    return [[toolbox.names[ids[k]] for k in row] for row in draw]


@torch.no_grad()
def best_fixed_chain(toolbox: Toolbox, x: torch.Tensor, clean: torch.Tensor, max_len: int = 3,
                     tools: list[str] | None = None) -> tuple[list[str], float]:
    """The one chain (length 0..max_len) with the best mean PSNR over a batch: fit it on training images.

    Returns (chain, mean PSNR on ``x``). Costs the same trials as brute force, once, for the whole set.
    """
    _check(x, clean, max_len)
    ids = _tool_ids(toolbox, tools)
    measure = _block_measure(clean, None)
    best_s, best_o = psnr(x, clean).mean().item(), -1
    for orders, y in _tree(toolbox, x, max_len, ids):
        top, o, _ = _earliest_best(measure(y).mean(dim=1, keepdim=True), orders)
        if top.item() > best_s or (top.item() == best_s and o.item() < best_o):
            best_s, best_o = top.item(), o.item()
    return [toolbox.names[i] for i in _chain_of(best_o, ids)], best_s
