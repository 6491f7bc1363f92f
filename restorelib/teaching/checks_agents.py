"""The exercises' checks of chapters 4-8: the TD target and Double DQN's, RL-Restore's cost, HIRL's hierarchical
choice, PixelRL's reward-map convolution and GRPO's group advantages (:mod:`restorelib.teaching.exercise`).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .exercise import Case, Mistake, close, run_check

from ..hirl import hirl
from ..rlrestore import nets as agents


# ----------------------------------------------------------------------------------------------- TD target (ch. 4)
def check_td_target(fn: Callable[..., Any]) -> str:
    """Check ``fn(q_next, rewards, dones, gamma)``, the one-step deep-Q target, against :func:`restorelib.rlrestore.nets.td_targets`.

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


# ---------------------------------------------------------------------------------------- Double DQN target (ch. 4)
def check_double_td_target(fn: Callable[..., Any]) -> str:
    """Check ``fn(q_next_target, q_next_online, rewards, dones, gamma)``, Double DQN's target, against
    :func:`restorelib.rlrestore.nets.td_targets` with ``q_next_online``: the online network picks a' = argmax_a Q(s', a), the target
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


# ----------------------------------------------------------------------------------- hierarchical choice (ch. 6)
def check_hierarchical_tool(fn: Callable[..., Any]) -> str:
    """Check ``fn(type_values, degree_values)``, HIRL's greedy type-then-degree decision, against
    :func:`restorelib.hirl.nets.hierarchical_tool`: type_values (B, n_types), degree_values (B, n_types, n_degrees) -> tool indices
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


# ----------------------------------------------------------------------------- reward-map convolution (ch. 7)
def check_reward_map_conv(fn: Callable[..., Any]) -> str:
    """Check ``fn(returns, reward, gamma, weight)``, one step back of PixelRL's return with the reward-map convolution,
    R <- r + gamma * (w * R), against :func:`restorelib.pixelrl.a2c.reward_map_step`. returns, reward: (N, 1, H, W); weight
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


# ----------------------------------------------------------------------------- group-relative advantages (ch. 8)
def check_group_advantages(fn: Callable[..., Any]) -> str:
    """Check ``fn(returns, group)``, GRPO's group-relative advantages, against
    :func:`restorelib.labelfree.ppo.group_advantages`: returns (B * group,) with the chains of a patch consecutive ->
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


__all__ = ["check_td_target", "check_double_td_target", "rl_restore_macs", "check_rl_restore_macs", "check_hierarchical_tool", "check_reward_map_conv", "check_group_advantages"]
