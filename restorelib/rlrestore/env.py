"""A batched restoration environment (chapters 3-4), with a reset/step interface in the style of Gymnasium.

State: the current images (N, 3, H, W) and the previous action of each image. Actions: one id per tool of the
toolbox (or of a chosen subset) plus, optionally, ``stop`` (the last id). ``step`` applies one tool per image,
grouping the images by the tool they chose, so each tool runs once per step on its sub-batch. An episode ends on
``stop`` or after ``t_max`` tools.

Rewards (RL-Restore uses the first):

* ``"psnr"``       stepwise PSNR gain, r_t = PSNR(I_{t+1}) - PSNR(I_t); the sum telescopes to the total gain;
* ``"final-psnr"`` zero until the episode ends, then the total PSNR gain;
* ``"final-mse"``  zero until the episode ends, then -MSE(I_T, I_gt) x 255^2 (the MSE on the 0-255 scale);
* ``"ssim"``       stepwise SSIM gain;
* ``"nr"``         no reference (chapter 8): the stepwise gain of a no-reference ``scorer``,
  r_t = score(I_{t+1}) - score(I_t); ``clean`` may then be None.

``end_if_worse`` ends an image's episode as soon as its score falls below the score of its input, as the authors'
training environment does (a training device: at test time nobody knows the PSNR).

``tool_cost`` (default 0) is subtracted from the reward of every image each time a tool is applied to it, so that
an agent pays for tool calls (as Restore-R1's efficiency goal asks); with 0 the rewards above are unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..core.validation import check_images
from ..core.metrics import mse, psnr, ssim
from ..toolbox.tools import Toolbox

REWARDS = ("psnr", "final-psnr", "final-mse", "ssim")
NR_REWARDS = ("nr",)
"""Rewards that need no ground truth (chapter 8); ``REWARDS`` are the full-reference ones."""


@dataclass
class Observation:
    """What an agent sees: ``image`` (N, 3, H, W) in [0, 1], ``prev_action`` (N,) long, -1 before the first step."""

    image: torch.Tensor
    prev_action: torch.Tensor


class RestoreEnv:
    """Batched toolchain environment. ``tools`` restricts the action set (e.g. 6 of the 12 tools for an ablation)."""

    def __init__(self, toolbox: Toolbox, t_max: int = 3, reward: str = "psnr", tools: list[str] | None = None,
                 stop_action: bool = True, scorer: str | Callable[[torch.Tensor], torch.Tensor] | None = None,
                 tool_cost: float = 0.0, end_if_worse: bool = False) -> None:
        if not isinstance(t_max, int) or t_max < 1:
            raise ValueError(f"t_max must be a positive int, got {t_max!r}")
        if reward not in REWARDS + NR_REWARDS:
            raise ValueError(f"reward must be one of {REWARDS + NR_REWARDS}, got {reward!r}")
        if (reward == "nr") != (scorer is not None):
            raise ValueError(f"scorer must be given exactly when reward is 'nr' (a name of "
                             f"restorelib.core.quality.scorer_names() or a callable), got reward {reward!r} and "
                             f"scorer {scorer!r}")
        if isinstance(tool_cost, bool) or not isinstance(tool_cost, (int, float)) or not math.isfinite(tool_cost):
            raise ValueError(f"tool_cost must be a finite number, got {tool_cost!r}")
        if scorer is not None:
            from ..core.quality import get_scorer                           # only the "nr" reward needs it
            scorer = get_scorer(scorer)
        self.scorer, self.tool_cost, self.end_if_worse = scorer, float(tool_cost), bool(end_if_worse)
        self.toolbox, self.t_max, self.reward_kind = toolbox, t_max, reward
        self.tool_ids = list(range(len(toolbox))) if tools is None else [toolbox.index(t) for t in tools]
        self.stop_action = stop_action
        self.n_actions = len(self.tool_ids) + int(stop_action)
        self.stop = len(self.tool_ids) if stop_action else None
        self._clean: torch.Tensor | None = None
        self._started = False

    def action_name(self, a: int) -> str:
        return "stop" if a == self.stop else self.toolbox.names[self.tool_ids[a]]

    def _score(self, y: torch.Tensor) -> torch.Tensor:
        if self.reward_kind == "nr":
            from ..core.quality import check_scores
            return check_scores(self.scorer(y), y.shape[0]).to(y.device)
        return ssim(y, self._clean) if self.reward_kind == "ssim" else psnr(y, self._clean)

    def reset(self, degraded: torch.Tensor, clean: torch.Tensor | None = None) -> Observation:
        """Start N episodes from ``degraded`` with ground truth ``clean``, both (N, 3, H, W) in [0, 1].

        ``clean`` is needed by the full-reference rewards; with reward ``"nr"`` it may be None.
        """
        check_images(degraded, "degraded", channels=3)
        if clean is None and self.reward_kind != "nr":
            raise ValueError(f"clean must be given for reward {self.reward_kind!r}; only 'nr' needs no ground truth")
        if clean is not None:
            check_images(clean, "clean", channels=3)
            if degraded.shape != clean.shape:
                raise ValueError(f"degraded and clean must have the same shape, got {tuple(degraded.shape)} "
                                 f"and {tuple(clean.shape)}")
        n = degraded.shape[0]
        self._clean, self.image, self._started = clean, degraded.clone(), True
        self.t = 0
        self.done = torch.zeros(n, dtype=torch.bool, device=degraded.device)
        self.prev_action = torch.full((n,), -1, dtype=torch.long, device=degraded.device)
        self.start_score = self._score(degraded)
        self.score = self.start_score.clone()
        self.tool_calls = torch.zeros(n, dtype=torch.long, device=degraded.device)
        return Observation(self.image.clone(), self.prev_action.clone())

    @torch.no_grad()
    def step(self, actions: torch.Tensor
             ) -> tuple[Observation, torch.Tensor, torch.Tensor, dict]:
        """Apply ``actions`` (N,) long; images already done ignore theirs.

        Returns (obs, reward, done, info): ``reward`` and ``done`` are (N,);
        ``info['active']`` marks the images that acted in this step. Chapter 4 shows it.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(actions, device=self.image.device).long().flatten()
        n = self.image.shape[0]
        if actions.shape[0] != n:
            raise ValueError(f"actions must have one entry per image ({n}), "
                             f"got {actions.shape[0]}")
        if ((actions < 0) | (actions >= self.n_actions)).any():
            raise ValueError(f"actions must lie in 0..{self.n_actions - 1}, "
                             f"got {actions.tolist()}")
        active = ~self.done
        stopping = (active & (actions == self.stop) if self.stop is not None
                    else torch.zeros_like(active))
        acting = active & ~stopping
        ids = torch.tensor(self.tool_ids + [-1], device=actions.device)     # the stop action (if any) maps to -1
        self.image = self.toolbox.apply_each(self.image, torch.where(acting, ids[actions], -1))
        self.tool_calls += acting.long()
        self.t += 1
        if self.reward_kind == "nr":            # score only the images a tool changed
            new_score = self.score.clone()
            if acting.any():
                new_score[acting] = self._score(self.image[acting])
        else:
            new_score = self._score(self.image)
        self.done = self.done | stopping | (active & (self.t >= self.t_max))
        if self.end_if_worse:
            self.done = self.done | (acting & (new_score < self.start_score))
        ending = active & self.done
        reward = torch.zeros(n, device=self.image.device)
        if self.reward_kind in ("psnr", "ssim", "nr"):
            reward = torch.where(acting, new_score - self.score, reward)
        elif self.reward_kind == "final-psnr":
            reward = torch.where(ending, new_score - self.start_score, reward)
        else:
            reward = torch.where(ending, -mse(self.image, self._clean) * 255**2, reward)
        if self.tool_cost:
            reward = reward - self.tool_cost * acting.to(reward.dtype)
        self.score = torch.where(active, new_score, self.score)
        self.prev_action = torch.where(active, actions, self.prev_action)
        obs = Observation(self.image.clone(), self.prev_action.clone())
        return obs, reward, self.done.clone(), {"active": active}
