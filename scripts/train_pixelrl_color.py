"""Train one model of chapter 7's colour-enhancement table (the paper's Table 6) and write it + a record.

    python scripts/train_pixelrl_color.py --scale book --style watercolor                   # PixelRL +convGRU +RMC
    python scripts/train_pixelrl_color.py --scale book --style watercolor --no-rmc          # PixelRL +convGRU
    python scripts/train_pixelrl_color.py --scale book --style watercolor --agent global    # one action per image
    python scripts/train_pixelrl_color.py --scale book --style watercolor --agent cnn       # supervised, same layers
    python scripts/train_pixelrl_color.py --scale paper --data Yan2016 --style xpro         # the paper's set

Data: ``--data styled`` (default) pairs the colour photos of TRAIN_SET (default the embedded training photos; add
CBSD398 with RESTORELIB_DATA) with their ``popout`` or ``watercolor`` target (restorelib.pixelrl.color_data), and tests
on TEST_SET; ``--data Yan2016`` reads the paper's set from $RESTORELIB_DATA/Yan2016 (styles foregroundpopout, xpro,
watercolor; checked before any work). The agents save their whole run into OUT/.partial every
``--checkpoint-every`` seconds; ``--resume`` continues a stopped run (without it a stopped run's state is refused,
exit 2). OUT (default ``restorelib/weights/pixelrl-color/<style>-<agent>``) receives ``model.pt`` and ``record.json``
(command, config, seconds, sha256, curves, the test's mean CIELab error of the input and of the output).
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace

import torch

from restorelib.core.flags import add_common_flags, add_test_flags, add_train_set_flag, check_test_flags
from restorelib.core.validation import flag_int
from restorelib.core.config import get_device, seed_everything
from restorelib.pixelrl.a2c import train_pixelrl
from restorelib.pixelrl.color import COLOR_SCALES, color_env
from restorelib.pixelrl.color_data import (
    STYLES, YAN_NAME, YAN_STYLES, PairSampler, centre_pairs, check_yan2016, styled_pairs, yan2016_pairs)
from restorelib.pixelrl.color_method import color_folder, color_table, enhancer, save_color_model, train_color_cnn
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state


def _pairs(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[dict, dict]:
    """(training pairs, test pairs); a set that cannot be read exits with status 2 naming its flag."""
    try:
        if args.data == YAN_NAME:
            check_yan2016(args.style)
            return yan2016_pairs("train", args.style), yan2016_pairs("test", args.style, args.eval_images)
        train = {f"{s}/{k}": v for s in args.train_set for k, v in styled_pairs(s, args.style).items()}
        return train, styled_pairs(args.test_set, args.style, args.eval_images)
    except (ValueError, FileNotFoundError, KeyError) as e:
        ap.error(f"--data {args.data}: {e}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=COLOR_SCALES, out_help="the run's folder (default "
                     "restorelib/weights/pixelrl-color/STYLE-AGENT)")
    ap.add_argument("--data", choices=("styled", YAN_NAME), default="styled")
    ap.add_argument("--style", default="watercolor", help=f"styled: {', '.join(STYLES)}; {YAN_NAME}: "
                    f"{', '.join(YAN_STYLES)}")
    ap.add_argument("--agent", choices=("pixelrl", "global", "cnn"), default="pixelrl")
    ap.add_argument("--no-rmc", action="store_true", help="PixelRL without the reward-map convolution")
    ap.add_argument("--episodes", type=flag_int, default=None, help="override the episodes (the CNN's steps)")
    add_train_set_flag(ap, help="sets whose photos are styled into the training pairs, with --data styled "
                       "(default embedded-train)")
    add_test_flags(ap, eval_size=0, what="test photos")
    args = ap.parse_args(argv)
    styles = YAN_STYLES if args.data == YAN_NAME else STYLES
    if args.style not in styles:
        ap.error(f"--style must be one of {list(styles)} with --data {args.data}, got {args.style!r}")
    if args.episodes is not None and args.episodes < 1:
        ap.error(f"--episodes must be a positive int, got {args.episodes}")
    check_test_flags(ap, args)
    if args.no_rmc and args.agent != "pixelrl":
        ap.error(f"--no-rmc applies to --agent pixelrl only, got --agent {args.agent}")
    base = COLOR_SCALES[args.scale]
    cfg = replace(base, seed=args.seed, episodes=args.episodes or base.episodes,
                  rmc=args.agent == "pixelrl" and not args.no_rmc)
    out = args.out or color_folder(args.style, args.agent, cfg.rmc)
    state = partial_state(ap, args, out, "color.state.pt")
    train, test = _pairs(ap, args)
    seed_everything(args.seed)
    dev = get_device(args.device)
    sampler = PairSampler(train, cfg.crop)
    command = " ".join(["python scripts/train_pixelrl_color.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_pixelrl_color] {out.name}: {len(sampler):,} crop positions in {len(train)} pairs, {cfg.to_dict()}",
          flush=True)
    log = functools.partial(print, flush=True)
    if args.agent == "cnn":
        model, rec = train_color_cnn(sampler, cfg, dev, log)
    else:
        try:
            model, rec = train_pixelrl(sampler, color_env(args.style, args.agent == "global"), cfg, device=dev,
                                       log=log, checkpoint=state, checkpoint_every=args.checkpoint_every)
        except ConfigMismatch as e:
            ap.error(f"--resume: {e}")
    table = color_table(centre_pairs(test, args.eval_size), {"output": enhancer(model, cfg.t_max)})
    evaluation = {"set": YAN_NAME if args.data == YAN_NAME else args.test_set, "crop": args.eval_size,
                  "images": table["images"], "error_in": round(table["rows"]["Original"], 4),
                  "error_out": round(table["rows"]["output"], 4),
                  "per_image": {k: round(v, 4) for k, v in table["per_image"]["output"].items()}}
    save_color_model(model, args.agent, cfg, rec, out, command, args.scale, args.style, dev,
                     extra={"evaluation": evaluation, "train_pairs": sorted(train), "data": args.data})
    finish_partial(out)
    print(f"[train_pixelrl_color] test CIELab error {evaluation['error_in']:.3f} -> {evaluation['error_out']:.3f}; "
          f"wrote {out / 'model.pt'} and record.json ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
