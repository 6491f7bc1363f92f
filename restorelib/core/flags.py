"""The command-line flags that the scripts of chapters 2-8 share (``scripts/train_*.py``, ``eval_*.py``,
``bench_*.py``, ...), defined once: ``--device``, ``--seed``, ``--scale``, ``--out``, ``--train-set``, ``--resume``
with ``--checkpoint-every`` and ``--force``, and a training run's test flags (``--test-set``, ``--eval-size``,
``--eval-images``).

Each ``add_*`` function adds its flags to an ``argparse`` parser, with the defaults the scripts have always had. A bad
value is refused while parsing, before any work: exit status 2 and an ``error: argument --FLAG: ...`` line naming the
flag (an unknown or unusable ``--device``, a number that is not plain ASCII digits, a scale that is not one of the
script's). ``--device`` keeps the name typed (a string, as the scripts' records store it); the scripts turn it into a
``torch.device`` with :func:`restorelib.core.config.get_device`, which also reads ``$RESTORELIB_DEVICE``. For example::

    ap = argparse.ArgumentParser()
    add_common_flags(ap, scales=SCALES, out=None, out_help="the run's folder (default ...)")
    add_train_set_flag(ap, "63x63 training patches")
    args = ap.parse_args()                 # args.scale, args.out, args.resume, args.checkpoint_every, args.force,
                                           # args.seed, args.device, args.train_set
"""
from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from .config import check_device
from .validation import flag_float, flag_int


def device_flag(text: str) -> str:
    """An ``argparse`` type for ``--device``: ``text`` itself if this machine has that device (``cpu``, ``cuda``,
    ``cuda:N``, ``mps``, ...; see :func:`restorelib.core.config.check_device`), else ``argparse.ArgumentTypeError``
    saying why (an unknown name, no CUDA in this torch, no such GPU)."""
    try:
        check_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def add_device_flag(ap: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--device NAME`` (default None: ``$RESTORELIB_DEVICE``, else CUDA when there is a GPU, else the CPU),
    checked while parsing by :func:`device_flag`."""
    ap.add_argument("--device", type=device_flag, default=None,
                    help=help or "cpu, cuda, cuda:N, mps... (default $RESTORELIB_DEVICE, else cuda when there is a "
                                 "GPU, else cpu)")


def add_seed_flag(ap: argparse.ArgumentParser, default: int = 0, help: str | None = None) -> None:
    """``--seed N``: an integer in ASCII digits (default ``default``)."""
    ap.add_argument("--seed", type=flag_int, default=default,
                    help=help or "the seed of the run's random draws (default %(default)s)")


#: what the usual scales are, for ``--scale``'s help (a script's other scales are listed by argparse)
SCALE_WORDS = {"ci": "checks the script in seconds", "book": "the book's runs", "gpu": "sized for one GPU",
               "paper": "the paper's settings"}


def add_scale_flag(ap: argparse.ArgumentParser, choices: Iterable[str], default: str = "book",
                   help: str | None = None, *, required: bool = False) -> None:
    """``--scale NAME``, one of ``choices`` (the keys of a script's scales, e.g. ``ci``, ``book``, ``gpu``,
    ``paper``; default ``default``, or ``required``). The default help says what each usual scale among
    ``choices`` is."""
    choices = sorted(choices)
    words = "; ".join(f"{c}: {SCALE_WORDS[c]}" for c in choices if c in SCALE_WORDS)
    if required:
        ap.add_argument("--scale", choices=choices, required=True, help=help or f"the run's settings: {words}")
    else:
        ap.add_argument("--scale", choices=choices, default=default,
                        help=help or f"the run's settings: {words} (default %(default)s)")


def add_out_flag(ap: argparse.ArgumentParser, default: Path | None = None, help: str | None = None, *,
                 required: bool = False) -> None:
    """``--out PATH`` (a ``Path``; default ``default``, or ``required``). ``help`` says what is written there; when
    it is left out, the help names the default."""
    if required:
        ap.add_argument("--out", type=Path, required=True, help=help)
    else:
        ap.add_argument("--out", type=Path, default=default, help=help or "where to write (default %(default)s)")


def add_force_flag(ap: argparse.ArgumentParser, help: str) -> None:
    """``--force``: replace what exists (``help`` says what)."""
    ap.add_argument("--force", action="store_true", help=help)


def add_resume_flags(ap: argparse.ArgumentParser, every: float = 300.0, *, force: bool = True,
                     resume_help: str = "continue the stopped run whose state is in OUT/.partial") -> None:
    """``--resume``, ``--checkpoint-every`` (seconds, default ``every``) and, with ``force``, ``--force`` (replace
    a finished model) for a training script; :func:`restorelib.core.resume.partial_state` checks them."""
    ap.add_argument("--resume", action="store_true", help=resume_help)
    ap.add_argument("--checkpoint-every", type=flag_float, default=every,
                    help="seconds between saved states (default %(default)s)")
    if force:
        add_force_flag(ap, "replace a finished model (its record.json) in OUT")


def add_train_set_flag(ap: argparse.ArgumentParser, what: str = "training patches", *, help: str | None = None,
                       default: str = "embedded-train", many: bool = True) -> None:
    """``--train-set SET [SET ...]`` (default ``[default]``) for a training script; with ``many=False`` one set
    (default ``default``). ``what`` names what the sets give, for the default help."""
    ap.add_argument("--train-set", nargs="+" if many else None, default=[default] if many else default,
                    metavar="SET",
                    help=help or f"sets whose photos give the {what}: fresh crops at three scales, gray sets as RGB "
                                 f"(default {default}; e.g. CBSD398 with RESTORELIB_DATA)")


def add_common_flags(ap: argparse.ArgumentParser, *, scales: Iterable[str], out: Path | None = None,
                     out_help: str | None = None, scale_default: str = "book", every: float = 300.0,
                     force: bool = True, resume_help: str | None = None) -> None:
    """A training script's ``--scale`` (one of ``scales``), ``--out``, ``--resume``, ``--checkpoint-every``,
    ``--force`` (with ``force``), ``--seed`` and ``--device``: see the ``add_*`` functions above."""
    add_scale_flag(ap, scales, scale_default)
    add_out_flag(ap, out, out_help)
    add_resume_flags(ap, every, force=force, **({"resume_help": resume_help} if resume_help else {}))
    add_seed_flag(ap)
    add_device_flag(ap)


def add_test_flags(ap: argparse.ArgumentParser, *, eval_size: int, test_set: str = "embedded-test",
                   what: str = "test images") -> None:
    """A training run's test: ``--test-set`` (default ``test_set``), ``--eval-size`` (a centre crop of the test
    images, 0 for whole images; default ``eval_size``) and ``--eval-images N`` (the first N only; default all).
    :func:`check_test_flags` checks their ranges."""
    ap.add_argument("--test-set", default=test_set, help="the held-out set the run is tested on (default %(default)s)")
    ap.add_argument("--eval-size", type=flag_int, default=eval_size,
                    help=f"centre crop of the {what} (0: whole {what}; default %(default)s)")
    ap.add_argument("--eval-images", type=flag_int, default=None, help=f"test on the first N {what} only")


def check_test_flags(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 (``ap.error``) naming ``--eval-size`` when it is negative, ``--eval-images`` when it is not positive."""
    if args.eval_size < 0:
        ap.error(f"--eval-size must be 0 or a positive int, got {args.eval_size}")
    if args.eval_images is not None and args.eval_images < 1:
        ap.error(f"--eval-images must be a positive int, got {args.eval_images}")
