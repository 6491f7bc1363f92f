"""One place for configuration: scale profile (with every chapter's sizes, :mod:`restorelib.core.scales`), seeding,
device, cache and data folders.

The book runs at three scales (see "How to use this book"):

* ``ci``    -- ``RESTORELIB_FAST=1``: every notebook runs in well under two minutes; tiny trainings.
* ``book``  -- the default on a CPU: notebooks show results of real trained models by loading the
  checkpoints shipped in :mod:`restorelib.weights`.
* ``gpu``   -- the default when a CUDA GPU is present: notebooks train from scratch, each chapter sized to finish in
  about 15 minutes on a Colab T4 (see "How to use this book" for how the runs were sized).
* ``paper`` -- an explicit choice only: (near) paper-scale training, hours per chapter, with resumable checkpoints.

``RESTORELIB_PROFILE=ci|book|gpu|paper`` overrides the automatic choice.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .scales import scale_settings

PROFILES = ("ci", "book", "gpu", "paper")
_SAME_AS_PAPER = object()


@dataclass(frozen=True)
class Profile:
    """A named scale with the few knobs every chapter reads.

    ``name`` is one of :data:`PROFILES`; ``max_images`` caps how many test images a chapter evaluates;
    ``train`` says whether chapters train from scratch (True) or load shipped checkpoints (False).
    """

    name: str
    max_images: int
    train: bool

    @property
    def fast(self) -> bool:
        """True at CI scale (``RESTORELIB_FAST=1``)."""
        return self.name == "ci"

    @property
    def long_runs(self) -> bool:
        """True where chapters train for minutes or hours (``gpu``, ``paper``): show progress bars with an ETA."""
        return self.name in ("gpu", "paper")

    def pick(self, ci: Any, book: Any, paper: Any, gpu: Any = _SAME_AS_PAPER) -> Any:
        """The value for this scale, e.g. ``profile.pick(ci=3, book=20, paper=68)`` (test images of a chapter).

        ``gpu`` defaults to ``paper``'s value: evaluation sizes are the same on any GPU, only training differs.
        """
        if self.name == "gpu":
            return paper if gpu is _SAME_AS_PAPER else gpu
        return {"ci": ci, "book": book, "paper": paper}[self.name]

    def settings(self, run: str) -> dict[str, Any]:
        """What training run ``run`` changes from its config's defaults at this scale, e.g.
        ``get_profile("book").settings("hirl")["steps"]`` (9000): the one table of every chapter's sizes,
        :data:`restorelib.core.scales.SCALE_SETTINGS`. ``ValueError`` for a run the table does not have."""
        return scale_settings(run, self.name)


_PROFILE_TABLE = {
    "ci": Profile("ci", max_images=3, train=True),
    "book": Profile("book", max_images=68, train=False),
    "gpu": Profile("gpu", max_images=68, train=True),
    "paper": Profile("paper", max_images=68, train=True),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def get_profile(name: str | None = None) -> Profile:
    """Return the active :class:`Profile`.

    Order of precedence: the ``name`` argument, ``RESTORELIB_PROFILE``, ``RESTORELIB_FAST=1`` (= ``ci``),
    then ``gpu`` when CUDA is available and ``book`` otherwise (``paper`` is only ever chosen by name).
    """
    name = name or os.environ.get("RESTORELIB_PROFILE") or None
    if name is None:
        if _truthy(os.environ.get("RESTORELIB_FAST")):
            name = "ci"
        else:
            name = "gpu" if torch.cuda.is_available() else "book"
    if name not in _PROFILE_TABLE:
        raise ValueError(f"profile must be one of {PROFILES}, got {name!r}")
    return _PROFILE_TABLE[name]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` if given, else ``RESTORELIB_DEVICE``, else CUDA when available.

    A device asked for is checked: ``ValueError`` (naming it) for a name torch does not know, or a device this
    machine does not have (``cuda`` on a CPU-only torch or without a GPU, ``cuda:3`` with two GPUs, ...).
    """
    device = device or os.environ.get("RESTORELIB_DEVICE")
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(device)


def check_device(device: str | torch.device) -> torch.device:
    """``torch.device(device)`` if this machine has it, else ``ValueError`` naming ``device`` (see :func:`get_device`)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device must be cpu, cuda, cuda:N, mps or another torch device name, got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ValueError(f"device {str(device)!r} is not available: {why}; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r} is not available: {torch.cuda.device_count()} CUDA GPU(s)")
    elif dev.type not in ("cpu", "meta"):
        try:
            torch.empty(0, device=dev)
        except Exception as e:                           # torch raises several kinds for a missing backend
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ValueError(f"device {str(device)!r} is not available ({first})") from None
    return dev


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator`` seeded the same way.

    Library functions that draw random numbers take an explicit ``generator`` so that results do not
    depend on what ran before; the global seeds are for readers' own code in the notebooks.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """Where downloads are kept: ``RESTORELIB_CACHE``, else ``$XDG_CACHE_HOME/restorelib``, else ``~/.cache/restorelib``."""
    env = os.environ.get("RESTORELIB_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "restorelib"


def data_dir() -> Path | None:
    """A local folder of datasets (one sub-folder per set, e.g. ``BSD68/``) named by ``RESTORELIB_DATA``, or None."""
    env = os.environ.get("RESTORELIB_DATA")
    if not env:
        return None
    path = Path(env).expanduser()
    return path if path.is_dir() else None


def weights_dir() -> Path:
    """The folder of checkpoints shipped with the package (``restorelib/weights``)."""
    return Path(__file__).resolve().parents[1] / "weights"


def hardware(device: str | torch.device = "cpu") -> str:
    """What a record says it ran on, e.g. ``AMD EPYC (x86_64, no native bf16), 1 torch thread`` or
    ``..., Tesla T4`` on a GPU: training speed (and whether bf16 helps, chapter 2) depends on it."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), name)
    except OSError:
        pass
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    n = torch.get_num_threads()
    text = f"{name} ({platform.machine()}, {'native' if bf16 else 'no native'} bf16), {n} torch thread" + "s" * (n != 1)
    if torch.device(device).type == "cuda":
        text += f", {torch.cuda.get_device_name()}"
    return text


def widgets_available() -> bool:
    """True where an ipywidgets front-end is likely (Colab, Jupyter, VS Code); False in book builds and CI.

    Jupyter Server names a notebook's kernel session (``JPY_SESSION_NAME``); ``JPY_PARENT_PID`` is no sign of a
    front-end, since every kernel started by jupyter_client has it, those of a book build too.
    ``RESTORELIB_WIDGETS=1`` or ``0`` overrides the guess. The explorers (chapters 1, 4, 6) and the progress bars
    (:func:`restorelib.core.long_runs.progress_bar`) ask it.
    """
    forced = os.environ.get("RESTORELIB_WIDGETS")
    if forced is not None:
        return forced.strip() not in ("0", "", "false", "no")
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    if "google.colab" in sys.modules:
        return True
    return any(k in os.environ for k in ("JPY_SESSION_NAME", "VSCODE_PID"))
