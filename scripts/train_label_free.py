"""Train chapter 8's label-free agent: policy optimisation over the tools with a no-reference reward, no ground truth.

    python scripts/train_label_free.py --scale book                       # -> restorelib/weights/agents-label-free/label-free
    python scripts/train_label_free.py --scale book --scorer niqe --out runs/lf-niqe
    python scripts/train_label_free.py --scale ci --out /tmp/lf           # seconds (scorer neg-sigma)
    RESTORELIB_DATA=/abs/data python scripts/train_label_free.py --scale book --train-set CBSD398 --resume

The reward is the stepwise gain of ``--scorer`` (a name of ``restorelib.core.quality.scorer_names()``; the book's default
``quality-net`` needs ``scripts/train_quality.py`` first) minus ``--tool-cost`` per tool call. Training patches are
fresh 63x63 crops of the photos of ``--train-set`` (default the embedded training photos, at three scales) degraded
by ``--spec``; the clean crops make the inputs and never enter the reward. The whole run is saved into OUT/.partial
every ``--checkpoint-every`` seconds; ``--resume`` continues a stopped run from there (without it a stopped run's
state is refused, exit 2). OUT receives ``agent.pt``, ``record.json`` (command, config, hardware, seconds, sha256,
training sets, curves with the batch PSNR as a diagnostic) and a ``README.md`` card. See :mod:`restorelib.labelfree.policy`.
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.validation import flag_float, flag_int
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.core.config import get_device, seed_everything
from restorelib.labelfree.policy import AGENTS_DIR, SCALES, save_label_free, train_label_free
from restorelib.core.quality import scorer_names
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state
from restorelib.toolbox.tools import Toolbox


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=SCALES, out_help="the agent's folder (default "
                     "restorelib/weights/agents-label-free/label-free)")
    ap.add_argument("--scorer", default=None, help=f"no-reference scorer, one of {scorer_names()}")
    ap.add_argument("--tool-cost", type=flag_float, default=None, help="reward cost per tool call (scorer units)")
    ap.add_argument("--baseline", choices=("group", "value"), default=None)
    ap.add_argument("--spec", default=None, help="degradation of the training patches (default moderate)")
    ap.add_argument("--iters", type=flag_int, default=None, help="override the number of iterations")
    add_train_set_flag(ap, "63x63 training patches")
    args = ap.parse_args(argv)
    if args.scorer is not None and args.scorer not in scorer_names():
        ap.error(f"--scorer must be one of {scorer_names()}, got {args.scorer!r}")
    if args.iters is not None and args.iters < 1:
        ap.error(f"--iters must be a positive int, got {args.iters}")
    over = {k: v for k, v in (("scorer", args.scorer), ("tool_cost", args.tool_cost), ("baseline", args.baseline),
                              ("spec", args.spec), ("iters", args.iters)) if v is not None}
    try:
        cfg = replace(SCALES[args.scale], seed=args.seed, **over)
    except ValueError as e:
        ap.error(str(e))
    out = args.out or AGENTS_DIR / "label-free"
    state = partial_state(ap, args, out, "agent.state.pt")
    seed_everything(args.seed)
    dev = get_device(args.device)
    toolbox = Toolbox.load(device=dev)
    images, bank = train_sampler(ap, args.train_set, 63)
    command = " ".join(["python scripts/train_label_free.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_label_free] {len(bank):,} crop positions in {len(images)} images; {cfg.to_dict()}", flush=True)
    try:
        net, rec = train_label_free(toolbox, bank, cfg, device=dev, log=functools.partial(print, flush=True),
                                    checkpoint=state, checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    save_label_free(net, cfg, rec, out, command=command, scale=args.scale, device=dev, train_patches=len(bank),
                    extra=train_set_record(args.train_set, images))
    finish_partial(out)
    print(f"[train_label_free] wrote {out / 'agent.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
