"""Train a single-network baseline of chapter 5 (VDSR, VDSR-s or DnCNN) and ship it with its record.

    python scripts/train_baseline.py --model vdsr-s --scale book       # -> restorelib/weights/baselines/vdsr-s
    python scripts/train_baseline.py --model dncnn --scale paper --out runs/dncnn   # a GPU
    python scripts/train_baseline.py --model vdsr --scale ci --out /tmp/vdsr         # seconds

    RESTORELIB_DATA=/abs/data python scripts/train_baseline.py --model vdsr --scale book --train-set CBSD398 --resume

Training patches: fresh 63x63 crops of the photos of ``--train-set`` (default the embedded training photos) at three
scales, degraded on the fly by RL-Restore's moderate group, as the agent. The whole run is saved into
OUT/.partial every ``--checkpoint-every`` seconds; ``--resume`` continues a stopped run from there (without it a
stopped run's state is refused, exit 2). OUT receives ``model.pt``, ``record.json`` (command, config, hardware,
seconds, sha256, parameters, multiply-adds per 63x63 patch, curves, training sets) and a README card. See
:mod:`restorelib.joint.baselines`.
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.validation import flag_int
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.joint.baselines import ARCHS, BASELINES_DIR, SCALES, build_baseline, save_baseline, train_baseline
from restorelib.core.config import get_device, seed_everything
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(ARCHS), required=True)
    add_common_flags(ap, scales=SCALES, out_help="the model's folder (default restorelib/weights/baselines/MODEL)")
    ap.add_argument("--steps", type=flag_int, default=None, help="override the number of training steps")
    add_train_set_flag(ap, "63x63 training patches")
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    cfg = replace(SCALES[args.scale], seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    out = args.out or BASELINES_DIR / args.model
    state = partial_state(ap, args, out, "baseline.state.pt")
    seed_everything(args.seed)
    dev = get_device(args.device)
    images, bank = train_sampler(ap, args.train_set, 63)
    command = " ".join(["python scripts/train_baseline.py", *(sys.argv[1:] if argv is None else argv)])
    net = build_baseline(args.model)
    print(f"[train_baseline] {args.model}: {len(bank):,} crop positions in {len(images)} images; {cfg.to_dict()}",
          flush=True)
    try:
        rec = train_baseline(net, bank, cfg, device=dev, log=functools.partial(print, flush=True), checkpoint=state,
                             checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    save_baseline(net.cpu(), args.model, cfg, rec, out, command=command, scale=args.scale, device=dev,
                  extra={**train_set_record(args.train_set, images), "train_patches": len(bank)})
    finish_partial(out)
    print(f"[train_baseline] wrote {out / 'model.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
