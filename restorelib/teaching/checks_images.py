"""The exercises' checks of chapters 1-3: PSNR, the one-pass blur, the step-wise reward, brute force's trials and
beam search. Each ``check_*`` returns a success message or raises ``AssertionError`` with a hint (:mod:`restorelib.teaching.exercise`).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .exercise import Case, Mistake, _show, close, run_check

from ..core import metrics
from ..search import chains as search


# ---------------------------------------------------------------------------------------------------- PSNR (ch. 1)
def check_psnr(fn: Callable[..., Any], numpy: bool = False) -> str:
    """Check ``fn(x, y)``, the PSNR in dB of each image of a batch, against :func:`restorelib.core.metrics.psnr`.

    ``x`` and ``y`` are float tensors (N, C, H, W) in [0, 1] (NumPy arrays with ``numpy=True``); ``fn`` returns one
    value per image, shape (N,). For identical images any value of at least 100 dB, or infinity, is accepted.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 16, 16, generator=g)
    y = (x + torch.tensor([0.01, 0.05, 0.2]).view(3, 1, 1, 1) * torch.randn(x.shape, generator=g)).clamp(0, 1)
    gray, black, white = torch.rand(2, 1, 12, 12, generator=g), torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    cases = [
        Case("x: 3 random RGB images (3, 3, 16, 16); y = x + noise of σ 0.01, 0.05, 0.2 (clipped to [0, 1])", (x, y)),
        Case("one image (1, 3, 16, 16), the second pair above", (x[1:2], y[1:2])),
        Case("2 grey images (2, 1, 12, 12) against their mirror images", (gray, gray.flip(-1))),
        Case("x all black, y all white (2, 3, 8, 8): the largest possible error, MSE = 1", (black, white),
             "With MSE = 1 and a peak value of 1, PSNR = 10·log10(1/1) = 0 dB."),
        Case("identical images (2, 3, 8, 8)", (x[:2, :, :8, :8], x[:2, :, :8, :8]),
             "Identical images have MSE = 0: return inf, or floor the MSE as restorelib does (1e-10 -> 100 dB), "
             "but never nan."),
    ]

    def sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.double() - b.double()).pow(2).flatten(1)

    mistakes = [
        Mistake("You used the natural logarithm: PSNR uses log10 (np.log10 or torch.log10).",
                lambda a, b: 10 * torch.log(1 / sq(a, b).mean(1))),
        Mistake("With the MSE the factor is 10: PSNR = 10·log10(1/MSE) = 20·log10(1/RMSE).",
                lambda a, b: 20 * torch.log10(1 / sq(a, b).mean(1))),
        Mistake("The images are in [0, 1], so the peak value is 1, not 255.",
                lambda a, b: 10 * torch.log10(255**2 / sq(a, b).mean(1))),
        Mistake("Average the squared differences over each image: the mean, not the sum.",
                lambda a, b: 10 * torch.log10(1 / sq(a, b).sum(1))),
        Mistake("Square the differences: the MSE is the mean of (x - y)², not of |x - y|.",
                lambda a, b: 10 * torch.log10(1 / (a.double() - b.double()).abs().flatten(1).mean(1))),
        Mistake("Compute one MSE per image (the mean over C, H and W, e.g. .flatten(1).mean(1)) and return one PSNR "
                "per image, not one number for the whole batch.", lambda a, b: 10 * torch.log10(1 / sq(a, b).mean())),
    ]
    call = (lambda a, b: fn(a.numpy(), b.numpy())) if numpy else fn
    return run_check("check_psnr", call, metrics.psnr, cases, mistakes,
                     compare=lambda got, exp: close(got, exp, atol=2e-3, rtol=0, ceiling=100 - 1e-3),
                     called_as=f"fn(x, y) with x, y {'NumPy arrays' if numpy else 'float tensors'} (N, C, H, W) in "
                               "[0, 1]; it returns one PSNR per image",
                     hint="PSNR = 10·log10(1 / MSE) for images in [0, 1], with one MSE per image.")


# ------------------------------------------------------------------------------------------- one-pass blur (ch. 1)
def check_gaussian_blur(fn: Callable[..., Any]) -> str:
    """Check ``fn(x, sigma)``, a Gaussian blur of each image of ``x`` (N, C, H, W) in [0, 1] with its own ``sigma``
    (N,), against :func:`.degradations.gaussian_blur` (a 21 x 21 kernel, the border padded by replication)."""
    import torch.nn.functional as F

    from ..core.degradations import gaussian_blur, gaussian_kernel1d
    g = torch.Generator().manual_seed(4)
    x, grey = torch.rand(2, 3, 24, 24, generator=g), torch.rand(1, 1, 30, 20, generator=g)
    flat = torch.full((1, 3, 16, 16), 0.6)
    cases = [Case("2 RGB images (2, 3, 24, 24), sigma = [1.0, 2.5]", (x, torch.tensor([1.0, 2.5]))),
             Case("1 grey image (1, 1, 30, 20), not square, sigma = [3.0]", (grey, torch.tensor([3.0]))),
             Case("sigma = [0.0, 0.0]: the kernel is a delta, nothing changes", (x, torch.zeros(2))),
             Case("a constant image (1, 3, 16, 16) of 0.6, sigma = [4.0]: it must stay constant", (flat, torch.tensor(
                 [4.0])), "Pad by repeating the edge pixels (F.pad(..., mode='replicate')), not with zeros.")]

    def blur(x: torch.Tensor, k: torch.Tensor, pad: str) -> torch.Tensor:     # k: (N·C, 21), rows then columns
        n, c, h, w = x.shape
        p, y = k.shape[1] // 2, x.reshape(1, n * c, h, w)
        y = F.pad(y, (p,) * 4, mode=pad) if pad == "replicate" else F.pad(y, (p,) * 4)
        y = F.conv2d(F.conv2d(y, k[:, None, None, :], groups=n * c), k[:, None, :, None], groups=n * c)
        return y.reshape(n, c, h, w)

    k1 = lambda x, s: gaussian_kernel1d(s).to(x)                              # noqa: E731
    mistakes = [
        Mistake("The border is padded with zeros, which darkens it: pad by repeating the edge pixels "
                "(F.pad(..., mode='replicate')), then convolve without padding.",
                lambda x, s: blur(x, k1(x, s).repeat_interleave(x.shape[1], 0), "zeros")),
        Mistake("Every image got the first sigma: build one kernel per image (gaussian_kernel1d(sigma) has shape "
                "(N, 21)).", lambda x, s: gaussian_blur(x, s[0])),
        Mistake("The kernels and channels do not match: the (image, channel) pairs are ordered image by image, so "
                "repeat each image's kernel C times in a row (repeat_interleave), not the stack (repeat).",
                lambda x, s: blur(x, k1(x, s).repeat(x.shape[1], 1), "replicate")),
    ]
    return run_check("check_gaussian_blur", fn, gaussian_blur, cases, mistakes,
                     called_as="fn(x, sigma) with x (N, C, H, W) in [0, 1] and sigma (N,); it returns the blurred "
                               "batch, same shape",
                     hint="k = outer product of gaussian_kernel1d(sigma) with itself, (N, 21, 21); one per channel "
                          "with repeat_interleave(C, 0); F.pad(mode='replicate') and F.conv2d(groups=N·C).")


# ------------------------------------------------------------------------------------- step-wise reward (ch. 2-4)
def env_stepwise_reward(before: torch.Tensor, after: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """The reward that :class:`restorelib.rlrestore.env.RestoreEnv` (``reward="psnr"``) pays for the step ``before -> after``."""
    from ..rlrestore.env import RestoreEnv
    from ..toolbox.tools import TOOL_SPECS, Toolbox
    toolbox = Toolbox(TOOL_SPECS[:1])
    toolbox.apply = lambda x, tool, clip=True: after.clone()      # a stand-in tool that turns before into after
    env = RestoreEnv(toolbox, t_max=2, reward="psnr")
    env.reset(before, clean)
    return env.step(torch.zeros(before.shape[0], dtype=torch.long))[1]


def check_stepwise_reward(fn: Callable[..., Any]) -> str:
    """Check ``fn(before, after, clean)``, RL-Restore's reward r_t = PSNR(I_{t+1}) - PSNR(I_t) of one step per image.

    The tensors are (N, 3, H, W) in [0, 1]; the reference is the reward of :class:`restorelib.rlrestore.env.RestoreEnv`.
    """
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(4, 3, 16, 16, generator=g)
    noise = torch.randn(clean.shape, generator=g)
    noisy, better = (clean + 0.1 * noise).clamp(0, 1), (clean + 0.04 * noise).clamp(0, 1)
    worse = (clean + 0.2 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    cases = [
        Case("4 images (4, 3, 16, 16): before = clean + noise σ 0.1, after = clean + the same noise at σ 0.04",
             (noisy, better, clean)),
        Case("a step that hurts: before = clean + noise σ 0.1, after = clean + noise σ 0.2", (noisy, worse, clean)),
        Case("a step that changes nothing (after = before)", (noisy, noisy, clean)),
        Case("mixed: images 0-1 improve, images 2-3 get worse", (noisy, torch.cat([better[:2], worse[2:]]), clean)),
        Case("a perfect step: after = clean", (noisy, clean, clean),
             "restorelib.core.metrics.psnr scores a perfect image 100 dB (the MSE is floored), so the reward stays finite; "
             "use metrics.psnr rather than a PSNR of your own."),
    ]
    p = metrics.psnr
    mistakes = [
        Mistake("Keep the sign: a step that makes the image worse gets a negative reward.",
                lambda b, a, c: (p(a, c) - p(b, c)).abs()),
        Mistake("The sign is reversed: the reward is the gain, PSNR after the step minus PSNR before it.",
                lambda b, a, c: p(b, c) - p(a, c)),
        Mistake("The reward is the change of PSNR in this step, not the PSNR of the new image: "
                "r_t = PSNR(I_{t+1}, clean) - PSNR(I_t, clean).", lambda b, a, c: p(a, c)),
        Mistake("Measure both images against the clean image: PSNR(after, clean) - PSNR(before, clean), not the PSNR "
                "between after and before.", lambda b, a, c: p(a, b)),
        Mistake("The reward is a difference of PSNRs (dB), not of MSEs.",
                lambda b, a, c: metrics.mse(b, c) - metrics.mse(a, c)),
        Mistake("Return one reward per image, shape (N,), not the mean over the batch.",
                lambda b, a, c: (p(a, c) - p(b, c)).mean()),
    ]
    return run_check("check_stepwise_reward", fn, env_stepwise_reward, cases, mistakes,
                     called_as="fn(before, after, clean) with float tensors (N, 3, H, W) in [0, 1]; it returns one "
                               "reward per image",
                     hint="r_t = metrics.psnr(after, clean) - metrics.psnr(before, clean), one value per image.")


# ----------------------------------------------------------------------------------------- brute force (ch. 3)
def check_brute_force_trials(fn: Callable[..., Any]) -> str:
    """Check ``fn(m, max_len)``, brute force's trials over m tools, against :func:`restorelib.search.chains.brute_force_trials`."""
    cases = [Case(f"m = {m}, max_len = {L}", (m, L)) for m, L in ((12, 1), (12, 3), (9, 2), (9, 4), (2, 10))]
    cases += [Case("m = 1, max_len = 5: a single tool", (1, 5),
                   "With m = 1 the closed form m(m^L - 1)/(m - 1) divides by zero: there is one chain of each length, "
                   "so L trials; handle m = 1 separately."),
              Case("m = 7, max_len = 0: only the empty chain", (7, 0), "With L = 0 nothing is tried: 0 trials.")]
    mistakes = [
        Mistake("Brute force scores the chains of every length 1, 2, ..., L, not only the longest: sum m^i over "
                "i = 1..L.", lambda m, L: m**L),
        Mistake("Start the sum at i = 1: the empty chain (stop at once) costs no tool application.",
                lambda m, L: sum(m**i for i in range(L + 1))),
        Mistake("The sum runs up to and including i = L.", lambda m, L: sum(m**i for i in range(1, L))),
        Mistake("m·L is greedy's cost (at most m trials per step); brute force tries every chain.",
                lambda m, L: m * L),
        Mistake("Chains that share a prefix share its computation: count one application per node of the search "
                "tree (m^i at depth i), not i per chain of length i.",
                lambda m, L: sum(i * m**i for i in range(1, L + 1))),
    ]
    return run_check("check_brute_force_trials", fn, search.brute_force_trials, cases, mistakes,
                     compare=lambda got, exp: close(got, exp, atol=0.0, rtol=0.0),
                     called_as="fn(m, max_len) with two ints; it returns the number of tool applications",
                     hint="Depth i of the search tree holds m^i chains, each one tool application on top of its "
                          "prefix: sum m^i for i = 1..L.")


# --------------------------------------------------------------------------------------------- beam search (ch. 3)
@torch.no_grad()
def beam_search(toolbox: Any, x: torch.Tensor, clean: torch.Tensor, width: int, max_len: int,
                stop: bool = True) -> tuple[list[list[str]], torch.Tensor]:
    """Beam search over toolchains (an oracle): keep the ``width`` best chains of each image at every step.

    x, clean: (N, 3, H, W) in [0, 1]. Returns each image's best chain and its PSNR (N,): the best of every length
    0..max_len (``stop=False``: of length ``max_len`` only). Width 1 is greedy without its stopping rule. Chapter 3.
    """
    n, m = x.shape[0], len(toolbox)
    best_p, best = metrics.psnr(x, clean), [[] for _ in range(n)]
    states, chains = x[:, None], [[[]] for _ in range(n)]                     # (N, k, 3, H, W), k chains each
    for step in range(max_len):
        k = states.shape[1]
        kids = torch.stack([toolbox.apply(states.flatten(0, 1), t) for t in range(m)], 1)   # (N·k, m, 3, H, W)
        kids = kids.reshape(n, k * m, *x.shape[1:])                           # child j: tool j % m on chain j // m
        scores = metrics.psnr(kids.flatten(0, 1), clean.repeat_interleave(k * m, 0)).view(n, k * m)
        top, idx = scores.topk(min(width, k * m), dim=1)
        states = kids[torch.arange(n)[:, None], idx]
        chains = [[chains[i][j // m] + [toolbox.names[j % m]] for j in idx[i].tolist()] for i in range(n)]
        last = step == max_len - 1
        for i in (top[:, 0] > best_p if stop else torch.full((n,), last)).nonzero().flatten().tolist():
            best_p[i], best[i] = top[i, 0], chains[i][0]
    return best, best_p


def check_beam_search(fn: Callable[..., Any]) -> str:
    """Check ``fn(toolbox, x, clean, width, max_len)`` -> (chains, psnr), a beam search over the shipped toolbox,
    against :func:`beam_search`: the PSNR (N,) of each image's best chain, and that its chain, applied to ``x``,
    gives it."""
    from ..core import data, degradations
    from ..core.patches import random_patches
    from ..toolbox.tools import Toolbox
    box, g = Toolbox.load(), torch.Generator().manual_seed(5)
    clean = random_patches(data.to_rgb(data.embedded("chelsea")), 3, 24, generator=g)
    x, _ = degradations.degrade(clean, "moderate", generator=g)
    cases = [Case(f"3 moderate patches (3, 3, 24, 24), width {w}, max_len {L}", (box, x, clean, w, L), h)
             for w, L, h in ((1, 2, ""), (3, 2, ""), (2, 3, ""), (2, 0, "max_len 0: the input itself and its PSNR."),
                             (len(box), 2, "With width m every chain of two tools is scored: brute force's answer."))]
    cases.append(Case("x = clean (3, 3, 24, 24): nothing to restore, width 2, max_len 2", (box, clean, clean, 2, 2),
                      "Every tool changes a clean patch, so the best chain is the empty one; score it with "
                      "metrics.psnr, as the children are scored."))

    def beam_search_psnr(*args: Any) -> torch.Tensor:
        return beam_search(*args)[1]

    mistakes = [Mistake("That is the best chain of exactly max_len tools: keep the best chain of *any* length seen, "
                        "the input included, as brute force does.", lambda *a: beam_search(*a, stop=False)[1]),
                Mistake("That is greedy's answer: keep the `width` best children of all kept chains, and go on "
                        "even when none improves.", lambda b, x, c, w, L: search.greedy(b, x, c, L).psnr)]
    done = run_check("check_beam_search", lambda *a: fn(*a)[1], beam_search_psnr, cases, mistakes,
                     called_as="fn(toolbox, x, clean, width, max_len); it returns (chains, psnr), psnr of shape (N,)",
                     hint="At each step apply every tool to each kept image, score the children with "
                          "metrics.psnr, keep the `width` best per image, and remember the best seen.")
    chains, p = fn(box, x.clone(), clean.clone(), 3, 2)
    try:
        replay = metrics.psnr(search.run_chains(box, x, [list(c) for c in chains]), clean)
    except Exception as err:                # noqa: BLE001 -- a wrong tool name, or not one chain per image
        replay = f"no PSNR: the chains cannot be run ({type(err).__name__}: {err})"
    if not (all(len(c) <= 2 for c in chains) and close(p, replay, atol=1e-3)):
        raise AssertionError(f"check_beam_search: the chains you return must give the PSNR you return.\n"
                             f"  input:    width 3, max_len 2; your chains {chains}\n  expected: {_show(replay)} "
                             f"(your chains, applied to x)\n  returned: {_show(p)}\n  hint:     return each image's "
                             "chain of tool names (at most max_len), in the order applied, with its PSNR.")
    return done


__all__ = ["check_psnr", "check_gaussian_blur", "env_stepwise_reward", "check_stepwise_reward", "check_brute_force_trials", "beam_search", "check_beam_search"]
