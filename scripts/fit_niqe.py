"""Fit NIQE's pristine model (chapter 8) on the embedded training photos and ship it with a record and a card.

    python scripts/fit_niqe.py                        # writes restorelib/weights/quality/niqe_pristine.json
    python scripts/fit_niqe.py --out /tmp/niqe.json   # anywhere else

The 36 NIQE features (Mittal et al. 2013) of every 96x96 block of the photos of ``embedded-train`` are computed,
the blocks sharper than 0.75 x the sharpest block of their photo are kept, and their mean and covariance are
written as JSON together with the record (command, date, seconds, photos, blocks). Nothing is downloaded.
A README.md card is written beside the JSON.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from restorelib.core.flags import add_out_flag, add_train_set_flag
from restorelib.core.validation import flag_float, flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core import data
from restorelib.core.quality import NIQE_FILE, fit_niqe


def write_card(path: Path, info: dict) -> Path:
    """The README.md beside the pristine model: what it is, how it was made, how to use it."""
    card = path.parent / "README.md"
    write_text(card,
        "# No-reference quality models (chapter 8)\n\n"
        f"## `{path.name}`: NIQE's pristine model\n\n"
        f"Produced by `{info['command']}` on {info['date']} ({info['hardware']}) in {info['seconds']:.1f} s.\n\n"
        "NIQE (Mittal, Soundararajan & Bovik, *Making a \"completely blind\" image quality analyzer*, IEEE Signal "
        "Processing Letters 20(3), 2013) scores an image by the distance between a multivariate Gaussian of its "
        "natural-scene-statistics features and one fitted on pristine photos. This file is that pristine Gaussian "
        f"(`mean`: 36 values, `cov`: 36x36), fitted by `restorelib.core.quality.fit_niqe` on the {info['images']} photos "
        f"of `{info['train_set']}` ({', '.join(info['photos'])}): {info['patches']} blocks of "
        f"{info['block']}x{info['block']} pixels, those sharper than {info['sharpness']} x the sharpest block of their "
        "photo. The features are those of the paper's Table I (GGD shape and variance of the MSCN coefficients; "
        "AGGD shape, mean, left and right variances of the products of horizontal, vertical and diagonal "
        "neighbours) at full and half resolution.\n\n"
        "The authors fitted theirs on 125 photos; ours uses 8 and no test photo, so NIQE values here are not "
        "comparable with published ones. Use it through `restorelib.core.quality.niqe(images)` (lower = better) or the "
        "registered scorer `\"niqe\"` (its negative, higher = better).\n\n"
        "## `quality-net/`: the learnt quality network\n\n"
        "Written by `python scripts/train_quality.py --scale book`, with its own `record.json` and README.md.\n",
        overwrite=True)
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_flag(ap, NIQE_FILE, "the JSON to write (default: the shipped one)")
    add_train_set_flag(ap, many=False, help="the set whose photos the model is fitted on "
                       "(default embedded-train)")
    ap.add_argument("--block", type=flag_int, default=96)
    ap.add_argument("--sharpness", type=flag_float, default=0.75)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True, make_folder=True)    # before the work: exit 2
    if args.block < 32:
        ap.error(f"--block must be at least 32, got {args.block}")
    if not 0 <= args.sharpness < 1:
        ap.error(f"--sharpness must be in [0, 1), got {args.sharpness}")
    photos = data.load_set(args.train_set)
    t0 = time.perf_counter()
    model = fit_niqe(photos, block=args.block, sharpness=args.sharpness)
    seconds = time.perf_counter() - t0
    model.info.update({
        "command": " ".join(["python scripts/fit_niqe.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 2), "train_set": args.train_set,
        "photos": list(photos), "hardware": f"{platform.machine()}, {platform.python_implementation()} "
                                            f"{platform.python_version()}",
        "features": "per scale (full, half): GGD shape, variance of MSCN; 4 x AGGD shape, mean, left var, right var"})
    model.save(args.out)
    write_card(args.out, model.info)
    print(f"[fit_niqe] {model.info['patches']} pristine blocks from {len(photos)} photos in {seconds:.1f} s; "
          f"wrote {args.out} and {args.out.parent / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
