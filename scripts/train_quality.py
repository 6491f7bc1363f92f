"""Train chapter 8's QualityNet (predicts a degraded image's PSNR without its clean original) and ship it.

    python scripts/train_quality.py --scale book                      # the shipped net (2-core CPU, ~15 min)
    python scripts/train_quality.py --scale book --chain-fraction 0 --out restorelib/weights/quality/quality-net-naive
    python scripts/train_quality.py --scale ci --out /tmp/quality     # a few seconds, to check the pipeline
    python scripts/train_quality.py --scale paper --out runs/quality  # a GPU
    RESTORELIB_DATA=/abs/data python scripts/train_quality.py --scale book --train-set CBSD398 --resume

Training patches: fresh 63x63 crops of the photos of ``--train-set`` (default the embedded training photos) at three
scales, degraded on the fly by a random spec of RL-Restore's groups and single distortions (or left clean); the
target is their PSNR, clipped to [10, 50] dB. The whole run is saved into OUT/.partial every ``--checkpoint-every``
seconds; ``--resume`` continues a stopped run from there (without it a stopped run's state is refused, exit 2).
OUT receives ``quality-net.pt``, ``record.json`` (command, config, hardware, seconds, sha256, loss curve,
validation on the held-out embedded test photos) and a ``README.md`` model card. The default OUT is
``restorelib/weights/quality/quality-net``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import torch

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.validation import flag_float, flag_int
from restorelib.core import data
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.core.config import get_device, seed_everything
from restorelib.core.patches import random_patches
from restorelib.core.quality import QUALITY_DIR, quality_pairs, spearman
from restorelib.labelfree.quality_net import SCALES, save_quality_net, train_quality_net
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state

VAL_SPECS = ["mild", "moderate", "severe", "poisson:5..200", "saltpepper:0.005..0.1"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=SCALES, out=QUALITY_DIR / "quality-net",
                     out_help="the network's folder (default %(default)s)")
    ap.add_argument("--steps", type=flag_int, default=None, help="override the number of training steps")
    ap.add_argument("--chain-fraction", type=flag_float, default=None,
                    help="share of patches run through random tool chains (book: 0.3; 0 = the naive net)")
    add_train_set_flag(ap, "63x63 training patches")
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    if args.chain_fraction is not None and not 0 <= args.chain_fraction <= 1:
        ap.error(f"--chain-fraction must lie in [0, 1], got {args.chain_fraction}")
    cfg = replace(SCALES[args.scale], seed=args.seed, **({"steps": args.steps} if args.steps else {}),
                  **({"chain_fraction": args.chain_fraction} if args.chain_fraction is not None else {}))
    state = partial_state(ap, args, args.out, "quality.state.pt")
    seed_everything(args.seed)
    dev = get_device(args.device)
    images, bank = train_sampler(ap, args.train_set, 63)
    command = " ".join(["python scripts/train_quality.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_quality] {args.scale}: {len(bank):,} crop positions in {len(images)} images; {cfg.to_dict()}",
          flush=True)
    toolbox = None
    if cfg.chain_fraction > 0:                 # the guard: also learn what (mis)used tools produce
        from restorelib.toolbox.tools import Toolbox
        toolbox = Toolbox.load(device=dev)
    try:
        net, rec = train_quality_net(bank, cfg, device=dev, log=print, toolbox=toolbox, checkpoint=state,
                                     checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    # Validation on the held-out photos: 8 random 63x63 patches each, seen distortions and unseen ones.
    g = torch.Generator().manual_seed(12345)
    val = torch.cat([random_patches(data.to_rgb(im), 8, generator=g) for im in data.load_set("embedded-test").values()])
    pairs = quality_pairs(lambda x: net(x.to(dev)).cpu(), val, VAL_SPECS, seed=0)
    report = {spec: {"rho": round(spearman(p, s), 3), "mae_db": round((s - p.clamp(10, 50)).abs().mean().item(), 2)}
              for spec, (p, s) in pairs.items()}
    print(f"[train_quality] held-out embedded-test patches: {report}", flush=True)
    save_quality_net(net.cpu(), cfg, rec, args.out, command=command, scale=args.scale, device=dev,
                     train_patches=len(bank), extra={"val": {"set": "embedded-test", "patches": len(val),
                                                             "specs": report},
                                                     **train_set_record(args.train_set, images)})
    finish_partial(args.out)
    print(f"[train_quality] wrote {args.out / 'quality-net.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
