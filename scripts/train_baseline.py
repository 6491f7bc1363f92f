"""Train a single-network baseline of chapter 5 (VDSR, VDSR-s or DnCNN) and ship it with its record.

    python scripts/train_baseline.py --model vdsr-s --scale book       # -> restorelib/weights/baselines/vdsr-s
    python scripts/train_baseline.py --model dncnn --scale paper --out runs/dncnn   # a GPU
    python scripts/train_baseline.py --model vdsr --scale ci --out /tmp/vdsr         # seconds

Training patches: 63x63 crops of the embedded training photos (three scales), degraded on the fly by RL-Restore's
moderate group, as the agent. OUT receives ``model.pt``, ``record.json`` (command, config, hardware, seconds, sha256,
parameters, multiply-adds per 63x63 patch, curves) and a README card. See :mod:`restorelib.baselines`.
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restorelib import data  # noqa: E402
from restorelib.baselines import ARCHS, BASELINES_DIR, SCALES, build_baseline, save_baseline, train_baseline  # noqa: E402
from restorelib.config import get_device, seed_everything  # noqa: E402
from restorelib.patches import patch_bank  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(ARCHS), required=True)
    ap.add_argument("--scale", choices=sorted(SCALES), default="book")
    ap.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    ap.add_argument("--out", type=Path, default=None, help="default restorelib/weights/baselines/MODEL")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    cfg = replace(SCALES[args.scale], seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    out = args.out or BASELINES_DIR / args.model
    seed_everything(args.seed)
    dev = get_device(args.device)
    bank = patch_bank(data.load_set("embedded-train"), stride=32 if args.scale != "ci" else 96)
    command = " ".join(["python scripts/train_baseline.py", *(sys.argv[1:] if argv is None else argv)])
    net = build_baseline(args.model)
    print(f"[train_baseline] {args.model}: {len(bank)} training patches; {cfg.to_dict()}", flush=True)
    rec = train_baseline(net, bank, cfg, device=dev, log=functools.partial(print, flush=True))
    save_baseline(net.cpu(), args.model, cfg, rec, out, command=command, scale=args.scale, device=dev)
    print(f"[train_baseline] wrote {out / 'model.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
