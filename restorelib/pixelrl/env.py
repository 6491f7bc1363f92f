"""What PixelRL's trainer needs of a task (chapter 7): the action set, the network's input, the per-pixel reward.

:func:`restorelib.pixelrl.a2c.train_pixelrl` runs the same fully convolutional A2C for every application of the paper;
a :class:`PixelEnv` says what differs between them. Denoising and inpainting (:func:`denoise_env`, the default) start
from a degraded crop, act with the nine filters of :mod:`restorelib.pixelrl.actions` and reward the drop of the
squared error to the clean crop; local colour enhancement (:func:`restorelib.pixelrl.color.color_env`) starts from a
photo, acts with thirteen colour edits, shows the network CIELab and rewards the drop of the CIELab distance to the
retouched target.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..core.metrics import psnr
from .actions import ACTION_SETS, N_ACTIONS, Task, apply_actions, make_task, pixel_reward

Tensor = torch.Tensor


def _identity(x: Tensor) -> Tensor:
    return x


def _psnr_gain(first: Tensor, last: Tensor, target: Tensor) -> Tensor:
    return psnr(last, target) - psnr(first, target)


@dataclass(frozen=True)
class PixelEnv:
    """A PixelRL task for :func:`~restorelib.pixelrl.a2c.train_pixelrl`. Chapter 7.

    * ``start(crops, generator) -> (state, target)``: the first state (N, C, H, W) in [0, 1] and what the reward
      compares with, from training crops (N, bank channels, H, W) drawn by the trainer;
    * ``step(state, actions) -> next state``: actions (N, H, W) long in 0..``n_actions - 1`` (or (N, 1, 1), one
      action per image, from a network with global actions);
    * ``reward(target, before, after) -> (N, 1, H, W)``: per pixel, before ``cfg.reward_scale``;
    * ``observe(state)``: the network's input (N, C, H, W) (default: the state itself);
    * ``gain(first, last, target) -> (N,)``: what the training log reports per episode (default: PSNR gain, dB);
    * ``net_class``: the network to build (default :class:`~restorelib.pixelrl.nets.PixelRLNet`), called as
      ``net_class(channels, n_actions, width=, gru=, rmc=)``;
    * ``action_ids``: when ``step`` takes indices into a subset of the nine denoising actions, their ids (given to
      the network so that inference maps its outputs the same way).
    """

    name: str
    start: Callable[[Tensor, torch.Generator], tuple[Tensor, Tensor]]
    step: Callable[[Tensor, Tensor], Tensor]
    reward: Callable[[Tensor, Tensor, Tensor], Tensor]
    n_actions: int = N_ACTIONS
    observe: Callable[[Tensor], Tensor] = _identity
    gain: Callable[[Tensor, Tensor, Tensor], Tensor] = _psnr_gain
    gain_name: str = "PSNR gain (dB)"
    net_class: type | None = None
    action_ids: tuple[int, ...] | None = None


def denoise_env(task: str | Task, action_set: str = "all") -> PixelEnv:
    """The denoising / inpainting environment of the paper: crops degraded by ``task`` (see
    :func:`~restorelib.pixelrl.actions.make_task`), the nine actions or the subset ``action_set`` of
    :data:`~restorelib.pixelrl.actions.ACTION_SETS` (Table 8), the squared-error reward (0-255 scale)."""
    if action_set not in ACTION_SETS:
        raise ValueError(f"action_set must be one of {sorted(ACTION_SETS)}, got {action_set!r}")
    degrade_fn = make_task(task)

    def start(clean: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        return degrade_fn(clean, g), clean

    name = task if isinstance(task, str) else getattr(task, "__name__", "callable")
    if action_set == "all":
        return PixelEnv(name, start, apply_actions, pixel_reward)
    ids = ACTION_SETS[action_set]
    lookup = torch.tensor(ids)

    def step(state: Tensor, actions: Tensor) -> Tensor:     # output k of the network is action ids[k]
        return apply_actions(state, lookup.to(actions.device)[actions])

    return PixelEnv(name, start, step, pixel_reward, n_actions=len(ids), action_ids=ids)


def as_env(task: str | Task | PixelEnv, action_set: str = "all") -> PixelEnv:
    """``task`` if it is a :class:`PixelEnv`, else :func:`denoise_env` of it with ``action_set``."""
    if isinstance(task, PixelEnv):
        if action_set != "all":
            raise ValueError(f"action_set applies to the denoising tasks; a PixelEnv has its own actions, "
                             f"got action_set={action_set!r}")
        return task
    return denoise_env(task, action_set)
