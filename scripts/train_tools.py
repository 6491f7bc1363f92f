"""Train RL-Restore's 12 tools and write checkpoints + a record (command, config, seconds, PSNR gains).

    python scripts/train_tools.py --scale book             # the shipped checkpoints (2-core CPU, ~1 h)
    python scripts/train_tools.py --scale paper --out runs/tools-paper   # on a GPU
    python scripts/train_tools.py --scale ci --out runs/tools-ci         # a smoke run (seconds)

The work is done by :func:`restorelib.training.train_toolbox` (chapter 2); see its docstring for resuming
and validation. Validation uses CBSD68 (read from $RESTORELIB_DATA or downloaded), never a training image.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restorelib.config import seed_everything, weights_dir  # noqa: E402
from restorelib.training import TOOLBOX_SCALES, train_toolbox  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=sorted(TOOLBOX_SCALES), default="book")
    ap.add_argument("--out", type=Path, default=weights_dir() / "tools")
    ap.add_argument("--train-set", default="embedded-train")
    ap.add_argument("--val-set", default="CBSD68")
    ap.add_argument("--val-per-image", type=int, default=4)
    ap.add_argument("--no-robust", action="store_true", help="train without the slight noise/JPEG trick")
    ap.add_argument("--only", nargs="*", default=None, help="train only these tool names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="keep the tools already finished in OUT/.partial")
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    seed_everything(args.seed)
    command = " ".join(["python scripts/train_tools.py", *(sys.argv[1:] if argv is None else argv)])
    train_toolbox(args.scale, args.out, train_set=args.train_set, val_set=args.val_set,
                  val_per_image=args.val_per_image, robust=not args.no_robust, seed=args.seed, resume=args.resume,
                  only=args.only, device=args.device, command=command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
