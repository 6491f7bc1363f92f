"""Policy optimisation of chapter 8's label-free agent: sampled tool chains, GRPO's group baseline, PPO's update.

:func:`sample_chains` rolls the policy out on a batch (each patch ``group`` times), :func:`ppo_update` takes PPO's
``epochs`` passes over the chains with the clipped surrogate (:func:`clipped_surrogate`) on advantages from the group
baseline (:func:`group_advantages`) or a value head. :func:`restorelib.labelfree.policy.train_label_free` runs them; it
re-exports the two formulas.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..rlrestore.env import RestoreEnv

if TYPE_CHECKING:
    from .policy import LabelFreeConfig


def group_advantages(returns: torch.Tensor, group: int, eps: float = 1e-6) -> torch.Tensor:
    """GRPO's baseline: returns (B * group,), the chains of a patch consecutive -> (R - mean) / (std + eps) within
    each group. Chapter 8 (exercise)."""
    r = returns.view(-1, group)
    return ((r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, keepdim=True, unbiased=False) + eps)).flatten()


def clipped_surrogate(logp_new: torch.Tensor, logp_old: torch.Tensor, adv: torch.Tensor,
                      clip: float) -> torch.Tensor:
    """PPO's loss -E[min(rho A, clip(rho, 1 - clip, 1 + clip) A)], with the probability
    ratio rho = exp(logp_new - logp_old); all three inputs (n,). Chapter 8."""
    rho = torch.exp(logp_new - logp_old)
    return -torch.min(rho * adv, rho.clamp(1 - clip, 1 + clip) * adv).mean()


def sample_chains(net: nn.Module, env: RestoreEnv, start: torch.Tensor, t_max: int,
                  generator: torch.Generator | None) -> list[dict]:
    """Roll the policy ``net`` out from ``start`` (N, 3, 63, 63) through ``env`` (a no-reference reward), sampling
    each action with ``generator``, for up to ``t_max`` steps. Returns one dict per step: the ``image``, ``prev``
    action, step ``t``, actions ``a``, the ``live`` mask, the sampling ``logp`` and the rewards ``r``."""
    obs = env.reset(start)
    n, dev = start.shape[0], start.device
    steps = []
    for t in range(t_max):
        live = ~env.done
        with torch.no_grad():
            logits, _ = net(obs.image, obs.prev_action, torch.full((n,), t, device=dev))
            probs = torch.softmax(logits, dim=1)
            a = torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0].to(dev)
        steps.append({"image": obs.image, "prev": obs.prev_action, "t": t, "a": a, "live": live,
                      "logp": torch.log(probs.gather(1, a[:, None])[:, 0] + 1e-12)})
        obs, r, done, _ = env.step(a)
        steps[-1]["r"] = r
        if done.all():
            break
    return steps


def ppo_update(net: nn.Module, opt: torch.optim.Optimizer, steps: list[dict],
               cfg: LabelFreeConfig) -> torch.Tensor:
    """PPO's ``cfg.epochs`` passes over the chains of :func:`sample_chains`: clipped
    surrogate, entropy bonus, and with ``cfg.baseline == "value"`` the critic's loss;
    gradients clipped to norm 1. Returns the returns-to-go (T, N). Chapter 8."""
    dev = steps[0]["a"].device
    rewards = torch.stack([s["r"] for s in steps])     # (T, N), 0 once a chain is over
    to_go = rewards.flip(0).cumsum(0).flip(0)          # (T, N): the rewards from t on
    if cfg.baseline == "group":                        # one advantage per chain
        adv_all = group_advantages(to_go[0], cfg.group)[None].expand_as(to_go)
    for _ in range(cfg.epochs):
        loss = torch.zeros((), device=dev)
        for k, s in enumerate(steps):
            m = s["live"]                              # (N,): the chains still going
            if not m.any():
                continue
            t = torch.full((int(m.sum()),), s["t"], device=dev)
            logits, v = net(s["image"][m], s["prev"][m], t)   # (n, n_actions), (n,)
            logp = torch.log_softmax(logits, dim=1)
            new = logp.gather(1, s["a"][m][:, None])[:, 0]
            if cfg.baseline == "group":
                adv = adv_all[k][m]
            else:
                adv = (to_go[k][m] - v).detach()
            entropy = -(logp.exp() * logp).sum(dim=1).mean()
            surrogate = clipped_surrogate(new, s["logp"][m], adv, cfg.clip)
            loss = loss + surrogate - cfg.entropy_coef * entropy
            if cfg.baseline == "value":
                loss = loss + cfg.value_coef * F.mse_loss(v, to_go[k][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    return to_go
