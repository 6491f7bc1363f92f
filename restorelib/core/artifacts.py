"""The life-cycle every trained model of the book shares, written once: a shipped name or a folder resolved, its
record read and checked, its weights verified and loaded, its card written, and "load the shipped model at book
scale, train it here at CI scale".

A chapter's module defines its kind of artifact once, e.g. chapter 4's agents::

    AGENTS = ArtifactKind(folder=weights_dir() / "agents", config_cls=DQNConfig, build=_build_agent,
                          default="rl-restore", what="agent", hint="train one with `python scripts/train_agent.py`")

and :meth:`ArtifactKind.shipped`, :meth:`ArtifactKind.resolve` and :meth:`ArtifactKind.load` replace its own listing,
lookup and loading; the checks are :mod:`restorelib.core.checkpoints`' (the mandatory sha256, the config schema,
``weights_only`` loads), so a kind cannot weaken them. :func:`load_or_train` is the switch of every ``get_X(profile)``
of chapters 4 to 8.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import torch

from .atomic import write_text
from .checkpoints import RECORD, load_checkpoint, read_record
from .config import Profile
from .long_runs import progress_label, run_kwargs

R = TypeVar("R")
CARD = "README.md"


def shipped(folder: str | Path) -> list[str]:
    """Sorted names of the sub-folders of ``folder`` that hold a ``record.json`` ([] when ``folder`` is missing)."""
    folder = Path(folder)
    return sorted(p.parent.name for p in folder.glob(f"*/{RECORD}")) if folder.is_dir() else []


def has_record(folder: str | Path) -> bool:
    """True when ``folder`` holds a ``record.json`` (a finished checkpoint, not yet checked)."""
    return (Path(folder) / RECORD).is_file()


def resolve(name: str | Path, shipped_dir: str | Path, what: str = "model", hint: str = "") -> Path:
    """The folder of ``name``: a folder holding ``record.json`` as given, else the shipped ``shipped_dir/name``.

    Raises ``FileNotFoundError`` "``what`` must be one of [the shipped names] or a folder with record.json, got
    'name'" followed by ``; hint`` (how to train one) when neither holds a record.
    """
    folder = Path(name) if Path(name).is_dir() else Path(shipped_dir) / str(name)
    if not has_record(folder):
        raise FileNotFoundError(f"{what} must be one of {shipped(shipped_dir)} or a folder with {RECORD}, got "
                                f"{str(name)!r}" + (f"; {hint}" if hint else ""))
    return folder


@dataclass(frozen=True)
class ArtifactKind:
    """One kind of trained model: where its shipped folders live and how a record's config builds its network.

    ``folder``: the shipped folder (or a function returning it, for a module attribute a test may replace);
    ``config_cls``: the configuration dataclass of ``record["config"]`` (None: not used); ``build(config, record)``
    returns the fresh network; ``default``: the shipped name loaded when none is given; ``what`` and ``hint`` word
    the FileNotFoundError of :func:`resolve`; ``check(record, where)`` adds a kind's own record checks (raising
    :class:`~restorelib.core.checkpoints.CheckpointError`) before anything is built.
    """
    folder: Path | Callable[[], Path]
    config_cls: type | None
    build: Callable[[Any, dict], torch.nn.Module]
    default: str = ""
    what: str = "model"
    hint: str = ""
    check: Callable[[dict, Path], None] | None = None

    @property
    def root(self) -> Path:
        """The shipped folder now."""
        return Path(self.folder() if callable(self.folder) else self.folder)

    def shipped(self) -> list[str]:
        """Names of the shipped models of this kind."""
        return shipped(self.root)

    def resolve(self, name: str | Path | None = None) -> Path:
        """The folder of a shipped name or of a folder with ``record.json`` (default: the kind's ``default``)."""
        return resolve(self.default if name is None else name, self.root, self.what, self.hint)

    def record(self, name: str | Path | None = None) -> dict:
        """The checked record (its ``file`` and ``sha256``) of a shipped name or folder."""
        return read_record(self.resolve(name))

    def load(self, name: str | Path | None = None, device: torch.device | str = "cpu"
             ) -> tuple[torch.nn.Module, Any, dict]:
        """(network in eval mode on ``device``, config, record) of a shipped name or folder, every check applied."""
        folder = self.resolve(name)
        if self.check is not None:
            self.check(read_record(folder), folder / RECORD)
        return load_checkpoint(folder, self.config_cls, self.build, device)


def produced(record: dict, minutes: str = ".0f") -> str:
    """A card's "Produced by `command` on date (hardware, device, torch version), N min." line from its record."""
    r = record
    return (f"Produced by `{r['command']}` on {r['date']} ({r['hardware']}, {r['device']}, torch {r['torch']}), "
            f"{r['seconds'] / 60:{minutes}} min.")


def write_readme(folder: str | Path, text: str | Sequence[str]) -> Path:
    """Write ``folder/README.md`` (a model card: ``text`` or its lines joined by newlines) atomically; its path."""
    path = Path(folder) / CARD
    write_text(path, text if isinstance(text, str) else "\n".join(text), overwrite=True)
    return path


def load_or_train(profile: Profile, train_data: object, load: Callable[[], R], train: Callable[..., R], *,
                  config: Callable[[str], Any], run: str, inputs: Sequence[object] = (),
                  progress: bool | str = False, shape: str = "(P, 3, 63, 63)") -> R:
    """A chapter's model at the active scale: ``load()`` (the shipped model) unless ``profile.train``, else trained
    here by ``train(cfg, progress=..., checkpoint=..., checkpoint_every=...)`` with ``cfg = config(profile.name)``.

    Where ``profile.long_runs`` (gpu and paper scales) the run shows a bar and keeps its state in
    :func:`restorelib.core.long_runs.run_checkpoint`'s folder named ``run`` and keyed by the config and the
    fingerprint of ``inputs`` (toolbox, agent, bank), so it resumes after a disconnect. ``train_data`` is the
    ``bank`` argument of the ``get_X``: when training, None is a ``ValueError`` naming its ``shape`` before any work
    (the trainer checks its values). Chapters 4-8.
    """
    if not profile.train:
        return load()
    if train_data is None:
        raise ValueError(f"bank must hold clean training patches {shape} when the profile trains")
    cfg = config(profile.name)
    return train(cfg, progress=progress_label(profile, progress),
                 **run_kwargs(profile, run, cfg.to_dict(), *inputs))


__all__ = ["ArtifactKind", "CARD", "RECORD", "has_record", "load_or_train", "produced", "resolve", "shipped",
           "write_readme"]
