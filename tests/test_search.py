"""Toolchain search without learning: trial counts, reverse order, per-image chains, greedy vs brute force.

The toolboxes have known behaviour: untrained tools are exactly the identity, and chosen tools are replaced by
simple stand-ins (scale, shift, blend toward a fixed image), so the best chain can be worked out by hand.
"""
import pytest
import torch
import torch.nn as nn
from standins import Blend, Scale, Shift, gen

from restorelib.core.metrics import psnr
from restorelib.search.chains import (best_fixed_chain, brute_force, brute_force_trials, greedy, random_chains,
                               reverse_chain, run_chains)
from restorelib.toolbox.tools import TOOL_NAMES, Toolbox, ToolSpec




def const(*values: float, size: int = 16) -> torch.Tensor:
    """A batch of flat images, one per value: (len(values), 3, size, size)."""
    return torch.tensor(values).view(-1, 1, 1, 1).expand(-1, 3, size, size).contiguous()


def abc_toolbox() -> Toolbox:
    """Three tools: A sets the image to 0.45, B subtracts 0.1, C triples it (then Toolbox.apply clips to [0, 1])."""
    tb = Toolbox((ToolSpec("A", "blur", 0, 1, 3), ToolSpec("B", "noise", 0, 1, 3), ToolSpec("C", "jpeg", 0, 1, 3)))
    tb.nets[0], tb.nets[1], tb.nets[2] = Blend(0.45, 1.0), Shift(-0.1), Scale(3.0)
    return tb.eval()


def scale_toolbox() -> Toolbox:
    """Three tools that multiply by 0.5, 2 and 0.9 (names s0.5, s2, s0.9)."""
    factors = (0.5, 2.0, 0.9)
    tb = Toolbox(tuple(ToolSpec(f"s{a:g}", "blur", 0, 1, 3) for a in factors))
    for i, a in enumerate(factors):
        tb.nets[i] = Scale(a)
    return tb.eval()


@pytest.fixture(scope="module")
def mixed() -> Toolbox:
    """The 12 untrained tools (identities) with four replaced: a blend, a shift, a darkening and a brightening."""
    tb = Toolbox()
    target = torch.rand(3, 1, 1, generator=gen(5)) * 0.4 + 0.3            # a colour cast to pull toward
    tb.nets[0] = Blend(target, 0.4)
    tb.nets[4] = Shift(0.06)
    tb.nets[8] = Scale(0.85)
    tb.nets[11] = Scale(1.2)
    return tb.eval()


@pytest.fixture(scope="module")
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Random clean images and a degraded version (darkened, with noise): (4, 3, 24, 24) each."""
    clean = torch.rand(4, 3, 24, 24, generator=gen(1)) * 0.6 + 0.2
    x = (clean * 0.8 + 0.1 * torch.randn(clean.shape, generator=gen(2))).clamp(0, 1)
    return x, clean


# ----------------------------------------------------------------------------- trial counts
def test_brute_force_trials():
    assert brute_force_trials(12, 3) == 12 + 144 + 1728 == 1884
    assert [brute_force_trials(9, L) for L in (1, 2, 3, 4)] == [9, 90, 819, 7380]   # HIRL's Table 2
    assert brute_force_trials(5, 0) == 0
    assert brute_force_trials(1, 4) == 4
    for m, L in ((0, 3), (12, -1)):
        with pytest.raises(ValueError, match="max_len|m must"):
            brute_force_trials(m, L)


# ----------------------------------------------------------------------------- reverse order
def test_reverse_chain_picks_the_interval_tools():
    tb = Toolbox()
    assert reverse_chain({"blur": 2.0, "noise": 20, "jpeg": 30}, tb) == ["jpeg-3", "noise-2", "blur-2"]
    assert reverse_chain({"blur": 4.5, "noise": 45, "jpeg": 15}, tb) == ["jpeg-4", "noise-4", "blur-4"]
    assert reverse_chain({"blur": 0.5, "noise": 5, "jpeg": 80}, tb) == ["jpeg-1", "noise-1", "blur-1"]
    assert reverse_chain({"noise": 30.0}, tb) == ["noise-3"]
    assert reverse_chain({"blur": 3.0}, tb) == ["blur-3"]
    assert reverse_chain({"jpeg": 40}, tb) == ["jpeg-2"]
    assert reverse_chain({}, tb) == []


def test_reverse_chain_skips_zero_levels_and_keeps_jpeg():
    tb = Toolbox()
    assert reverse_chain({"blur": 0.0, "noise": 0.0, "jpeg": 30}, tb) == ["jpeg-3"]
    assert reverse_chain({"blur": 0.0, "noise": 20}, tb) == ["noise-2"]
    assert reverse_chain({"jpeg": 95}, tb) == ["jpeg-1"]                 # any JPEG quality counts
    assert reverse_chain({"blur": 0.0}, tb) == []


def test_reverse_chain_outside_every_interval_picks_the_nearest():
    tb = Toolbox()
    assert reverse_chain({"noise": 60}, tb) == ["noise-4"]
    assert reverse_chain({"blur": 7.0}, tb) == ["blur-4"]
    assert reverse_chain({"jpeg": 5}, tb) == ["jpeg-4"]
    # "nearest" measures the distance to the interval, not to one of its ends
    gap = Toolbox((ToolSpec("n-lo", "noise", 0, 10, 3), ToolSpec("n-hi", "noise", 30, 50, 3)))
    assert reverse_chain({"noise": 18}, gap) == ["n-lo"]
    assert reverse_chain({"noise": 22}, gap) == ["n-hi"]
    assert reverse_chain({"noise": 40}, gap) == ["n-hi"]
    # a toolbox without JPEG tools skips JPEG
    noise_only = Toolbox(tuple(s for s in tb.specs if s.distortion == "noise"))
    assert reverse_chain({"blur": 2.0, "noise": 20, "jpeg": 30}, noise_only) == ["noise-2"]


# ----------------------------------------------------------------------------- run_chains
def test_run_chains_applies_a_chain_per_image():
    tb = scale_toolbox()
    x = const(0.4, 0.4, 0.4, 0.2)
    chains = [["s0.5"], ["s2", "s0.9"], [], ["s2", "s2", "s0.5"]]
    out = run_chains(tb, x, chains)
    assert torch.allclose(out, const(0.2, 0.72, 0.4, 0.4), atol=1e-6)
    # clipping happens after every tool: 0.4 x 2 x 2 = 1.6 -> 1, then x 0.5 = 0.5 (not 0.8)
    assert torch.allclose(run_chains(tb, const(0.4), [["s2", "s2", "s0.5"]]), const(0.5), atol=1e-6)
    assert torch.equal(x, const(0.4, 0.4, 0.4, 0.2))                     # the input is not modified
    assert torch.equal(run_chains(tb, x, [[]] * 4), x)


def test_run_chains_calls_each_tool_once_per_step():
    tb = scale_toolbox()
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.shape[0])
            return x * 0.5

    tb.nets[0] = Spy()
    run_chains(tb, const(0.4, 0.4, 0.4), [["s0.5", "s0.5"], ["s0.5"], ["s2", "s0.5"]])
    assert seen == [2, 2]                               # step 1: images 0 and 1; step 2: images 0 and 2


def test_run_chains_errors():
    tb = scale_toolbox()
    with pytest.raises(ValueError, match="chains"):
        run_chains(tb, const(0.4, 0.5), [["s2"]])
    with pytest.raises(ValueError, match="tool"):
        run_chains(tb, const(0.4), [["nope"]])
    with pytest.raises(ValueError, match="channels"):
        run_chains(tb, torch.rand(1, 2, 8, 8), [[]])


# ----------------------------------------------------------------------------- greedy vs brute force
def test_greedy_falls_into_a_local_optimum_that_brute_force_avoids():
    """Image 0: x = 0.3, clean = 0.6 (error 0.3).

    A gives 0.45 (error 0.15): the best first step, but from 0.45 every tool is worse or equal (A: 0.45,
    B: 0.35, C: 1.0), so greedy stops there. B first loses (0.2, error 0.4), then C gives 0.6: exact.
    Image 1: x = 0.58, clean = 0.6: every tool is worse (A 0.45, B 0.48, C 1.0): greedy and brute force keep it.
    """
    tb = abc_toolbox()
    x, clean = const(0.3, 0.58), const(0.6, 0.6)
    g = greedy(tb, x, clean, max_len=3)
    assert g.chains == [["A"], []]
    assert g.trials == [6, 3]                          # 3 tools per step taken, the final non-improving step included
    assert torch.allclose(g.images, const(0.45, 0.58), atol=1e-6)
    assert torch.allclose(g.psnr, psnr(g.images, clean))
    assert g.psnr[0] == pytest.approx(-20 * torch.log10(torch.tensor(0.15)).item(), abs=1e-3)

    b = brute_force(tb, x, clean, max_len=3)
    assert b.chains == [["B", "C"], []]
    assert b.trials == [3 + 9 + 27] * 2 == [brute_force_trials(3, 3)] * 2
    assert torch.allclose(b.images, const(0.6, 0.58), atol=1e-6)
    assert torch.allclose(b.psnr, psnr(b.images, clean))
    assert b.psnr[0] > g.psnr[0] + 40
    assert b.psnr[1] == g.psnr[1] == psnr(x, clean)[1]
    assert torch.allclose(run_chains(tb, x, b.chains), b.images)

    # with one step only, brute force agrees with greedy: A is the best single tool
    assert brute_force(tb, x, clean, max_len=1).chains == [["A"], []]


def test_greedy_follows_improving_steps_up_to_max_len():
    tb = scale_toolbox()
    x, clean = const(0.1, 0.9), const(0.8, 0.36)
    g = greedy(tb, x, clean, max_len=2)
    # image 0: 0.1 -> 0.2 -> 0.4 (x2 twice, max_len reached); image 1: 0.9 -> 0.45 (x0.5) -> 0.405 (x0.9 beats
    # x0.5's 0.225)
    assert g.chains == [["s2", "s2"], ["s0.5", "s0.9"]]
    assert g.trials == [6, 6]
    assert torch.allclose(g.images, const(0.4, 0.405), atol=1e-6)
    # with room for 4 steps: image 0 reaches 0.8 exactly after 3, image 1 0.3645 (x0.9 again); the 4th step
    # improves neither (1.0/0.4/0.72 and 0.18/0.73/0.328), so both stop after 3 tools and 4 x 3 trials
    g4 = greedy(tb, x, clean, max_len=4)
    assert g4.chains == [["s2", "s2", "s2"], ["s0.5", "s0.9", "s0.9"]]
    assert g4.trials == [12, 12]
    assert torch.allclose(g4.images, const(0.8, 0.3645), atol=1e-6)
    assert g4.psnr[0] == pytest.approx(100.0)                          # exact: PSNR is floored at 100 dB


def test_greedy_and_brute_force_with_max_len_0_return_the_input(pair):
    x, clean = pair
    tb = abc_toolbox()
    for search in (greedy, brute_force):
        r = search(tb, x, clean, max_len=0)
        assert r.chains == [[]] * 4 and r.trials == [0] * 4
        assert torch.equal(r.images, x)
        assert torch.allclose(r.psnr, psnr(x, clean))


def test_brute_force_never_worse_than_identity_or_greedy(mixed, pair):
    x, clean = pair
    b = brute_force(mixed, x, clean, max_len=2)
    g = greedy(mixed, x, clean, max_len=2)
    base = psnr(x, clean)
    assert (b.psnr >= base).all() and (g.psnr >= base).all()
    assert (b.psnr >= g.psnr - 1e-4).all()
    assert (b.psnr > base + 0.1).all()                                 # the modified tools do help here
    assert torch.allclose(b.psnr, psnr(b.images, clean), atol=1e-4)
    assert torch.allclose(run_chains(mixed, x, b.chains), b.images, atol=1e-5)
    assert b.trials == [12 + 144] * 4
    assert all(len(c) <= 2 and set(c) <= set(TOOL_NAMES) for c in b.chains)
    assert all(len(c) <= 2 for c in g.chains)
    assert all(t % 12 == 0 and 12 <= t <= 24 for t in g.trials)


def test_brute_force_on_an_identity_toolbox_keeps_the_input(pair):
    x, clean = pair
    r = brute_force(Toolbox(), x[:2], clean[:2], max_len=1)
    assert r.chains == [[], []] and torch.equal(r.images, x[:2]) and r.trials == [12, 12]


def test_brute_force_budget_caps_the_trials_breadth_first(mixed, pair):
    x, clean = pair
    full = brute_force(mixed, x, clean, max_len=1)
    r = brute_force(mixed, x, clean, max_len=3, budget=12)             # room for the length-1 chains only
    assert r.trials == [12] * 4
    assert r.chains == full.chains and torch.equal(r.psnr, full.psnr)
    r = brute_force(mixed, x, clean, max_len=3, budget=15)             # + (0,0), (0,1), (0,2)
    assert r.trials == [15] * 4
    for c in r.chains:
        assert len(c) <= 2 and (len(c) < 2 or (c[0] == "blur-1" and c[1] in ("blur-1", "blur-2", "blur-3")))
    assert (r.psnr >= full.psnr).all()
    assert brute_force(mixed, x, clean, max_len=2, budget=10_000).trials == [156] * 4   # a budget above the total
    r = brute_force(mixed, x, clean, max_len=2, budget=0)
    assert r.trials == [0] * 4 and r.chains == [[]] * 4 and torch.equal(r.images, x)


def test_brute_force_budget_visits_chains_in_breadth_first_order():
    """abc toolbox, x = 0.3, clean = 0.6: the best chain (B, C) is the 2nd length-2 family; A alone is best of 1."""
    tb = abc_toolbox()
    seen = []
    for net, name in zip(tb.nets, "ABC"):
        net.register_forward_pre_hook(lambda m, args, name=name: seen.append((name, round(args[0].max().item(), 4))))
    x, clean = const(0.3), const(0.6)
    r = brute_force(tb, x, clean, max_len=3, budget=5)
    assert seen == [("A", 0.3), ("B", 0.3), ("C", 0.3), ("A", 0.45), ("B", 0.45)]
    assert r.chains == [["A"]] and r.trials == [5]
    assert brute_force(tb, x, clean, max_len=3, budget=6).chains == [["A"]]      # (A, *) only: no better
    assert brute_force(tb, x, clean, max_len=3, budget=8).chains == [["A"]]      # (B, A), (B, B): worse
    assert brute_force(tb, x, clean, max_len=3, budget=9).chains == [["B", "C"]]  # (B, C): exact


def test_brute_force_chunks_give_the_same_result(mixed, pair):
    x, clean = pair
    one = brute_force(mixed, x, clean, max_len=2, chunk=16)
    each = brute_force(mixed, x, clean, max_len=2, chunk=1)
    three = brute_force(mixed, x, clean, max_len=2, chunk=3)
    for r in (each, three):
        assert r.chains == one.chains and r.trials == one.trials
        assert torch.allclose(r.images, one.images, atol=1e-6)
        assert torch.allclose(r.psnr, one.psnr, atol=1e-5)


def test_tools_subset_restricts_the_search(mixed, pair):
    x, clean = pair
    tools = ["noise-1", "jpeg-4"]
    b = brute_force(mixed, x, clean, max_len=2, tools=tools)
    g = greedy(mixed, x, clean, max_len=2, tools=tools)
    assert b.trials == [2 + 4] * 4
    assert all(set(c) <= set(tools) for c in b.chains + g.chains)
    assert all(t in (2, 4) for t in g.trials)


# ----------------------------------------------------------------------------- random and best fixed chain
def test_random_chains_are_seeded_with_exact_lengths():
    tb = Toolbox()
    a = random_chains(tb, 5, max_len=3, generator=gen(7))
    b = random_chains(tb, 5, max_len=3, generator=gen(7))
    c = random_chains(tb, 5, max_len=3, generator=gen(8))
    assert a == b and a != c
    assert len(a) == 5 and all(len(ch) == 3 for ch in a)
    assert all(t in TOOL_NAMES for ch in a for t in ch)
    many = random_chains(tb, 200, max_len=2, generator=gen(0))
    assert len({t for ch in many for t in ch}) == 12                    # uniform over all tools
    sub = random_chains(tb, 20, max_len=4, tools=["noise-2", "blur-3"], generator=gen(1))
    assert all(len(ch) == 4 and set(ch) <= {"noise-2", "blur-3"} for ch in sub)
    assert random_chains(tb, 3, max_len=0) == [[], [], []]


def test_best_fixed_chain_matches_run_chains():
    tb = scale_toolbox()
    x, clean = const(0.1, 0.2, 0.15), const(0.4, 0.7, 0.5)
    chain, score = best_fixed_chain(tb, x, clean, max_len=2)
    assert chain == ["s2", "s2"]                                       # every image wants to be brighter
    out = run_chains(tb, x, [chain] * 3)
    assert score == pytest.approx(psnr(out, clean).mean().item(), abs=1e-5)
    assert score >= psnr(x, clean).mean().item()


def test_best_fixed_chain_on_random_images(mixed, pair):
    x, clean = pair
    chain, score = best_fixed_chain(mixed, x, clean, max_len=2)
    assert 1 <= len(chain) <= 2 and set(chain) <= set(TOOL_NAMES)
    assert score == pytest.approx(psnr(run_chains(mixed, x, [chain] * 4), clean).mean().item(), abs=1e-4)
    assert score > psnr(x, clean).mean().item()
    # no fixed chain beats choosing the best chain per image
    assert score <= brute_force(mixed, x, clean, max_len=2).psnr.mean().item() + 1e-4
    assert best_fixed_chain(mixed, x, clean, max_len=0) == ([], pytest.approx(psnr(x, clean).mean().item()))


# ----------------------------------------------------------------------------- errors
def test_search_errors(pair):
    x, clean = pair
    tb = abc_toolbox()
    for search in (greedy, brute_force, best_fixed_chain):
        with pytest.raises(ValueError, match="clean"):
            search(tb, x, clean[:2])
        with pytest.raises(ValueError, match="clean"):
            search(tb, x, clean[..., :16])
        with pytest.raises(ValueError, match="max_len"):
            search(tb, x, clean, max_len=-1)
        with pytest.raises(ValueError, match="max_len"):
            search(tb, x, clean, max_len=1.5)
        with pytest.raises(ValueError, match="channels"):
            search(tb, x[:, :2], clean[:, :2])
        with pytest.raises(ValueError, match="tool"):
            search(tb, x, clean, tools=["nope"])
    for budget in (-1, 2.5, "10"):
        with pytest.raises(ValueError, match="budget"):
            brute_force(tb, x, clean, max_len=1, budget=budget)
    for chunk in (0, -1, 1.5):
        with pytest.raises(ValueError, match="chunk"):
            brute_force(tb, x, clean, max_len=1, chunk=chunk)


class TrackingToolbox(Toolbox):
    """Records every tool application: its batch size, the size (in images) of the buffer its input lives in, and
    how many earlier outputs are still alive (held by the searcher)."""

    def __init__(self, specs) -> None:
        super().__init__(specs)
        self.refs, self.peak, self.sizes, self.buffers = [], 0, [], []

    def apply(self, x, tool, clip=True):
        import weakref
        self.peak = max(self.peak, sum(r() is not None for r in self.refs))
        self.sizes.append(x.shape[0])
        self.buffers.append(x.untyped_storage().nbytes() // (x[0].numel() * x.element_size()))
        y = super().apply(x, tool, clip)
        self.refs.append(weakref.ref(y))
        return y


@pytest.mark.parametrize("search", ["brute_force", "best_fixed_chain"])
def test_searches_keep_only_the_states_they_extend(pair, search):
    """With m = 3 tools and L = 3, only the 9 length-2 states need keeping, never the 27 length-3 ones; each chain's
    last tool runs once on every image (its prefix is shared), several states of a length in one call."""
    x, clean = pair
    n = x.shape[0]
    specs = abc_toolbox().specs
    tb = TrackingToolbox(specs)
    for i, net in enumerate((Scale(0.9), Shift(0.02), Scale(1.1))):
        tb.nets[i] = net
    fn = brute_force if search == "brute_force" else best_fixed_chain
    fn(tb, x, clean, max_len=3)
    assert sum(tb.sizes) == (3 + 9 + 27) * n                  # one application per chain and image
    assert len(tb.sizes) == 3 + 3 + 3                         # batched: one call per tool and length here
    assert max(tb.buffers) <= 9 * n                           # states read from: the 9 of length 2 at most
    assert tb.peak <= 1                                       # no output is kept beyond its call


def test_greedy_and_brute_force_on_a_no_reference_score():
    from restorelib import evaluate as E
    tb = Toolbox()
    tb.nets[0], tb.nets[1] = Shift(0.1), Shift(-0.1)
    tb.eval()
    x = torch.full((2, 3, 20, 20), 0.4)

    def bright(y):                                   # prefers a mean of 0.6: two brightenings
        return -(y.mean(dim=(1, 2, 3)) - 0.6).abs()

    g = greedy(tb, x, None, 3, score=bright)
    b = brute_force(tb, x, None, 3, score=bright)
    assert g.chains == [[tb.names[0]] * 2] * 2 and b.chains == g.chains
    assert torch.allclose(g.psnr, torch.zeros(2), atol=1e-6)         # the best score reached, here 0
    with pytest.raises(ValueError, match="exactly one of clean"):
        greedy(tb, x, x, 2, score=bright)
    with pytest.raises(ValueError, match="exactly one of clean"):
        brute_force(tb, x, None, 2)
    m = E.get_method("greedy-nr:neg-sigma", "cpu", max_length=2)
    assert m.name == "greedy(L=2)[neg-sigma]" and m.score is not None
    with pytest.raises(ValueError, match="SCORER"):
        E.get_method("brute-force-nr:bogus", "cpu")
