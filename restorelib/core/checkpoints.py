"""Checkpoint folders read back without trusting them: one schema for every ``record.json`` and ``manifest.json``.

Every trained artifact of the book -- the tools (chapter 2), the RL-Restore agents (chapter 4), the baselines and the
joint tools (chapter 5), HIRL (chapter 6), PixelRL (chapter 7), the quality network and the label-free agent
(chapter 8) -- is a folder holding a weights file and a JSON record of how it was made. A folder may come from
anyone, so its record is checked before anything is loaded:

* ``file`` is a plain file name inside the folder (no ``/``, no ``..``, not absolute) that exists there;
* ``sha256`` is mandatory: the 64 hex digits of that file's hash, checked on load;
* ``config`` holds only fields of the model's configuration dataclass, each of its annotated type (JSON ``int`` for
  ``float`` is fine; a ``bool`` is not an ``int``; no NaN or infinity), and values its ``__post_init__`` accepts.

Each failure is one :class:`CheckpointError` (a ``ValueError``, so the command line answers it with one line and exit
code 2) that names the file and what was expected. :func:`load_checkpoint` is the whole sequence for one network;
:meth:`restorelib.toolbox.tools.Toolbox.load` uses :func:`weights_file` and :func:`check_fields` for each manifest entry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Callable, TypeVar

import torch

from .atomic import write_bytes, write_text
from .config import hardware as config_hardware

T = TypeVar("T")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The name of every checkpoint folder's record (the only place it is spelled).
RECORD = "record.json"


class CheckpointError(ValueError):
    """A checkpoint folder's record or weights are not what the loader expects; the message names the file."""


def read_json(path: str | Path) -> dict:
    """The JSON object in ``path`` (a record or a manifest); :class:`CheckpointError` if unreadable or not an object.

    A missing file is a ``FileNotFoundError`` as usual (the loaders name the shipped choices).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: cannot be read ({e})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: must hold a JSON object, got a {type(obj).__name__}")
    return obj


def weights_file(folder: str | Path, entry: dict, where: str | Path) -> tuple[Path, str]:
    """(path, sha256) of the weights an ``entry`` of ``where`` names: a plain name inside ``folder``, its hash given.

    Raises :class:`CheckpointError` naming ``where`` when ``file`` is missing, not a plain name, or not a file in
    ``folder``, or when ``sha256`` is not 64 hex digits (the hash is mandatory: a record cannot switch it off).
    """
    folder = Path(folder)
    name = entry.get("file")
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise CheckpointError(f"{where}: 'file' must be the plain name of a weights file inside {folder}, "
                              f"got {name!r}")
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"{where}: 'file' names {name!r}, which is not a file in {folder}")
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise CheckpointError(f"{where}: 'sha256' must be the 64 hex digits of {name}'s hash (it is mandatory), "
                              f"got {digest!r}")
    return path, digest.lower()


def _fits(value: Any, hint: Any) -> bool:
    """True when the JSON ``value`` is of the annotated type ``hint`` (the types the configs use)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple):                 # JSON has lists only; tuple[str, ...] and list[str] alike
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return False                                # a type no record should hold


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) in (list, tuple):
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return {int: "an int", float: "a finite number", str: "a string", bool: "true or false",
            type(None): "null"}.get(hint, str(hint))


def check_fields(values: object, cls: type[T], where: str | Path, label: str = "config") -> T:
    """``cls(**values)`` after checking that ``values`` is an object of fields of the dataclass ``cls``, each of its
    annotated type; the dataclass's own checks (``__post_init__``) then check the ranges.

    Missing fields take their defaults. Raises :class:`CheckpointError` naming ``where`` and ``label.field``.
    """
    if not isinstance(values, dict):
        raise CheckpointError(f"{where}: '{label}' must be an object of {cls.__name__} fields, "
                              f"got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise CheckpointError(f"{where}: {label} has field(s) {unknown} that {cls.__name__} does not have")
    kwargs = {}
    for key, value in values.items():
        if not _fits(value, hints[key]):
            raise CheckpointError(f"{where}: {label}.{key} must be {_describe(hints[key])}, got {value!r}")
        kwargs[key] = tuple(value) if typing.get_origin(hints[key]) is tuple else value
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:                  # the dataclass's range checks
        raise CheckpointError(f"{where}: {label}: {e}") from None


def read_record(folder: str | Path) -> dict:
    """``folder/record.json`` read and checked for its ``file`` and mandatory ``sha256`` (:func:`weights_file`)."""
    path = Path(folder) / RECORD
    record = read_json(path)
    weights_file(folder, record, path)
    return record


# ----------------------------------------------------------------------------- weights files and records
def sha256_bytes(data: bytes) -> str:
    """The sha256 of ``data`` as 64 hex digits (what records and manifests hold)."""
    return hashlib.sha256(data).hexdigest()


def save_state(module: torch.nn.Module, path: str | Path) -> str:
    """Save ``module``'s state dict to ``path``; return the file's sha256."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, buf)
    data = buf.getvalue()
    write_bytes(path, data, overwrite=True)       # atomic: a stop mid-write leaves the old file or none
    return sha256_bytes(data)


def write_checkpoint(module: torch.nn.Module, folder: str | Path, file: str, *, command: str, scale: str, config: dict,
                     device: torch.device | str, seconds: float, **fields: object) -> dict:
    """Save ``module`` as ``folder/file`` and write ``folder/record.json``; return the record.

    Every shipped checkpoint records the same core: the command that made it, the scale, the configuration, device,
    hardware, torch version, date, training seconds, the file, its sha256 (checked on load) and the parameter count;
    ``fields`` add what is particular to a model (curves, test results, ...) and may override ``params``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digest = save_state(module, folder / file)
    hardware = config_hardware(device)
    record = {"command": command, "scale": scale, "config": config, "device": str(device), "hardware": hardware,
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 1),
              "file": file, "sha256": digest, "params": sum(p.numel() for p in module.parameters()), **fields}
    write_text(folder / RECORD, json.dumps(record, indent=2) + "\n", overwrite=True)
    return record


def load_state(module: torch.nn.Module, path: str | Path, sha256: str | None) -> torch.nn.Module:
    """Load a state dict with ``weights_only=True`` after checking the file's sha256 (None skips the check: only for
    a program's own files; every record and manifest must give the hash).

    Raises :class:`~restorelib.core.checkpoints.CheckpointError` (a ``ValueError``) naming the file when its hash differs
    or it is not a loadable state dict: a pickle that ``weights_only`` refuses (a global it does not allow), a
    corrupt file, or tensors that do not fit ``module`` (wrong keys or shapes).
    """
    data = Path(path).read_bytes()
    if sha256 is not None and sha256_bytes(data) != sha256:
        raise CheckpointError(f"checkpoint {path} has sha256 {sha256_bytes(data)}, expected {sha256}")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:                                # UnpicklingError, RuntimeError, EOFError, ... by torch
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {path} cannot be loaded safely ({type(e).__name__}: {first})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a state dict")
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError) as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = "; ".join(lines[1:3]) if len(lines) > 1 else (lines[0] if lines else type(e).__name__)
        raise CheckpointError(f"checkpoint {path} does not fit the network {type(module).__name__} ({detail})") from None
    return module


def load_checkpoint(folder: str | Path, config_cls: type[T] | None,
                    build: Callable[[Any, dict], torch.nn.Module], device: torch.device | str = "cpu") -> tuple[torch.nn.Module, T | None, dict]:
    """Check ``folder/record.json``, build the network and load its weights: (network in eval mode, config, record).

    ``config_cls`` is the configuration dataclass of ``record["config"]`` (None: the record's config is not used);
    ``build(config, record)`` returns the fresh network. The weights are sha256-checked and loaded with
    ``weights_only=True`` (:func:`load_state`). Every failure -- a record that does not fit the
    schema, a network the config cannot build, a blocked pickle, tensors of the wrong shape -- is a
    :class:`CheckpointError` naming the file.
    """
    folder = Path(folder)
    where = folder / RECORD
    record = read_record(folder)
    cfg = check_fields(record.get("config", {}), config_cls, where) if config_cls is not None else None
    path, digest = weights_file(folder, record, where)
    try:
        net = build(cfg, record)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{where}: no network can be built from it ({e})") from None
    load_state(net, path, digest)                         # raises CheckpointError naming the file
    return net.to(device).eval(), cfg, record


__all__ = ["RECORD", "CheckpointError", "check_fields", "load_checkpoint", "load_state", "read_json", "read_record",
           "save_state", "sha256_bytes", "weights_file", "write_checkpoint"]
