"""What the command line's commands share: the one-line usage error, the checks made before any work, the images
by folder or set name, and the atomic JSON output (:mod:`restorelib.cli`)."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from ..core import atomic, data
from ..core.atomic import json_ready
from ..core.config import check_device
from ..core.method import OptionError


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors (a bad ``--device``, a number that is not an int, a missing flag) in one line."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


DEFAULT_TILE = 512
MAX_SEED = 2**32                # the per-image seeds (seed * 1,000,003 + i) must fit torch's 64-bit seeds
MAX_PIXELS_HELP = (f"refuse images of more pixels than this (default {data.DEFAULT_MAX_PIXELS:,}, or "
                   "$RESTORELIB_MAX_PIXELS): a small file can hold a huge image")


def load_images(spec: str, limit: int | None, max_pixels: int | None) -> dict:
    """The images of ``--images``: a folder, or a set by name (:func:`restorelib.core.data.load_set`)."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be a positive int, got {limit}")
    path = Path(spec)
    if path.exists() or os.sep in spec:
        try:
            return data.load_folder(path, limit=limit, max_pixels=max_pixels)
        except ValueError as e:
            raise UsageError(f"--images: {e}") from None
    if spec in data.dataset_names() or spec.startswith("embedded"):
        try:
            return data.load_set(spec, limit=limit, max_pixels=max_pixels)
        except (ValueError, data.DownloadError) as e:
            raise UsageError(f"--images: {e}") from None
    raise UsageError(f"--images must be a folder or a set name ({', '.join(data.dataset_names())}, "
                     f"embedded, embedded-test), got {spec!r}")


def write_json(obj: dict, out: Path, overwrite: bool) -> list[str]:
    """Write ``obj`` as strict JSON, atomically; NaN/inf become null, listed in ``null_values`` with the reason."""
    clean, nulls = json_ready(obj)
    if nulls:
        clean["null_values"] = {"why": "not a number (NaN or inf): the scorer could not score these images (e.g. "
                                       "NIQE a flat image, which has no textured block); written as null",
                                "where": nulls}
    text = json.dumps(clean, indent=2, allow_nan=False) + "\n"
    with writing("--json", out):
        atomic.write_text(out, text, overwrite=overwrite)
    return nulls


@contextlib.contextmanager
def writing(flag: str, path: Path) -> Iterator[None]:
    """Turn a failed final write into a one-line error (the target appeared meanwhile, or the disk is full)."""
    try:
        yield
    except FileExistsError:
        raise UsageError(f"{flag}: {str(path)!r} appeared while this ran; not overwritten (pass --force)") from None
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {str(path)!r} ({e.strerror or e})") from None


def check_output(flag: str, path: Path, force: bool) -> None:
    try:
        atomic.check_output(flag, path, overwrite=force)
    except ValueError as e:
        raise UsageError(str(e)) from None


def check_common(args: argparse.Namespace) -> None:
    """The checks of ``$RESTORELIB_DEVICE`` (``--device`` is checked while parsing) and ``--max-pixels`` of
    ``evaluate`` and ``restore``."""
    if args.device is None and os.environ.get("RESTORELIB_DEVICE"):
        try:
            check_device(os.environ["RESTORELIB_DEVICE"])
        except ValueError as e:
            raise UsageError(f"RESTORELIB_DEVICE: {e}") from None
    if args.max_pixels is not None and args.max_pixels < 1:
        raise UsageError(f"--max-pixels must be a positive int, got {args.max_pixels}")
    try:
        data.pixel_limit(args.max_pixels)
    except ValueError as e:
        raise UsageError(str(e)) from None


def check_scorer(name: str) -> None:
    from ..core.quality import scorer_names
    if name not in scorer_names():
        raise UsageError(f"--scorer must be one of {scorer_names()}, got {name!r}")


def method_options(args: argparse.Namespace) -> dict:
    """The options of ``--method`` given on the command line (``--max-length``, ``--tools``)."""
    opts: dict = {} if args.max_length is None else {"max_length": args.max_length}
    if args.tools is not None:
        if args.method.split(":")[0] != "rl-restore":
            raise UsageError(f"--tools applies to --method rl-restore only, got --method {args.method!r}")
        opts["tools"] = args.tools
    return opts


def flag_of(error: Exception) -> str:
    """The flag a method's error is about: the option an :class:`~restorelib.core.method.OptionError` names."""
    return "--" + error.option.replace("_", "-") if isinstance(error, OptionError) else "--method"
