"""Checks for the exercises: does a student's function agree with ``restorelib``'s reference implementation?

Each ``check_*`` function (e.g. ``checks.check_psnr(my_psnr)``) calls the student's function on a few seeded cases and
edge cases and compares it with the library's own implementation. It returns a short success message, or raises
``AssertionError`` saying which input went in, what was expected, what came back, and a hint, which names the mistake
when the answer matches a typical one (the natural log instead of log10, a missing ``(1 - done)``, ...).

A new check is a list of :class:`~restorelib.teaching.exercise.Case`, a reference function and a list of
:class:`~restorelib.teaching.exercise.Mistake` handed to :func:`~restorelib.teaching.exercise.run_check`
(:mod:`restorelib.teaching.exercise`); :func:`~restorelib.teaching.checks_images.check_brute_force_trials` is the
shortest example. The checks live in :mod:`restorelib.teaching.checks_images` (chapters 1-3) and
:mod:`restorelib.teaching.checks_agents` (chapters 4-8); this module gathers them for the notebooks.
"""
from __future__ import annotations

from ..core import metrics  # noqa: F401  (chapter 1's notebook compares with checks.metrics.psnr)
from .checks_agents import (  # noqa: F401  (gathered here for readers' code)
    check_double_td_target, check_group_advantages, check_hierarchical_tool, check_reward_map_conv,
    check_rl_restore_macs, check_td_target, rl_restore_macs)
from .checks_images import (
    beam_search, check_beam_search, check_brute_force_trials, check_gaussian_blur, check_psnr, check_stepwise_reward,
    env_stepwise_reward)
from .exercise import Case, Mistake, close, run_check
