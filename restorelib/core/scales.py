"""Every chapter's training size at every scale, in one table (see "How to use this book" and chapter 0's scales).

A run's settings at a scale are the fields of its config dataclass that differ from the defaults (the defaults are
the paper's hyper-parameters, in the chapter's module). Chapters build their configs from this table with
:func:`build_scales`; a reader asks :meth:`restorelib.core.config.Profile.settings` (the active scale's) or
:func:`scale_settings`. The sizes of ``gpu`` are estimates for a Colab T4 (``scripts/size_gpu_scale.py``) until
measured; ``book`` sizes are measured on one thread of a 2-core CPU.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")

#: What every scale of the colour enhancement changes from the restoration defaults (see its row below).
_COLOR: dict[str, Any] = dict(t_max=10, channels=3, reward_scale=1.0, pretrain_steps=0, amp=True)

#: ``{run: {scale: {field: value}}}``: what each run changes from its config's defaults (the paper's settings).
SCALE_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    # Chapter 2 (restorelib.toolbox.train_toolbox): steps for the 3-layer and the 8-layer tools, batch, learning rate,
    # training crop, bf16 autocast, the probability of each slight robustness distortion, and the least mid-level gain
    # (dB) a tool must show. lr 1e-3 killed every ReLU of conv2 in the 3-layer tools (chapter 2), hence 3e-4.
    # ``gpu``: the 12 tools in about ten minutes on a Colab T4 (no gain floor, so short).
    "tools": {
        "ci": dict(small_steps=5, large_steps=3, batch=8, lr=3e-4, crop=40, amp=True, robust_p=0.5, min_gain=None),
        "book": dict(small_steps=30000, large_steps=30000, batch=32, lr=3e-4, crop=40, amp=True, robust_p=0.5,
                     min_gain=0.05),
        "paper": dict(small_steps=40000, large_steps=40000, batch=64, lr=3e-4, crop=63, amp=True, robust_p=0.5,
                      min_gain=0.05),
        "gpu": dict(small_steps=1700, large_steps=1700, batch=32, lr=3e-4, crop=40, amp=True, robust_p=0.5,
                    min_gain=None),
    },
    # Chapter 4 (DQNConfig). ``paper`` is the authors' (2M steps, a GPU). ``book`` fits a 2-core CPU in about an
    # hour: 1/20 of the steps, so fewer but larger updates (train every 16 patch-steps, lr 5e-4). ``ablation`` is
    # the shorter budget shared by every ablation run of chapter 4, so that they compare with one another. ``gpu``
    # and ``ablation-gpu``: the book's recipe sized so that chapter 4 (the agent and its six ablations) trains in
    # about ten minutes on a Colab T4.
    "rl-restore": {
        "paper": {},
        "book": dict(steps=100_000, memory=20_000, learn_start=2_000, train_every=16, target_every=2_500,
                     lr=5e-4, lr_min=1e-4, eps_decay=50_000),
        "ablation": dict(steps=24_000, memory=20_000, learn_start=2_000, train_every=16, target_every=2_500,
                         lr=5e-4, lr_min=1e-4, eps_decay=12_000),
        "gpu": dict(steps=200_000, memory=10_000, learn_start=2_000, train_every=16, target_every=2_500,
                    lr=5e-4, lr_min=1e-4, eps_decay=100_000),
        "ablation-gpu": dict(steps=20_000, memory=10_000, learn_start=2_000, train_every=16, target_every=2_500,
                             lr=5e-4, lr_min=1e-4, eps_decay=10_000),
        "ci": dict(steps=240, env_batch=8, batch_episodes=8, memory=200, learn_start=32, train_every=8,
                   target_every=100, lr=1e-3, eps_decay=120),
    },
    # Chapter 5 (JointConfig): ``book`` 1,200 steps of 32, about 30-60 min on one CPU thread (400 steps took 19 min
    # in float32 on 2026-11-23; the first joint tools, at 400, gained within noise on PSNR); the paper: 200,000 of 64.
    "joint": {
        "paper": dict(steps=20_000, batch=64),
        "book": dict(steps=1_200, batch=32),
        "gpu": dict(steps=600, batch=64, log_every=20),
        "ci": dict(steps=3, batch=4, log_every=1),
    },
    # Chapter 5 (BaselineConfig): ``book`` one CPU thread in bf16 (measured 2026-12-02 on an AMX Xeon beside another
    # run: DnCNN 0.45 s a step, 4x faster than float32; VDSR-s 0.2 s): about 30 (VDSR-s) to 70 (VDSR) minutes, 128k
    # patches, far below the paper's budget; ``gpu`` the three baselines and the joint training in chapter 5's budget
    # on a Colab T4 (sized in float32; mixed precision only shortens it).
    "baselines": {
        "paper": dict(amp=True),
        "book": dict(steps=8_000, batch=16, crop=41, amp=True),
        "gpu": dict(steps=1_100, batch=32, crop=41, amp=True),
        "ci": dict(steps=3, batch=4, log_every=1),
    },
    # Chapter 6 (HirlConfig). ``paper``: ResNet18 (a GPU). ``book``: the slim ResNet on a 2-core CPU, 9,000 steps
    # (144k patch-steps) at about 0.27 s each (one thread of a busy 2-core CPU, half of it the tools): about 40 min;
    # a larger memory and batch for T, a higher learning rate. ``ci``: seconds.
    "hirl": {
        "paper": {},
        "book": dict(steps=9_000, eps_every=1_800, memory=2_000, t_batch=32, t_start=320, target_every=30,
                     lr=5e-4, arch="slim"),
        "gpu": dict(steps=20_000, eps_every=4_000, memory=2_000, t_batch=32, t_start=320, target_every=30,
                    lr=5e-4, arch="slim"),
        "ci": dict(steps=24, env_batch=4, eps_every=6, memory=48, t_batch=8, t_start=8, target_every=6, lr=1e-3,
                   arch="slim"),
    },
    # Chapter 7 (PixelRLConfig). ``paper`` is the authors' (a V100 took 15.5 h). ``book``: a 2-core CPU, 30-60 min
    # (an episode of 8 crops of 48x48 -- above the receptive field, 33 -- took 8 s on one busy core in float32; in
    # bf16 autocast, amp, 2.5 s against 5.5 s in float32 in one run on an AMX Xeon, 2026-12-02, with the same
    # learning curve: scripts/amp_check_pixelrl.py). ``ci``: seconds with a narrow network, float32.
    "pixelrl": {
        "paper": dict(pretrain_steps=10_000, amp=True),
        "book": dict(episodes=500, batch=8, crop=48, pretrain_steps=300, log_every=10, amp=True),
        "gpu": dict(episodes=750, batch=32, crop=48, pretrain_steps=750, log_every=20, amp=True),
        "ci": dict(episodes=3, batch=2, crop=24, t_max=2, width=16, pretrain_steps=2, log_every=1),
    },
    # Chapter 7's colour enhancement (PixelRLConfig): the paper's restoration settings with t_max = 10 (its Sec.
    # "Local Color Enhancement"), RGB, rewards in CIELab units (reward_scale 1), no supervised start (there is no
    # denoiser to start from), bf16 autocast. ``book``: an episode (8 crops of 48x48, 10 steps) took 12 s of one CPU
    # thread in float32 and 5-7 s in bf16 (AMX Xeon, beside two other runs), so 500 episodes are about 45 min;
    # ``gpu`` halves the denoising gpu budget for the doubled t_max (an estimate).
    "pixelrl-color": {
        "paper": dict(**_COLOR),
        "book": dict(_COLOR, episodes=500, batch=8, crop=48, log_every=10),
        "gpu": dict(_COLOR, episodes=400, batch=32, crop=48, log_every=10),
        "ci": dict(_COLOR, episodes=3, batch=2, crop=24, width=16, log_every=1, t_max=2),
    },
    # Chapter 8 (LabelFreeConfig). ``book``: 600 iterations of 8 patches x 4 chains, 1-2 s each on one thread of a
    # 2-core CPU with the quality net as scorer (about 15-20 min); ``ci``: seconds, with the cheap ``neg-sigma``.
    "label-free": {
        "paper": {},
        "book": dict(iters=600, batch=8, group=4, epochs=3, log_every=20),
        "gpu": dict(iters=1_500, batch=16, group=4, epochs=4, log_every=50),
        "ci": dict(iters=6, batch=2, group=2, epochs=2, log_every=2, scorer="neg-sigma"),
    },
    # Chapter 8's no-reference scorer (QualityConfig): ``book`` about 25 min on one thread of a 2-core CPU (bf16
    # autocast: 1.4x a step on an AMX CPU, where the tool chains of the batches stay in float32); ``paper``: a GPU.
    "quality-net": {
        "ci": dict(steps=30, batch=16),
        "book": dict(steps=6_000, batch=32, chain_fraction=0.3, amp=True),
        "gpu": dict(steps=5_000, batch=64, chain_fraction=0.3, amp=True),
        "paper": dict(steps=100_000, batch=128),
    },
}

#: The schedule (a scale of ``SCALE_SETTINGS["rl-restore"]``) of chapter 4's ablation agents at each scale of the
#: book; ``ablation`` where a scale is not named.
ABLATION_SCHEDULE: dict[str, str] = {"ci": "ci", "gpu": "ablation-gpu"}


def scale_settings(run: str, scale: str) -> dict[str, Any]:
    """A copy of what run ``run`` (a key of :data:`SCALE_SETTINGS`) changes from its defaults at ``scale``.

    ``ValueError`` naming the argument for a run or a scale the table does not have.
    """
    if run not in SCALE_SETTINGS:
        raise ValueError(f"run must be one of {sorted(SCALE_SETTINGS)}, got {run!r}")
    if scale not in SCALE_SETTINGS[run]:
        raise ValueError(f"scale must be one of {sorted(SCALE_SETTINGS[run])} for {run!r}, got {scale!r}")
    return dict(SCALE_SETTINGS[run][scale])


def build_scales(run: str, make: Callable[..., T]) -> dict[str, T]:
    """``{scale: make(**settings)}`` for every scale of ``run``, e.g. ``build_scales("hirl", HirlConfig)``:
    how a chapter's module builds its ``SCALES`` from the table."""
    return {scale: make(**scale_settings(run, scale)) for scale in SCALE_SETTINGS[run]}


__all__ = ["ABLATION_SCHEDULE", "SCALE_SETTINGS", "build_scales", "scale_settings"]
