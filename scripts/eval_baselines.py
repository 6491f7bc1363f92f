"""Chapter 5's comparison: VDSR, VDSR-s, DnCNN and RL-Restore with each tool set, on one test set.

    RESTORELIB_DATA=/abs/data python scripts/eval_baselines.py          # CBSD68 -> restorelib/weights/baselines/comparison.json
    python scripts/eval_baselines.py --set embedded-test --out /tmp/c.json

The protocol is chapter 4's: one seeded 63x63 patch per image, degraded by each of the mild, moderate and severe
groups (:func:`restorelib.joint.baselines.compare`). Every method that is trained is evaluated (a baseline or a tool set
that is missing is listed as skipped); OUT receives the command, date, hardware, seconds and one row per method and
group with PSNR, SSIM, parameters (all and actually run) and multiply-adds per 63x63 patch.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

import torch

from restorelib.core.flags import add_device_flag, add_out_flag, add_seed_flag
from restorelib.core.validation import flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core import data
from restorelib.joint.baselines import ARCHS, COMPARISON_FILE, compare
from restorelib.core.config import get_device, hardware
from restorelib.evaluate import get_method
from restorelib.toolbox.tools import TOOLSETS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="CBSD68", help="test set name (default CBSD68)")
    ap.add_argument("--limit", type=flag_int, default=None, help="use the first N images only")
    add_out_flag(ap, COMPARISON_FILE, "the comparison JSON to write (default %(default)s)")
    add_seed_flag(ap)
    add_device_flag(ap)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True)    # before the work: exit 2, one line
    if args.limit is not None and args.limit < 1:
        ap.error(f"--limit must be a positive int, got {args.limit}")
    if not args.out.parent.is_dir():
        ap.error(f"--out: folder {str(args.out.parent)!r} does not exist")
    try:
        images = data.load_set(args.set, limit=args.limit)
    except (ValueError, data.DownloadError) as e:
        ap.error(f"--set: {e}")
    dev = get_device(args.device)
    methods, skipped = {}, []
    wanted = {**{n: (n, {}) for n in ARCHS}, **{f"rl-restore+{t}": ("rl-restore", {"tools": t}) for t in TOOLSETS}}
    for label, (spec, opts) in wanted.items():
        try:
            methods[label] = get_method(spec, dev, **opts)
        except FileNotFoundError as e:
            skipped.append(label)
            print(f"[eval_baselines] skipped {label}: {e}", flush=True)
    t0 = time.perf_counter()
    rows = compare(methods, images, seed=args.seed, device=dev)
    for r in rows:
        print(f"{r['method']:22s} {r['group']:9s} {r['psnr_in']:.2f} -> {r['psnr_out']:.2f} dB, SSIM "
              f"{r['ssim_out']:.4f}, {r['macs'] / 1e9:.3f} G MACs, {r['params_used']:,} params run", flush=True)
    command = " ".join(["python scripts/eval_baselines.py", *(sys.argv[1:] if argv is None else argv)])
    result = {"command": command, "set": args.set, "images": len(images), "seed": args.seed,
              "date": datetime.date.today().isoformat(), "seconds": round(time.perf_counter() - t0, 1),
              "hardware": hardware(dev), "device": str(dev),
              "skipped": skipped, "rows": rows}
    write_text(args.out, json.dumps(result, indent=2) + "\n", overwrite=True)
    print(f"[eval_baselines] wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
