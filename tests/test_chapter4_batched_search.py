"""Chapter 4's brute force is batched (one tool call for all states of a chain length, shared prefixes); these tests
compare it with the sequential search it replaced, kept here as the reference: one tool call per chain, in
breadth-first order, the first chain that scores best kept."""
import pytest
import torch
from standins import Blend, Scale, Shift, gen

from restorelib.core.metrics import psnr
from restorelib.search.chains import best_fixed_chain, brute_force, brute_force_curve, brute_force_trials
from restorelib.toolbox.tools import Toolbox, ToolSpec, shipped_tools_available


def walk(toolbox, x, max_len, budget=None):
    """The former ``search._walk``: (chain, output) for every chain, breadth first, one tool call each."""
    frontier, trials = [((), x)], 0
    for depth in range(max_len):
        nxt = []
        for chain, state in frontier:
            for i in range(len(toolbox)):
                if budget is not None and trials >= budget:
                    return
                y = toolbox.apply(state, i)
                trials += 1
                yield chain + (i,), y
                if depth < max_len - 1:
                    nxt.append((chain + (i,), y))
        frontier = nxt


def reference_brute_force(toolbox, x, clean, max_len, budget=None):
    best_img, best_p, best_chain, trials = x.clone(), psnr(x, clean), [()] * x.shape[0], 0
    for chain, y in walk(toolbox, x, max_len, budget):
        trials += 1
        p = psnr(y, clean)
        better = p > best_p
        best_p, best_img[better] = torch.where(better, p, best_p), y[better]
        for j in better.nonzero().flatten().tolist():
            best_chain[j] = chain
    return [[toolbox.names[i] for i in c] for c in best_chain], best_img, best_p, trials


def reference_fixed_chain(toolbox, x, clean, max_len):
    best = ((), psnr(x, clean).mean().item())
    for chain, y in walk(toolbox, x, max_len):
        if (s := psnr(y, clean).mean().item()) > best[1]:
            best = (chain, s)
    return [toolbox.names[i] for i in best[0]], best[1]


def reference_curve(toolbox, x, clean, budgets, depth):
    best, out = psnr(x, clean), []
    rows = {0: best} if 0 in budgets else {}
    for trial, (_, y) in enumerate(walk(toolbox, x, depth, budgets[-1]), start=1):
        best = torch.maximum(best, psnr(y, clean))
        rows[trial] = best
    return torch.stack([rows.get(b, best) for b in budgets])


def toy_toolbox() -> Toolbox:
    """Four stand-in tools, two of which saturate (so that many chains tie exactly at a clipped image)."""
    tb = Toolbox(tuple(ToolSpec(f"t{i}", "noise", 0, 1, 3) for i in range(4)))
    tb.nets[0], tb.nets[1], tb.nets[2], tb.nets[3] = Scale(3.0), Shift(0.05), Blend(0.5, 0.3), Scale(3.0)
    return tb.eval()


def toy_pair(n=5, size=12):
    clean = torch.rand(n, 3, size, size, generator=gen(3)) * 0.6 + 0.3
    clean[0] = 1.0                                            # best reached by any chain that saturates: ties
    x = (clean * 0.7 + 0.05 * torch.randn(clean.shape, generator=gen(4))).clamp(0, 1)
    return x, clean


@pytest.mark.parametrize("max_len, budget", [(1, None), (2, None), (3, None), (3, 7), (3, 30), (3, 0), (2, 10_000)])
def test_batched_brute_force_is_the_sequential_search(max_len, budget):
    tb, (x, clean) = toy_toolbox(), toy_pair()
    chains, images, p, trials = reference_brute_force(tb, x, clean, max_len, budget)
    r = brute_force(tb, x, clean, max_len, budget=budget)
    assert r.chains == chains                                 # ties included: the earliest chain wins
    assert r.trials == [trials] * x.shape[0]
    assert torch.equal(r.images, images) and torch.equal(r.psnr, p)
    if max_len == 3 and budget is None:
        assert r.chains[0] == ["t0"]                          # image 0: the first saturating chain of all


def test_batched_best_fixed_chain_and_curve_are_the_sequential_ones():
    tb, (x, clean) = toy_toolbox(), toy_pair()
    for max_len in (0, 1, 2, 3):
        chain, score = best_fixed_chain(tb, x, clean, max_len)
        ref_chain, ref_score = reference_fixed_chain(tb, x, clean, max_len)
        assert chain == ref_chain and score == pytest.approx(ref_score, abs=1e-5)
    budgets = [0, 3, 4, 20, brute_force_trials(4, 3), 200]
    curve = brute_force_curve(tb, x, clean, budgets, chunk=2)
    assert torch.equal(curve, reference_curve(tb, x, clean, budgets, depth=4))


@pytest.mark.skipif(not shipped_tools_available(), reason="needs the shipped tools")
def test_batched_brute_force_with_the_shipped_tools():
    """Real tools: the batched search runs them channels-last on the CPU, in larger calls, which changes the
    rounding of a convolution (about 1e-7), not the chains."""
    tb = Toolbox.load()
    from restorelib.core.degradations import degrade
    clean = torch.rand(3, 3, 24, 24, generator=gen(0)) * 0.5 + 0.25
    clean = torch.nn.functional.avg_pool2d(clean, 3, 1, 1)    # some structure for the blur tools
    x, _ = degrade(clean, "moderate", generator=gen(1))
    with torch.no_grad():
        chains, images, p, trials = reference_brute_force(tb, x, clean, 2)
        r = brute_force(tb, x, clean, 2)
    assert r.chains == chains and r.trials == [trials] * 3 == [156] * 3
    assert torch.allclose(r.psnr, p, atol=1e-4) and torch.allclose(r.images, images, atol=1e-5)


def test_a_tie_across_tool_calls_keeps_the_earlier_chain():
    """(A, B) and (B, A) give the same image bit for bit (scaling by 0.5 is exact). The batched search meets
    (B, A) first, in the call of tool A on every length-1 state; the sequential search met (A, B) first."""
    tb = Toolbox((ToolSpec("A", "noise", 0, 1, 3), ToolSpec("B", "noise", 0, 1, 3)))
    tb.nets[0], tb.nets[1] = Scale(0.5), Scale(0.75)
    tb.eval()
    x = torch.rand(2, 3, 8, 8, generator=gen(6)) * 0.7 + 0.2
    clean = x * 0.5 * 0.75
    assert torch.equal(x * 0.75 * 0.5, clean)
    chains, _, p, _ = reference_brute_force(tb, x, clean, 3)
    r = brute_force(tb, x, clean, 3)
    assert chains == [["A", "B"]] * 2 and r.chains == chains and torch.equal(r.psnr, p)
