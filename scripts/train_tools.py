"""Train RL-Restore's 12 tools and write checkpoints + a record (command, config, seconds, curves, PSNR gains).

    python scripts/train_tools.py --scale book --train-set CBSD398 --curve-set LIVE1 --resume   # the shipped tools
    python scripts/train_tools.py --scale book --only noise-1 noise-2 --resume ...     # part of them, in a 2nd process
    python scripts/train_tools.py --scale paper --out runs/tools-paper                 # on a GPU
    python scripts/train_tools.py --scale ci --out runs/tools-ci                       # a smoke run (seconds)

The work is done by :func:`restorelib.toolbox.train_toolbox.train_toolbox` (chapter 2): every tool's whole state is saved
into OUT/.partial every few minutes, and ``--resume`` continues from there after a stop. The final figures use CBSD68
(read from $RESTORELIB_DATA or downloaded), the validation curves ``--curve-set``; neither is ever trained on. A
toolbox in which a tool did not learn (less than the scale's --min-gain dB at its mid-level) is refused (exit 1).
"""
from __future__ import annotations

import argparse
import sys

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.validation import flag_float, flag_int
from restorelib.core import data
from restorelib.core.config import seed_everything, weights_dir
from restorelib.toolbox.tools import TOOL_NAMES
from restorelib.toolbox.train_toolbox import TOOLBOX_SCALES, ToolDidNotLearn, train_toolbox

SET_NAMES = ("embedded", "embedded-train", "embedded-test")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=TOOLBOX_SCALES, out=weights_dir() / "tools", every=180.0, force=False,
                     out_help="the toolbox's folder (default %(default)s)", resume_help="continue from OUT/.partial")
    add_train_set_flag(ap, help="one or more named sets (default embedded-train)")
    ap.add_argument("--val-set", default="CBSD68", help="the held-out set of the final figures")
    ap.add_argument("--curve-set", default=None, help="a held-out set for each tool's validation curve (e.g. LIVE1)")
    ap.add_argument("--val-per-image", type=flag_int, default=4)
    ap.add_argument("--steps", type=flag_int, default=None, help="steps per tool (default: the scale's)")
    ap.add_argument("--min-gain", type=flag_float, default=None, help="least mid-level gain in dB (default: the scale's)")
    ap.add_argument("--no-robust", action="store_true", help="train without the slight noise/JPEG trick")
    ap.add_argument("--only", nargs="*", default=None, help="train only these tool names")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    known = set(SET_NAMES) | set(data.dataset_names())
    for name in [*args.train_set, args.val_set, *([args.curve_set] if args.curve_set else [])]:
        if name not in known:
            ap.error(f"set {name!r} is not one of {sorted(known)}")
    if args.only and (bad := sorted(set(args.only) - set(TOOL_NAMES))):
        ap.error(f"--only: {bad} are not tool names ({', '.join(TOOL_NAMES)})")
    for flag, v in (("--steps", args.steps), ("--val-per-image", args.val_per_image)):
        if v is not None and v < 1:
            ap.error(f"{flag} must be a positive integer, got {v}")
    if not args.checkpoint_every > 0:
        ap.error(f"--checkpoint-every must be a positive number of seconds, got {args.checkpoint_every}")
    seed_everything(args.seed)
    command = " ".join(["python scripts/train_tools.py", *(sys.argv[1:] if argv is None else argv)])
    train_set = args.train_set[0] if len(args.train_set) == 1 else args.train_set
    try:
        train_toolbox(args.scale, args.out, train_set=train_set, val_set=args.val_set, curve_set=args.curve_set,
                      val_per_image=args.val_per_image, robust=not args.no_robust, seed=args.seed,
                      resume=args.resume, only=args.only, steps=args.steps, device=args.device, command=command,
                      min_gain=... if args.min_gain is None else args.min_gain,
                      checkpoint_every=args.checkpoint_every)
    except ValueError as e:
        ap.error(str(e))
    except ToolDidNotLearn as e:
        print(f"train_tools.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
