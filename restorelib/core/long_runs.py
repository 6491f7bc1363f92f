"""Long training runs at the ``gpu`` and ``paper`` scales: a progress bar with an ETA, an estimate of the whole run,
and resumable checkpoints in a folder the reader chooses.

The chapters' training entry points (``get_agent``, ``get_hirl``, ``get_joint_toolbox``, ``get_baseline``,
``get_pixelrl``, ``get_label_free``) call the trainers with :func:`run_checkpoint`'s file where
``profile.long_runs``: the whole state of the run is saved there every few minutes (:data:`CHECKPOINT_EVERY`) and
once more when it is done, so a chapter run again after a disconnect continues where the run stopped, and a finished
run is reused instead of trained again (delete its file to train anew). The folder is ``RESTORELIB_CHECKPOINTS``
(on Colab a folder of the mounted Google Drive), else ``checkpoints`` in :func:`restorelib.core.config.cache_dir`.

The trainers' ``progress`` argument shows a :class:`Progress` bar: tqdm's ETA, and once the first
:data:`ESTIMATE_AFTER` seconds have run one line such as ``paper scale: 2,000,000 DQN steps at 31/s ≈ 18 h``.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
import sys
from typing import Any, Callable, Iterable

from .config import Profile, cache_dir, widgets_available

#: Seconds between saved states of a chapter's run: a disconnect loses at most this much training. At paper scale
#: the states are larger (DQN's replay memory holds up to 100,000 episodes, about 5 GB) and written less often.
CHECKPOINT_EVERY: dict[str, float] = {"gpu": 300.0, "paper": 900.0}
#: Seconds of a run after which :class:`Progress` prints its estimate of the whole run.
ESTIMATE_AFTER: float = 30.0


def checkpoint_dir() -> Path:
    """Where the chapters keep their runs' states: ``RESTORELIB_CHECKPOINTS``, else ``cache_dir()/checkpoints``."""
    env = os.environ.get("RESTORELIB_CHECKPOINTS")
    return Path(env).expanduser() if env else cache_dir() / "checkpoints"


def run_checkpoint(profile: Profile, name: str, config: dict) -> Path | None:
    """The state file of chapter run ``name`` (e.g. ``dqn-rl-restore``) at ``profile``'s scale, or None where the
    profile has no long runs (``ci``, ``book``). ``config`` (JSON-able: the run's settings and what it trains on)
    names the file, so a changed setting starts a new run instead of resuming another one:
    ``checkpoint_dir()/SCALE/NAME-HASH.pt``."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a non-empty file name without '/', got {name!r}")
    if not profile.long_runs:
        return None
    key = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return checkpoint_dir() / profile.name / f"{name}-{key}.pt"


def fingerprint(*things: object) -> str:
    """A short hash of what a run trains with, for :func:`run_checkpoint`'s ``config``: a network or toolbox (its
    weights), a patch bank (its shape and a strided sample of its patches), a crop sampler (its images' shapes and
    size), or anything else by ``repr``. The same inputs give the same hash in every session."""
    import torch
    h = hashlib.sha256()
    for x in things:
        if isinstance(x, torch.nn.Module):
            for k, v in x.state_dict().items():
                h.update(k.encode())
                h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(x, torch.Tensor):
            h.update(repr(tuple(x.shape)).encode())
            sample = x[::max(1, len(x) // 64)] if x.dim() else x
            h.update(sample.detach().cpu().float().contiguous().numpy().tobytes())
        elif hasattr(x, "images") and hasattr(x, "size"):            # a CropSampler
            h.update(repr((x.size, [tuple(im.shape) for im in x.images], len(x))).encode())
        else:
            h.update(repr(x).encode())
    return h.hexdigest()[:16]


def checkpoint_every(profile: Profile) -> float:
    """Seconds between saved states at ``profile``'s scale (:data:`CHECKPOINT_EVERY`; 300 where it has none)."""
    return CHECKPOINT_EVERY.get(profile.name, 300.0)


def run_kwargs(profile: Profile, name: str, config: dict, *inputs: object) -> dict:
    """The keywords a chapter's entry point adds to its trainer call: ``checkpoint`` (:func:`run_checkpoint` of
    ``name``, keyed by ``config`` and the :func:`fingerprint` of ``inputs``: toolbox, agent, bank) and
    ``checkpoint_every``; ``checkpoint=None`` where ``profile`` has no long runs."""
    if not profile.long_runs:
        return {"checkpoint": None, "checkpoint_every": checkpoint_every(profile)}
    key = {"config": config, "inputs": fingerprint(*inputs)}
    return {"checkpoint": run_checkpoint(profile, name, key), "checkpoint_every": checkpoint_every(profile)}


def progress_label(profile: Profile, progress: bool | str = False) -> bool | str:
    """The ``progress`` argument a chapter's entry point passes to its trainer: the scale's name (a bar and the
    estimate line, e.g. ``"paper scale"``) where ``profile.long_runs``, else ``progress`` as given."""
    return f"{profile.name} scale" if profile.long_runs else progress


def duration(seconds: float) -> str:
    """``seconds`` in words for an estimate: ``45 s``, ``12 min``, ``18 h``, ``3.5 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h" if seconds < 36000 else f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.1f} days"


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """A tqdm bar (``kwargs`` are tqdm's) where someone can watch it: ipywidgets' in a live notebook (Jupyter, Colab),
    text on stderr in a terminal or a test, and none in a kernel without a front-end (a book build), whose page
    could only show a dead widget or a stderr box. Every progress bar of the library is made here.
    """
    if widgets_available():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
        # ipykernel's OutStream: a kernel nobody watches (widgets_available said so), e.g. a book build's
        if type(sys.stderr).__module__.startswith("ipykernel"):
            kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


class Progress:
    """A tqdm bar over ``total`` units (an ETA), which also writes one line with the estimated time of the whole run
    once :data:`ESTIMATE_AFTER` seconds of this session have run, from the speed measured so far. Chapters 4-8.

    ``progress`` is a trainer's argument: False (nothing at all), True (the bar, and ``desc`` in the line) or a
    label for the line (e.g. ``"paper scale"``). ``initial`` counts the units done before (a resumed run); the
    estimate uses this session's units only. :meth:`update_to` takes the absolute count.
    """

    def __init__(self, progress: bool | str, total: int, initial: int = 0, desc: str = "steps",
                 write: Callable[[str], None] | None = None) -> None:
        self.enabled = bool(progress)
        self.label = progress if isinstance(progress, str) else None
        self.total, self.start, self.desc = int(total), min(int(initial), int(total)), desc
        self.n, self.t0, self.announced, self.bar, self.write = self.start, time.perf_counter(), False, None, write
        if self.enabled:
            self.bar = progress_bar(total=self.total, initial=self.start, desc=desc, leave=False)
            self.write = write or self.bar.write

    def update_to(self, n: int) -> None:
        """Move the bar to ``n`` units done (capped at ``total``); write the estimate when it is due."""
        n = min(int(n), self.total)
        if self.bar is None:
            return
        self.bar.update(n - self.n)
        self.n = n
        spent = time.perf_counter() - self.t0
        if not self.announced and spent >= ESTIMATE_AFTER and self.n > self.start:
            self.announced = True
            self.write(self.estimate(spent))

    def estimate(self, spent: float) -> str:
        """The line: ``LABEL: TOTAL DESC at RATE/s ≈ WHOLE (LEFT left)``, from this session's units in ``spent`` s."""
        rate = (self.n - self.start) / max(spent, 1e-9)
        whole, left = self.total / rate, (self.total - self.n) / rate
        head = f"{self.label}: " if self.label else ""
        rest = f", {duration(left)} left" if self.start else ""
        speed = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        return (f"{head}{self.total:,} {self.desc} at {speed}/s ≈ {duration(whole)} in all{rest} "
                f"(speed of the first {duration(spent)})")

    def close(self) -> None:
        """Close the bar (nothing when disabled)."""
        if self.bar is not None:
            self.bar.close()


__all__ = ["CHECKPOINT_EVERY", "ESTIMATE_AFTER", "Progress", "checkpoint_dir", "checkpoint_every", "duration",
           "fingerprint", "progress_bar", "progress_label", "run_checkpoint", "run_kwargs"]
