"""Checks for the exercises: does a student's function agree with ``restorelib``'s reference implementation?

Each ``check_*`` function (e.g. ``checks.check_psnr(my_psnr)``) calls the student's function on a few seeded cases and
edge cases and compares it with the library's own implementation. It returns a short success message, or raises
``AssertionError`` saying which input went in, what was expected, what came back, and a hint, which names the mistake
when the answer matches a typical one (the natural log instead of log10, a missing ``(1 - done)``, ...).

A new check is a list of :class:`Case`, a reference function and a list of :class:`Mistake` handed to
:func:`run_check`; :func:`check_brute_force_trials` is the shortest example.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch

from ..rlrestore import nets as agents
from ..hirl import hirl
from ..core import metrics
from ..search import chains as search


class Case(NamedTuple):
    """One input of a check: the arguments ``args``, a readable ``label``, and an optional ``hint`` for this case."""

    label: str
    args: tuple
    hint: str = ""


class Mistake(NamedTuple):
    """A typical wrong answer: ``variant`` computes it from a case's arguments; ``hint`` says how to fix it."""

    hint: str
    variant: Callable[..., Any]


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def _show(value: Any) -> str:
    try:
        a = _array(value)
    except (TypeError, ValueError):
        return f"{value!r} (a {type(value).__name__}, not a number or an array of numbers)"
    if a.ndim == 0:
        return f"{a.item():.6g}"
    text = np.array2string(a.ravel()[:8], precision=4, separator=", ")
    return f"{text[:-1] + ', ...]' if a.size > 8 else text} (shape {a.shape})"


def close(got: Any, expected: Any, atol: float = 1e-4, rtol: float = 1e-5, ceiling: float | None = None) -> bool:
    """True when ``got`` has the shape and values of ``expected``; where ``expected >= ceiling``, ``got >= ceiling``."""
    try:
        g, e = _array(got), _array(expected)
    except (TypeError, ValueError):
        return False
    if g.shape != e.shape:
        return False
    ok = np.isclose(g, e, atol=atol, rtol=rtol)
    return bool(np.all(ok if ceiling is None else np.where(e >= ceiling, g >= ceiling, ok)))


def _copy(args: tuple) -> tuple:
    # every call gets its own copy, so a function that changes its inputs cannot change the next call's
    return tuple(a.clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) for a in args)


def run_check(name: str, fn: Callable[..., Any], reference: Callable[..., Any], cases: Sequence[Case],
              mistakes: Sequence[Mistake] = (), *, called_as: str, hint: str,
              compare: Callable[[Any, Any], bool] = close) -> str:
    """Compare ``fn`` with ``reference`` on every case; return a success message or raise ``AssertionError``.

    ``called_as`` says how ``fn`` is called (it is repeated in every message); ``hint`` is given when an answer is
    wrong, matches no :class:`Mistake` and its case has no hint of its own.
    """
    if not callable(fn):
        raise TypeError(f"{name} needs your function itself, e.g. {name}(my_function), not the result of calling it "
                        f"(got a {type(fn).__name__})")
    for case in cases:
        expected = reference(*_copy(case.args))
        intro = (f"{name}: your function is called as {called_as}.\n  input:    {case.label}\n"
                 f"  expected: {_show(expected)}\n")
        try:
            got = fn(*_copy(case.args))
        except Exception as err:            # noqa: BLE001 -- any error of the student's code is reported
            raise AssertionError(f"{intro}  but your function raised {type(err).__name__}: {err}\n"
                                 f"  hint:     {case.hint or hint}") from err
        if compare(got, expected):
            continue
        why = case.hint or hint
        for m in mistakes:
            try:
                if compare(got, m.variant(*_copy(case.args))):
                    why = m.hint
                    break
            except Exception:               # noqa: BLE001 -- a variant that cannot run on this case matches nothing
                pass
        raise AssertionError(f"{intro}  returned: {_show(got)}\n  hint:     {why}")
    return f"{name}: all {len(cases)} cases pass; it agrees with {reference.__module__}.{reference.__name__}."


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
    """Check ``fn(m, max_len)``, brute force's trials over m tools, against :func:`.search.brute_force_trials`."""
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


# ----------------------------------------------------------------------------------------------- TD target (ch. 4)
def check_td_target(fn: Callable[..., Any]) -> str:
    """Check ``fn(q_next, rewards, dones, gamma)``, the one-step deep-Q target, against :func:`.agents.td_targets`.

    ``q_next`` (..., A) holds the target network's values of the next states, ``rewards`` (...) floats and ``dones``
    (...) bools; the target is r + gamma * max_a q_next * (1 - done).
    """
    g = torch.Generator().manual_seed(2)
    q, r = torch.randn(5, 4, generator=g), torch.randn(5, generator=g)
    d, none, every = torch.tensor([0, 1, 0, 0, 1]).bool(), torch.zeros(5).bool(), torch.ones(5).bool()
    seq = torch.randn(3, 2, 4, generator=g), torch.randn(3, 2, generator=g), torch.tensor([[0, 0], [0, 1], [1, 1]]) > 0
    cases = [
        Case("q_next (5, 4) random, rewards (5,), dones [F, T, F, F, T], gamma 0.99", (q, r, d, 0.99)),
        Case("the same transitions with gamma 0.9", (q, r, d, 0.9)),
        Case("every transition terminal (dones all True), gamma 0.99", (q, r, every, 0.99),
             "At a terminal transition there is no next state: the target is the reward alone."),
        Case("no transition terminal, all Q-values negative, gamma 0.5", (-q.abs() - 0.1, r, none, 0.5)),
        Case("a batch of sequences: q_next (3, 2, 4), rewards and dones (3, 2), gamma 0.95", (*seq, 0.95),
             "Take the maximum over the last dimension (the actions), q_next.max(dim=-1).values, so that the leading "
             "dimensions are kept."),
        Case("gamma 0: the target is the reward", (q, r, d, 0.0)),
    ]

    def top(qn: torch.Tensor) -> torch.Tensor:
        return qn.max(dim=-1).values

    mistakes = [
        Mistake("You forgot (1 - done): at a terminal transition there is no next state, so the target is just the "
                "reward.", lambda qn, rw, dn, gm: rw + gm * top(qn)),
        Mistake("The mask is inverted: multiply the next value by (1 - done), which is 0 at terminal transitions.",
                lambda qn, rw, dn, gm: rw + gm * top(qn) * dn.double()),
        Mistake("Use the gamma you are given (the fourth argument), not a fixed 0.99.",
                lambda qn, rw, dn, gm: rw + 0.99 * top(qn) * (~dn).double()),
        Mistake("Discount the next state's value by gamma.", lambda qn, rw, dn, gm: rw + top(qn) * (~dn).double()),
        Mistake("The target uses the best next action: the max over actions, not the mean.",
                lambda qn, rw, dn, gm: rw + gm * qn.mean(dim=-1) * (~dn).double()),
        Mistake("Take the maximum over the actions of each transition (dim=-1), not over the whole tensor.",
                lambda qn, rw, dn, gm: rw + gm * qn.max() * (~dn).double()),
    ]
    return run_check("check_td_target", fn, agents.td_targets, cases, mistakes,
                     called_as="fn(q_next, rewards, dones, gamma) with q_next (..., A), rewards (...) floats, dones "
                               "(...) bools and a float gamma",
                     hint="target = rewards + gamma * q_next.max(dim=-1).values * (1 - dones); dones is a bool tensor, "
                          "so write (~dones).float() or 1 - dones.float().")


# ----------------------------------------------------------------------------------- hierarchical choice (ch. 6)
def check_hierarchical_tool(fn: Callable[..., Any]) -> str:
    """Check ``fn(type_values, degree_values)``, HIRL's greedy type-then-degree decision, against
    :func:`.hirl.hierarchical_tool`: type_values (B, n_types), degree_values (B, n_types, n_degrees) -> tool indices
    (B,) = t * n_degrees + d."""
    g = torch.Generator().manual_seed(6)
    tv, dv = torch.randn(6, 3, generator=g), torch.randn(6, 3, 3, generator=g)
    # T prefers type 0 but D's single best value lies in type 2: the hierarchy must not jump to it
    trap_t = torch.tensor([[1.0, 0.0, 0.5]])
    trap_d = torch.tensor([[[0.1, 0.3, 0.2], [0.0, 0.0, 0.0], [0.9, 0.0, 0.0]]])
    cases = [Case("6 random states, 3 types x 3 degrees", (tv, dv)),
             Case("T prefers type 0; D's largest value of all is type 2's first degree", (trap_t, trap_d),
                  "The degree is chosen among the degrees of the type T picked: D's row of that type."),
             Case("2 types x 4 degrees (the tool index is t * n_degrees + d)",
                  (torch.randn(5, 2, generator=g), torch.randn(5, 2, 4, generator=g)))]

    def top_d(tv: torch.Tensor, dv: torch.Tensor) -> torch.Tensor:
        return dv.flatten(1).argmax(dim=1)

    mistakes = [
        Mistake("D's maximum over every type is the flat agent's choice: pick the degree within the type T chose, "
                "dv[range(B), t].argmax(dim=1).", top_d),
        Mistake("The index is type-major: t * n_degrees + d, not d * n_types + t.",
                lambda tv, dv: dv[torch.arange(len(tv)), tv.argmax(1)].argmax(1) * dv.shape[1] + tv.argmax(1)),
        Mistake("Return the tool index t * n_degrees + d, not the degree alone.",
                lambda tv, dv: dv[torch.arange(len(tv)), tv.argmax(1)].argmax(1)),
        Mistake("Return the tool index t * n_degrees + d, not the type alone.", lambda tv, dv: tv.argmax(1)),
    ]
    return run_check("check_hierarchical_tool", fn, hirl.hierarchical_tool, cases, mistakes,
                     compare=lambda got, exp: close(got, exp, atol=0.0, rtol=0.0),
                     called_as="fn(type_values, degree_values) with type_values (B, n_types) and degree_values "
                               "(B, n_types, n_degrees); it returns one tool index per state (B,)",
                     hint="t = type_values.argmax(1); d = degree_values[torch.arange(B), t].argmax(1); "
                          "return t * n_degrees + d.")


# ----------------------------------------------------------------------------- group-relative advantages (ch. 8)
def check_group_advantages(fn: Callable[..., Any]) -> str:
    """Check ``fn(returns, group)``, GRPO's group-relative advantages, against
    :func:`.label_free.group_advantages`: returns (B * group,) with the chains of a patch consecutive ->
    (R - group mean) / (group std + 1e-6), the std without Bessel's correction."""
    from ..labelfree.policy import group_advantages
    g = torch.Generator().manual_seed(8)
    cases = [Case("returns [1, 3, 5, 5, 2, 2], group 2", (torch.tensor([1.0, 3.0, 5.0, 5.0, 2.0, 2.0]), 2),
                  "A group whose chains all earned the same return has no signal: its advantages are 0."),
             Case("12 random returns, group 4", (torch.randn(12, generator=g), 4)),
             Case("8 random returns, group 8 (one patch)", (torch.randn(8, generator=g) * 3 + 1, 8))]

    def by_all(r, k):
        return (r - r.mean()) / (r.std(unbiased=False) + 1e-6)

    mistakes = [
        Mistake("Normalise within each group (r.view(-1, group)), not over the whole batch: the baseline is the "
                "mean return of the same patch's chains.", by_all),
        Mistake("Divide by the group's standard deviation too (plus 1e-6), as GRPO does.",
                lambda r, k: (r.view(-1, k) - r.view(-1, k).mean(1, keepdim=True)).flatten()),
        Mistake("Use the population standard deviation (unbiased=False).",
                lambda r, k: ((r.view(-1, k) - r.view(-1, k).mean(1, keepdim=True))
                              / (r.view(-1, k).std(1, keepdim=True) + 1e-6)).flatten()),
        Mistake("The chains of a patch are consecutive: reshape to (-1, group), not (group, -1).",
                lambda r, k: ((r.view(k, -1) - r.view(k, -1).mean(0, keepdim=True))
                              / (r.view(k, -1).std(0, keepdim=True, unbiased=False) + 1e-6)).flatten()),
    ]
    return run_check("check_group_advantages", fn, group_advantages, cases, mistakes,
                     called_as="fn(returns, group) with returns (B * group,) floats and an int group; it returns one "
                               "advantage per chain",
                     hint="r = returns.view(-1, group); return ((r - r.mean(1, keepdim=True)) / "
                          "(r.std(1, keepdim=True, unbiased=False) + 1e-6)).flatten()")


# ----------------------------------------------------------------------------- reward-map convolution (ch. 7)
def check_reward_map_conv(fn: Callable[..., Any]) -> str:
    """Check ``fn(returns, reward, gamma, weight)``, one step back of PixelRL's return with the reward-map convolution,
    R <- r + gamma * (w * R), against :func:`.pixelrl.reward_map_step`. returns, reward: (N, 1, H, W); weight
    (1, 1, K, K), K odd, applied as ``F.conv2d`` does (a cross-correlation) with zero padding K // 2."""
    import torch.nn.functional as F

    from ..pixelrl.a2c import reward_map_step
    g = torch.Generator().manual_seed(7)
    delta = torch.zeros(1, 1, 3, 3)
    delta[0, 0, 1, 1] = 1.0
    cases = [Case("w = identity (a 3x3 delta): the plain n-step return", (torch.randn(1, 1, 6, 7, generator=g),
                  torch.randn(1, 1, 6, 7, generator=g), 0.95, delta)),
             Case("random maps (2, 1, 12, 15), a non-symmetric 5x5 kernel", (torch.randn(2, 1, 12, 15, generator=g),
                  torch.randn(2, 1, 12, 15, generator=g), 0.9, torch.rand(1, 1, 5, 5, generator=g) / 10))]
    pad = lambda w: w.shape[-1] // 2                                        # noqa: E731
    mistakes = [
        Mistake("The kernel is flipped (a true convolution): use F.conv2d as it is, a cross-correlation.",
                lambda R, r, gm, w: reward_map_step(R, r, gm, w.flip(-1, -2))),
        Mistake("gamma is missing: R <- r + gamma * (w * R).", lambda R, r, gm, w: reward_map_step(R, r, 1.0, w)),
        Mistake("The kernel is ignored: that is the plain n-step return.", lambda R, r, gm, w: reward_map_step(R, r, gm)),
        Mistake("The reward is convolved too: add r after the convolution.",
                lambda R, r, gm, w: F.conv2d(r + gm * R, w, padding=pad(w))),
        Mistake("The reward is missing: R <- r + gamma * (w * R).",
                lambda R, r, gm, w: gm * F.conv2d(R, w, padding=pad(w))),
    ]
    return run_check("check_reward_map_conv", fn, reward_map_step, cases, mistakes,
                     called_as="fn(returns, reward, gamma, weight) with maps (N, 1, H, W) and a kernel (1, 1, K, K); it "
                               "returns the new returns, same shape",
                     hint="return reward + gamma * F.conv2d(returns, weight, padding=weight.shape[-1] // 2): the "
                          "returns keep their shape with padding K // 2")


# ------------------------------------------------------------------------------------- RL-Restore's cost (ch. 5)
def rl_restore_macs(tool_macs: list[int], t_max: int, agent_macs: int) -> int:
    """Multiply-adds of RL-Restore on one patch: the tools of its chain plus one agent evaluation per decision, the
    final "stop" included unless the chain reached ``t_max`` tools (chapter 5, the paper's Table 2)."""
    decisions = len(tool_macs) + (1 if len(tool_macs) < t_max else 0)
    return sum(tool_macs) + decisions * agent_macs


def check_rl_restore_macs(fn: Callable[..., Any]) -> str:
    """Check ``fn(tool_macs, t_max, agent_macs)``, the multiply-adds of RL-Restore on one patch given the MACs of each
    tool of its chain (a list, possibly empty), against :func:`rl_restore_macs`."""
    cases = [Case("a chain of two tools, t_max 3 (the agent stopped)", ([120_000_000, 40_000_000], 3, 9_000_000)),
             Case("a full chain of three tools, t_max 3 (no stop decision)", ([5, 7, 11], 3, 100)),
             Case("an empty chain: the agent stopped at once", ([], 3, 9_000_000),
                  "stopping at once still costs one evaluation of the agent")]
    mistakes = [
        Mistake("The agent is missing: it runs once per decision.", lambda tm, t, a: sum(tm)),
        Mistake("The stop decision is missing: an agent that stops before t_max runs once more to say so.",
                lambda tm, t, a: sum(tm) + len(tm) * a),
        Mistake("The agent runs once per decision, not always t_max times.", lambda tm, t, a: sum(tm) + t * a),
        Mistake("A full chain has no stop decision: the episode ends after t_max tools.",
                lambda tm, t, a: sum(tm) + (len(tm) + 1) * a),
    ]
    return run_check("check_rl_restore_macs", fn, rl_restore_macs, cases, mistakes,
                     called_as="fn(tool_macs, t_max, agent_macs) with a list of ints, an int and an int; it returns "
                               "an int",
                     hint="the tools' multiply-adds plus agent_macs times the number of decisions: one per tool, and "
                          "one more for stop when the chain is shorter than t_max")


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


# ---------------------------------------------------------------------------------------- Double DQN target (ch. 4)
def check_double_td_target(fn: Callable[..., Any]) -> str:
    """Check ``fn(q_next_target, q_next_online, rewards, dones, gamma)``, Double DQN's target, against
    :func:`.agents.td_targets` with ``q_next_online``: the online network picks a' = argmax_a Q(s', a), the target
    network values it, r + gamma * Q'(s', a') * (1 - done). Q-values (..., A), rewards and bool dones (...)."""
    g = torch.Generator().manual_seed(4)
    qt, qo, r = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g), torch.randn(6, generator=g)
    d = torch.tensor([0, 1, 0, 0, 0, 1]).bool()
    seq = (torch.randn(3, 2, 5, generator=g), torch.randn(3, 2, 5, generator=g), torch.randn(3, 2, generator=g),
           torch.tensor([[0, 0], [0, 1], [1, 1]]) > 0)
    cases = [Case("q_next_target, q_next_online (6, 5) random, rewards (6,), dones [F, T, F, F, F, T], gamma 0.99",
                  (qt, qo, r, d, 0.99)),
             Case("the online network agrees with the target network (q_next_online = q_next_target)",
                  (qt, qt.clone(), r, d, 0.9), "When both networks agree, Double DQN's target is DQN's."),
             Case("a batch of episodes: Q-values (3, 2, 5), rewards and dones (3, 2), gamma 0.95", (*seq, 0.95),
                  "Pick the action along the last dimension: q_next_online.argmax(dim=-1, keepdim=True).")]

    def reference(qt: torch.Tensor, qo: torch.Tensor, r: torch.Tensor, d: torch.Tensor, gm: float) -> torch.Tensor:
        return agents.td_targets(qt, r, d, gm, qo)
    reference.__name__, reference.__module__ = "td_targets", agents.__name__
    mistakes = [Mistake("That is plain DQN's target, max_a Q'(s', a): let the online network choose the action "
                        "(argmax of q_next_online) and take the target network's value of it.",
                        lambda qt, qo, r, d, gm: agents.td_targets(qt, r, d, gm)),
                Mistake("That values the action with the online network: take the value from q_next_target, "
                        "at the action the online network picked.",
                        lambda qt, qo, r, d, gm: agents.td_targets(qo, r, d, gm)),
                Mistake("You forgot (1 - done): at a terminal transition the target is the reward alone.",
                        lambda qt, qo, r, d, gm: agents.td_targets(qt, r, torch.zeros_like(d), gm, qo))]
    return run_check("check_double_td_target", fn, reference, cases, mistakes,
                     called_as="fn(q_next_target, q_next_online, rewards, dones, gamma) with Q-values (..., A), "
                               "rewards (...) floats, dones (...) bools and a float gamma",
                     hint="a = q_next_online.argmax(dim=-1, keepdim=True); target = rewards + gamma * "
                          "q_next_target.gather(-1, a)[..., 0] * (~dones).float().")
