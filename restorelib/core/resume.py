"""Resumable training: a run's whole state saved atomically every few minutes, and read back on restart.

A training run on a laptop or a Colab session can be stopped at any moment. Every long loop of the book keeps a
:class:`Checkpointer`: it writes the state (weights, optimiser, schedule, step, random generator, curves) to a
temporary file beside the target and renames it into place, so a stop never leaves a half-written checkpoint, and
the next run with the same ``--out`` continues from the last one. Files are read back with ``weights_only=True``.

The loops of chapters 5-8 keep a :class:`RunCheckpoint`, which gathers everything a loop needs to continue to the same
result (its networks, optimisers, schedulers, memories, random generators, curves and counters) and refuses a state
saved with another configuration; their scripts share :func:`~restorelib.core.flags.add_resume_flags` (``--resume``,
``--checkpoint-every``), :func:`partial_state` (``OUT/.partial``, a stopped run is never overwritten unasked) and
:func:`finish_partial`.
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .atomic import atomic_open, check_writable
from .checkpoints import RECORD
from .flags import add_resume_flags  # noqa: F401 -- defined with the other shared flags, importable from here too

if TYPE_CHECKING:
    import argparse


def atomic_save(obj: object, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (:func:`restorelib.core.atomic.atomic_open`), replacing a previous one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, overwrite=True) as f:
        torch.save(obj, f)
    return path


class Checkpointer:
    """Saves a training state to ``path`` at most every ``every`` seconds (and when forced); loads it back.

    ``path=None`` makes every call a no-op, so a loop can always use one.
    """

    def __init__(self, path: str | Path | None, every: float = 180.0) -> None:
        if not isinstance(every, (int, float)) or isinstance(every, bool) or not every > 0:
            raise ValueError(f"every must be a positive number of seconds, got {every!r}")
        self.path = Path(path) if path is not None else None
        self.every = float(every)
        self.last = time.monotonic()

    def load(self) -> dict | None:
        """The saved state, or None when there is none yet; a file that is not one is a ``ValueError`` naming it."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:                            # UnpicklingError, EOFError, RuntimeError, ... by torch
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"training state {self.path} cannot be loaded ({type(e).__name__}: {first}); "
                             "delete it to start afresh") from None
        if not isinstance(state, dict):
            raise ValueError(f"training state {self.path} holds a {type(state).__name__}, not a saved state")
        return state

    def due(self) -> bool:
        """True when ``every`` seconds have passed since the last save (or the start)."""
        return self.path is not None and time.monotonic() - self.last >= self.every

    def save(self, state: dict) -> None:
        """Write ``state`` now."""
        if self.path is not None:
            atomic_save(state, self.path)
            self.last = time.monotonic()

    def clear(self) -> None:
        """Remove the checkpoint once the run it belongs to is finished and saved for good."""
        if self.path is not None and self.path.is_file():
            self.path.unlink()


def autocast(device: torch.device | str, enabled: bool) -> AbstractContextManager:
    """Mixed precision for a training step: bfloat16 on a CPU that computes it natively (and on GPUs that support
    it), float16 on older GPUs; plain float32 on a CPU without native bfloat16 (see :func:`amp_active`).

    Measured on a 2-core AVX-512-BF16 CPU, bf16 autocast roughly halves a tool's training step; on a CPU without it
    (an AMD EPYC without AVX-512, 2026-12-02) the same step is about ten times *slower* than float32 (chapter 2).
    """
    device = torch.device(device)
    if not (enabled and amp_active(device)):
        return nullcontext()
    return torch.autocast(device.type, dtype=amp_dtype(device))


def amp_active(device: torch.device | str) -> bool:
    """Whether ``amp=True`` really trains in reduced precision on ``device``: always on a GPU; on a CPU only when
    oneDNN has native bfloat16 kernels (AVX-512-BF16 or AMX), since emulated bf16 is far slower than float32."""
    device = torch.device(device)
    if device.type != "cpu":
        return True
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def precision(device: torch.device | str, amp: bool) -> str:
    """The arithmetic a training step with ``amp`` uses on ``device``, for records: ``bf16``, ``fp16`` or ``fp32``."""
    if not (amp and amp_active(device)):
        return "fp32"
    return "fp16" if amp_dtype(device) == torch.float16 else "bf16"


def amp_dtype(device: torch.device | str) -> torch.dtype:
    """bfloat16 on a CPU or a GPU that has it; float16 (which needs a gradient scaler) on older GPUs (T4)."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


class MixedPrecision:
    """The arithmetic of a training step, written once for the tools (chapter 2), RL-Restore's learning step (4), the
    baselines (5) and PixelRL (7); make one per run, so that a float16 loss scale carries over from step to step.

    ``enabled``: bfloat16 autocast where :func:`amp_active` (float16 with a gradient scaler on older GPUs), and
    channels-last tensors either way (measured faster for these 3x3 convolutions on a CPU); disabled: plain
    float32. Use: ``net.to(dev, memory_format=mp.memory_format)``, ``with mp.autocast(): out = net(x)``, the loss in
    float32, then ``mp.step(loss, opt, clip=...)``.
    """

    def __init__(self, device: torch.device | str, enabled: bool) -> None:
        self.device, self.enabled = torch.device(device), bool(enabled)
        self.memory_format = torch.channels_last if self.enabled else torch.contiguous_format
        fp16 = self.enabled and amp_active(self.device) and amp_dtype(self.device) == torch.float16
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=fp16)

    def autocast(self) -> AbstractContextManager:
        """The forward pass's context (:func:`autocast`)."""
        return autocast(self.device, self.enabled)

    def step(self, loss: torch.Tensor, opt: torch.optim.Optimizer, clip: float | None = None) -> None:
        """Back-propagate ``loss`` (gradients zeroed by the caller), clip the gradient norm to ``clip`` if given
        (after unscaling, so the threshold means the same in every precision), and step ``opt``."""
        self.scaler.scale(loss).backward()
        if clip is not None:
            self.scaler.unscale_(opt)
            params = [p for group in opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip)
        self.scaler.step(opt)
        self.scaler.update()


# ----------------------------------------------------------------------------- the whole state of a training loop
class ConfigMismatch(ValueError):
    """A saved training state belongs to a run with another configuration; it is left as it is."""


def check_same_config(saved: dict, config: dict) -> None:
    """:class:`ConfigMismatch` (a ``ValueError``) naming the settings in which a saved state's configuration
    differs from this run's."""
    if saved != config:
        changed = sorted(k for k in set(saved) | set(config) if saved.get(k, ...) != config.get(k, ...))
        raise ConfigMismatch(f"checkpoint was made with another configuration (differs in {changed})")


class RunCheckpoint(Checkpointer):
    """The whole state of one training loop, saved every ``every`` seconds and restored on restart (chapters 5-8).

    ``config``: what must not change between a run and its continuation (the config's fields, the loop's other
    settings); ``parts``: everything with ``state_dict()`` / ``load_state_dict()`` (networks, optimisers,
    schedulers, replay memories); ``generator``: the loop's random generator (torch's global one is saved too);
    ``record``: a dataclass of curves, restored field by field. The loop's own variables (step, running means)
    travel as keywords of :meth:`save_if_due` and come back from :meth:`resume`. :meth:`seconds` counts the seconds
    of every part of the run.
    """

    def __init__(self, path: str | Path | None, every: float, config: dict, parts: dict[str, object],
                 generator: torch.Generator | None = None, record: object | None = None) -> None:
        super().__init__(path, every)
        self.config, self.parts, self.generator, self.record = config, parts, generator, record
        self.spent, self.t0 = 0.0, time.perf_counter()

    def seconds(self) -> float:
        """Seconds of training so far, the stopped runs' included."""
        return self.spent + time.perf_counter() - self.t0

    def state(self, **loop: object) -> dict:
        """The state to save: config, every part's state_dict, random generators, record, ``loop``, seconds."""
        from dataclasses import asdict
        return {"config": self.config, "parts": {k: v.state_dict() for k, v in self.parts.items()},
                "generator": self.generator.get_state() if self.generator is not None else None,
                "torch_rng": torch.get_rng_state(), "record": asdict(self.record) if self.record is not None else None,
                "loop": loop, "seconds": self.seconds()}

    def save_if_due(self, **loop: object) -> bool:
        """Save the state with the loop's variables ``loop`` when ``every`` seconds have passed; True if saved."""
        if not self.due():
            return False
        self.save(self.state(**loop))
        return True

    def finish(self, **loop: object) -> None:
        """The run's end: the record's ``seconds`` (every part of the run) and, with a file, the finished state with
        the loop's variables ``loop``, so that the run started again returns at once, with the same record."""
        if self.record is not None:
            self.record.seconds = self.seconds()
        if self.path is not None:
            self.save(self.state(**loop))

    def resume(self) -> dict | None:
        """Load a saved state into the parts, generators and record; returns its loop variables (None: no state).

        Raises :class:`ConfigMismatch` (a ``ValueError``) when the state was saved with another configuration."""
        state = self.load()
        if state is None:
            return None
        check_same_config(state["config"], self.config)
        for k, v in self.parts.items():
            v.load_state_dict(state["parts"][k])
        if self.generator is not None:
            self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if self.record is not None:
            for k, v in state["record"].items():
                setattr(self.record, k, v)
        self.spent, self.t0 = state["seconds"], time.perf_counter()
        return state["loop"]


def partial_state(ap: "argparse.ArgumentParser", args: "argparse.Namespace", out: str | Path, name: str) -> Path:
    """``OUT/.partial/NAME``, the state file of a script's run, checked before anything is written.

    Exits with status 2 (one line on stderr) when ``--checkpoint-every`` is not a positive number; when a stopped
    run's state is there and ``--resume`` was not given (a new run would silently throw it away); when ``OUT`` holds
    a finished model (``record.json``) that no stopped run is continuing and ``--force`` was not given; or when
    ``OUT/.partial`` cannot be created and written (found now, not after the first minutes of training).
    """
    if not args.checkpoint_every > 0:
        ap.exit(2, f"{ap.prog}: error: --checkpoint-every must be a positive number of seconds, got "
                   f"{args.checkpoint_every}\n")
    state = Path(out) / ".partial" / name
    if state.is_file() and not args.resume:
        ap.exit(2, f"{ap.prog}: error: --out: a stopped run's state is in {state}; pass --resume to continue it, "
                   "or remove it\n")
    finished = Path(out) / RECORD
    if finished.is_file() and not state.is_file() and not getattr(args, "force", False):
        ap.exit(2, f"{ap.prog}: error: --out: {out} holds a finished model ({finished}); pass --force to replace "
                   "it, or name another folder\n")
    if why := _unwritable(state.parent):
        ap.exit(2, f"{ap.prog}: error: --out: {why}\n")
    return state


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` could not be made and written now (None: it could), creating nothing: a folder that exists
    is probed with a temporary file; otherwise its nearest existing ancestor must be a folder this user may write."""
    if folder.is_dir():
        try:
            check_writable(folder / "probe", overwrite=True)
        except ValueError as e:
            return str(e)
        return None
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot create folder {str(folder)!r}: {str(ancestor)!r} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot create folder {str(folder)!r}: {str(ancestor)!r} is not writable"
    return None


def finish_partial(out: str | Path) -> None:
    """Remove ``OUT/.partial`` once the run's results are saved for good."""
    shutil.rmtree(Path(out) / ".partial", ignore_errors=True)
