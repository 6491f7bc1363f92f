"""Train a PixelRL agent (chapter 7) and write the checkpoint + a record beside it.

    python scripts/train_pixelrl.py --scale book --task noise:25                # a 2-core CPU, ~45 min (estimate)
    python scripts/train_pixelrl.py --scale book --task saltpepper:0.5 --no-rmc  # one cell of the ablation
    python scripts/train_pixelrl.py --scale paper --task text --stepwise        # the paper's schedule, on a GPU
    python scripts/train_pixelrl.py --scale book --task noise:15 --actions basic  # a row of Table 8's action study

Tasks: ``noise:SIGMA`` (Gaussian denoising), ``saltpepper:DENSITY``, ``text`` (blind inpainting of random text), or
any spec of ``restorelib.core.degradations``. The ablation of the paper's Tables 2-4 is ``--no-gru --no-rmc`` (plain
FCN), ``--no-rmc`` (+convGRU) and the default (+convGRU +RMC); ``--stepwise`` trains the first half without RMC.
``--actions`` restricts the agents to an action set of the supplementary Table 8 (``basic``: box, median, Gaussian
1.5, do nothing; ``bilateral``: + bilateral 1.0; ``pixel``: + pixel value +-1; ``all``: the nine).

Training patches: fresh grayscale crops of the photos of TRAIN_SET (one or more sets; default the embedded training
photos); the agent is then tested greedily on centre crops of TEST_SET degraded with a fixed seed. The whole run is
saved into OUT/.partial every ``--checkpoint-every`` seconds (and after the supervised start); ``--resume`` continues a
stopped run from there (without it a stopped run's state is refused, exit 2). OUT receives ``pixelrl.pt``,
``record.json`` (command, config, hardware, seconds, sha256, training sets, learning curves, test PSNR) and a
``README.md`` model card; the default OUT is ``restorelib/weights/pixelrl/<task>-<network>``, e.g.
``.../pixelrl/noise25-gru-rmc``.
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace

import torch

from restorelib.core.flags import add_common_flags, add_test_flags, add_train_set_flag, check_test_flags
from restorelib.core.validation import flag_int
from restorelib.core import data
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.core.config import get_device, seed_everything, weights_dir
from restorelib.core.metrics import psnr
from restorelib.pixelrl.actions import ACTION_SETS
from restorelib.pixelrl.baselines import TEST_SEED, degraded_pairs
from restorelib.pixelrl.a2c import (
    SCALES, PixelRLConfig, PixelRLNet, make_task, pixelrl_restore, save_pixelrl, train_pixelrl)
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state


def run_name(task: str, cfg: PixelRLConfig) -> str:
    """The folder name of a run, e.g. ``noise25-gru-rmc``, ``saltpepper0.5-fcn`` or ``noise15-gru-rmc-basic``."""
    net = "-".join(["gru"] * cfg.gru + [("stepwise-" if cfg.rmc_start else "") + "rmc"] * cfg.rmc) or "fcn"
    actions = "" if cfg.action_set == "all" else f"-{cfg.action_set}"
    return f"{task.replace(':', '').replace('/', '-')}-{net}{actions}"


@torch.no_grad()
def evaluate(net: PixelRLNet, images: dict[str, torch.Tensor], task: str, t_max: int, size: int,
             device: torch.device) -> dict:
    """Greedy restoration of centre crops (``size``, 0 = whole images) degraded with a fixed seed: PSNR in / out."""
    rows = {}
    for name, (clean, degraded) in degraded_pairs(images, task, size).items():
        restored, _ = pixelrl_restore(net, degraded.to(device), t_max=t_max)
        rows[name] = {"psnr_in": round(psnr(degraded, clean).item(), 3),
                      "psnr_out": round(psnr(restored.cpu(), clean).item(), 3)}
    mean = {k: round(sum(r[k] for r in rows.values()) / len(rows), 3) for k in ("psnr_in", "psnr_out")}
    return {"images": rows, "mean": mean, "crop": size, "seed": TEST_SEED}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=SCALES, out_help="the run's folder (default restorelib/weights/pixelrl/TASK-NETWORK)")
    ap.add_argument("--task", default="noise:25", help="noise:SIGMA, saltpepper:DENSITY, text, or a degradation spec")
    ap.add_argument("--episodes", type=flag_int, default=None, help="override the number of training episodes")
    ap.add_argument("--no-gru", action="store_true", help="no convGRU on the policy branch")
    ap.add_argument("--no-rmc", action="store_true", help="no reward-map convolution")
    ap.add_argument("--stepwise", action="store_true", help="first half of the episodes without RMC, then with it")
    ap.add_argument("--actions", default="all", choices=sorted(ACTION_SETS),
                    help="the action set (the paper's Table 8): basic filters, + bilateral 1.0, + pixel +-1, or all "
                         "nine (default)")
    add_train_set_flag(ap, help="sets whose photos give the training crops, made gray (default embedded-train)")
    add_test_flags(ap, eval_size=128, what="test images")
    args = ap.parse_args(argv)
    if args.episodes is not None and args.episodes < 1:
        ap.error(f"--episodes must be a positive int, got {args.episodes}")
    check_test_flags(ap, args)
    if args.stepwise and args.no_rmc:
        ap.error("--stepwise switches RMC on half-way; it cannot be combined with --no-rmc")
    try:
        make_task(args.task)
        cfg = replace(SCALES[args.scale], seed=args.seed, gru=not args.no_gru, rmc=not args.no_rmc,
                      rmc_start=0.5 if args.stepwise else 0.0, episodes=args.episodes or SCALES[args.scale].episodes,
                      action_set=args.actions)
    except ValueError as e:
        ap.error(str(e))
    out = args.out or weights_dir() / "pixelrl" / run_name(args.task, cfg)
    state = partial_state(ap, args, out, "pixelrl.state.pt")
    seed_everything(args.seed)
    dev = get_device(args.device)
    train_images, bank = train_sampler(ap, args.train_set, cfg.crop, scales=(1.0,))
    command = " ".join(["python scripts/train_pixelrl.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_pixelrl] {out.name}: {len(bank):,} crop positions in {len(train_images)} images, {cfg.to_dict()}",
          flush=True)
    try:
        net, rec = train_pixelrl(bank, args.task, cfg, device=dev, log=functools.partial(print, flush=True),
                                 checkpoint=state, checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    test_images = data.load_set(args.test_set, limit=args.eval_images)
    evaluation = evaluate(net, test_images, args.task, cfg.t_max, args.eval_size, dev)
    save_pixelrl(net, cfg, rec, out, command=command, scale=args.scale, task=args.task, device=dev,
                 train_patches=len(bank), evaluation={"set": args.test_set, "limit": args.eval_images, **evaluation},
                 extra=train_set_record(args.train_set, train_images))
    finish_partial(out)
    print(f"[train_pixelrl] test PSNR {evaluation['mean']['psnr_in']:.2f} -> {evaluation['mean']['psnr_out']:.2f} dB; "
          f"wrote {out / 'pixelrl.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
