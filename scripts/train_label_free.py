"""Train chapter 8's label-free agent: policy optimisation over the tools with a no-reference reward, no ground truth.

    python scripts/train_label_free.py --scale book                       # -> restorelib/weights/agents-label-free/label-free
    python scripts/train_label_free.py --scale book --scorer niqe --out runs/lf-niqe
    python scripts/train_label_free.py --scale ci --out /tmp/lf           # seconds (scorer neg-sigma)

The reward is the stepwise gain of ``--scorer`` (a name of ``restorelib.quality.scorer_names()``; the book's default
``quality-net`` needs ``scripts/train_quality.py`` first) minus ``--tool-cost`` per tool call. Training patches are
63x63 crops of the embedded training photos degraded by ``--spec``; the clean crops make the inputs and never enter
the reward. OUT receives ``agent.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curves with the
batch PSNR as a diagnostic) and a ``README.md`` card. See :mod:`restorelib.label_free`.
"""
from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restorelib import data  # noqa: E402
from restorelib.config import get_device, seed_everything  # noqa: E402
from restorelib.label_free import AGENTS_DIR, SCALES, save_label_free, train_label_free  # noqa: E402
from restorelib.patches import patch_bank  # noqa: E402
from restorelib.quality import scorer_names  # noqa: E402
from restorelib.tools import Toolbox  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=sorted(SCALES), default="book")
    ap.add_argument("--scorer", default=None, help=f"no-reference scorer, one of {scorer_names()}")
    ap.add_argument("--tool-cost", type=float, default=None, help="reward cost per tool call (scorer units)")
    ap.add_argument("--baseline", choices=("group", "value"), default=None)
    ap.add_argument("--spec", default=None, help="degradation of the training patches (default moderate)")
    ap.add_argument("--iters", type=int, default=None, help="override the number of iterations")
    ap.add_argument("--out", type=Path, default=None, help="default restorelib/weights/agents-label-free/label-free")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
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
    seed_everything(args.seed)
    dev = get_device(args.device)
    toolbox = Toolbox.load(device=dev)
    bank = patch_bank(data.load_set("embedded-train"), stride=32 if args.scale != "ci" else 96)
    command = " ".join(["python scripts/train_label_free.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_label_free] {len(bank)} training patches; {cfg.to_dict()}", flush=True)
    net, rec = train_label_free(toolbox, bank, cfg, device=dev, log=functools.partial(print, flush=True))
    save_label_free(net, cfg, rec, out, command=command, scale=args.scale, device=dev, train_patches=len(bank))
    print(f"[train_label_free] wrote {out / 'agent.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
