"""restorelib.teaching.checks: each check passes the library's reference and names the problem in typical wrong answers."""
import math

import numpy as np
import pytest
import torch

from restorelib.rlrestore import nets as agents
from restorelib.teaching import checks
from restorelib.core import metrics
from restorelib.search import chains as search


def fails(check, fn, *words, **kwargs):
    """Run ``check(fn)``; it must raise AssertionError whose message contains every word."""
    with pytest.raises(AssertionError) as err:
        check(fn, **kwargs)
    msg = str(err.value)
    for w in ("input:", "expected:", "hint:", *words):
        assert w in msg, f"{w!r} not in the message:\n{msg}"
    return msg


# ----------------------------------------------------------------------------------------------------------- PSNR
@pytest.mark.filterwarnings("ignore::RuntimeWarning")                  # NumPy's log10(1 / 0) for identical images
def test_psnr_reference_and_student_versions_pass():
    assert checks.check_psnr(metrics.psnr).startswith("check_psnr: all")
    assert "pass" in checks.check_psnr(lambda x, y: 10 * torch.log10(1 / (x - y).pow(2).flatten(1).mean(1)))
    assert "pass" in checks.check_psnr(lambda x, y: 10 * np.log10(1 / ((x - y) ** 2).reshape(len(x), -1).mean(1)),
                                       numpy=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn, words", [
    (lambda x, y: 10 * torch.log(1 / (x - y).pow(2).flatten(1).mean(1)), ["natural logarithm", "log10"]),
    (lambda x, y: 20 * torch.log10(1 / (x - y).pow(2).flatten(1).mean(1)), ["factor is 10"]),
    (lambda x, y: 10 * torch.log10(255**2 / (x - y).pow(2).flatten(1).mean(1)), ["peak value is 1"]),
    (lambda x, y: 10 * torch.log10(1 / (x - y).pow(2).flatten(1).sum(1)), ["mean, not the sum"]),
    (lambda x, y: 10 * torch.log10(1 / (x - y).abs().flatten(1).mean(1)), ["Square the differences"]),
    (lambda x, y: 10 * torch.log10(1 / (x - y).pow(2).mean()), ["one MSE per image", "returned: "]),
], ids=["ln", "factor-20", "peak-255", "sum", "abs", "batch-mean"])
def test_psnr_typical_mistakes_are_named(fn, words):
    fails(checks.check_psnr, fn, *words)


def test_psnr_nan_on_identical_images_gets_the_edge_case_hint():
    def nan_psnr(x, y):                     # e.g. 0/0 for identical images
        mse = (x - y).pow(2).flatten(1).mean(1)
        return torch.where(mse == 0, torch.tensor(float("nan")), 10 * torch.log10(1 / mse))
    msg = fails(checks.check_psnr, nan_psnr, "identical images", "never nan")
    assert "returned: [nan" in msg


def test_psnr_check_reports_exceptions_and_non_callables():
    msg = fails(checks.check_psnr, lambda x, y: x.no_such_method(), "AttributeError", "called as fn(x, y)")
    assert "but your function raised" in msg
    with pytest.raises(TypeError, match="your function itself"):
        checks.check_psnr(metrics.psnr(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)))


def test_student_function_cannot_corrupt_the_reference_inputs():
    def in_place(x, y):                     # right answer, then scribbles over its inputs
        out = metrics.psnr(x, y)
        x.zero_()
        y.fill_(1)
        return out
    assert "pass" in checks.check_psnr(in_place)


# ----------------------------------------------------------------------------------------------------- TD targets
def test_td_target_reference_passes():
    assert checks.check_td_target(agents.td_targets).startswith("check_td_target: all")
    right = lambda q, r, d, g: r + g * q.max(dim=-1).values * (1 - d.float())
    assert "pass" in checks.check_td_target(right)


@pytest.mark.parametrize("fn, words", [
    (lambda q, r, d, g: r + g * q.max(dim=-1).values, ["forgot (1 - done)"]),
    (lambda q, r, d, g: r + g * q.max(dim=-1).values * d.float(), ["inverted"]),
    (lambda q, r, d, g: r + 0.99 * q.max(dim=-1).values * (~d).float(), ["gamma you are given", "gamma 0.9"]),
    (lambda q, r, d, g: r + q.max(dim=-1).values * (~d).float(), ["Discount"]),
    (lambda q, r, d, g: r + g * q.mean(dim=-1) * (~d).float(), ["not the mean"]),
    (lambda q, r, d, g: r + g * q.max() * (~d).float(), ["whole tensor"]),
    (lambda q, r, d, g: r + g * q.max(dim=1).values * (~d).float(), ["last dimension", "sequences"]),
], ids=["no-done-mask", "inverted-mask", "fixed-gamma", "no-gamma", "mean", "global-max", "dim-1"])
def test_td_target_typical_mistakes_are_named(fn, words):
    fails(checks.check_td_target, fn, *words)


def test_td_target_bool_subtraction_error_gets_a_hint():
    msg = fails(checks.check_td_target, lambda q, r, d, g: r + g * q.max(dim=-1).values * (1 - d),
                "RuntimeError", "(~dones).float()")
    assert "bool" in msg


# ------------------------------------------------------------------------------------------------ stepwise reward
def test_stepwise_reward_reference_is_the_environment_reward():
    g = torch.Generator().manual_seed(5)
    clean = torch.rand(3, 3, 8, 8, generator=g)
    before = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    after = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    r = checks.env_stepwise_reward(before, after, clean)
    assert torch.allclose(r, metrics.psnr(after, clean) - metrics.psnr(before, clean), atol=1e-5)
    right = lambda b, a, c: metrics.psnr(a, c) - metrics.psnr(b, c)
    assert checks.check_stepwise_reward(right).startswith("check_stepwise_reward: all")


@pytest.mark.parametrize("fn, words", [
    (lambda b, a, c: metrics.psnr(b, c) - metrics.psnr(a, c), ["sign is reversed"]),
    (lambda b, a, c: metrics.psnr(a, c), ["not the PSNR of the new image"]),
    (lambda b, a, c: metrics.psnr(a, b), ["against the clean image"]),
    (lambda b, a, c: metrics.mse(b, c) - metrics.mse(a, c), ["not of MSEs"]),
    (lambda b, a, c: (metrics.psnr(a, c) - metrics.psnr(b, c)).mean(), ["one reward per image"]),
    (lambda b, a, c: (metrics.psnr(a, c) - metrics.psnr(b, c)).abs(), ["negative reward", "hurts"]),
], ids=["reversed", "absolute", "against-before", "mse", "batch-mean", "abs"])
def test_stepwise_reward_typical_mistakes_are_named(fn, words):
    fails(checks.check_stepwise_reward, fn, *words)


def test_stepwise_reward_with_an_unfloored_psnr_gets_the_perfect_step_hint():
    own = lambda x, y: 10 * torch.log10(1 / (x - y).pow(2).flatten(1).mean(1))
    fails(checks.check_stepwise_reward, lambda b, a, c: own(a, c) - own(b, c), "perfect step", "metrics.psnr")


# ------------------------------------------------------------------------------------------- brute-force trials
def test_brute_force_trials_reference_and_closed_form_pass():
    assert checks.check_brute_force_trials(search.brute_force_trials).startswith("check_brute_force_trials: all")
    closed = lambda m, L: L if m == 1 else m * (m**L - 1) / (m - 1)     # a float is fine when it is exact
    assert "pass" in checks.check_brute_force_trials(closed)


@pytest.mark.parametrize("fn, words", [
    (lambda m, L: m**L, ["every length"]),
    (lambda m, L: sum(m**i for i in range(L + 1)), ["Start the sum at i = 1"]),
    (lambda m, L: sum(m**i for i in range(1, L)), ["up to and including"]),
    (lambda m, L: m * L, ["greedy"]),
    (lambda m, L: sum(i * m**i for i in range(1, L + 1)), ["share a prefix"]),
    (lambda m, L: m * (m**L - 1) // (m - 1), ["ZeroDivisionError", "m = 1"]),
    (lambda m, L: math.nan, ["m = 12, max_len = 1"]),
], ids=["longest-only", "from-0", "to-L-1", "greedy", "no-sharing", "m-equals-1", "nan"])
def test_brute_force_trials_typical_mistakes_are_named(fn, words):
    fails(checks.check_brute_force_trials, fn, *words)


def test_run_check_is_generic():
    """A new check is cases + a reference + mistakes (how check_reward_map_conv and later checks are written)."""
    cases = [checks.Case("x = 2", (2,)), checks.Case("x = -3", (-3,), "squares are never negative")]
    mistakes = [checks.Mistake("you doubled x instead of squaring it", lambda x: 2 * x)]
    kw = dict(called_as="fn(x)", hint="x squared is x * x")
    assert checks.run_check("check_square", lambda x: x * x, lambda x: x**2, cases, mistakes, **kw).startswith(
        "check_square: all 2 cases pass")
    with pytest.raises(AssertionError, match="you doubled x"):
        checks.run_check("check_square", lambda x: 2 * x, lambda x: x**2, cases, mistakes, **kw)
    with pytest.raises(AssertionError, match="never negative"):
        checks.run_check("check_square", lambda x: x * abs(x) if x < 0 else x * x, lambda x: x**2, cases, mistakes,
                         **kw)
    with pytest.raises(AssertionError, match="x squared is x \\* x"):
        checks.run_check("check_square", lambda x: x + 3, lambda x: x**2, cases, mistakes, **kw)
