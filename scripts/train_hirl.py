"""Train HIRL (chapter 6): its 9 tools (3 types x 3 degrees), then its type and degree networks.

    python scripts/train_hirl.py --part tools --scale book      # -> restorelib/weights/hirl-tools (2-core CPU)
    python scripts/train_hirl.py --part agent --scale book      # -> restorelib/weights/agents-hirl/hirl
    python scripts/train_hirl.py --part agent --scale paper --out runs/hirl-paper     # ResNet18, a GPU
    python scripts/train_hirl.py --part tools --scale ci --out /tmp/hirl-tools --val-set embedded-test   # seconds

    RESTORELIB_DATA=/abs/data python scripts/train_hirl.py --part tools --scale book --train-set CBSD398 \\
        --curve-set LIVE1 --resume --only denoise-15 dejpeg-30      # part of the tools, in a second process
    RESTORELIB_DATA=/abs/data python scripts/train_hirl.py --part agent --scale book --train-set CBSD398 --resume

``--part tools`` trains the toolset of :mod:`restorelib.hirl.tools` with the chapter-2 code
(:func:`restorelib.toolbox.train_toolbox.train_toolbox`: fresh crops of ``--train-set``, a validation curve on
``--curve-set``, ``--steps`` per tool, ``--only`` some tools, every tool's state in OUT/.partial every
``--checkpoint-every`` seconds, ``manifest.json`` with sha256, ``record.json``, README card; ``--resume`` continues an
interrupted run, without it the run starts over; a toolbox in which a tool did not learn is refused, exit 1).
``--part agent`` trains T and D (:func:`restorelib.hirl.hirl.train_hirl`) on fresh 63x63 crops of the photos of
``--train-set`` (default the embedded training photos, at three scales), each degraded by one of
``hirl-mild/moderate/severe``, with the tools of ``--tools`` (default the shipped ``restorelib/weights/hirl-tools``);
its whole run is saved into OUT/.partial every ``--checkpoint-every`` seconds and ``--resume`` continues it (without
it a stopped run's state is refused, exit 2). It writes ``agent.pt``, ``record.json`` (command, config, hardware,
seconds, sha256, the tools' folder and manifest sha256, training sets, curves) and a README card.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.validation import flag_int
from restorelib.core import data
from restorelib.core.atomic import write_text
from restorelib.rlrestore.nets import PATCH
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.core.config import get_device, seed_everything
from restorelib.core.degradations import degrade
from restorelib.hirl.hirl import HIRL_SPECS, SCALES, train_hirl
from restorelib.hirl.restore import AGENTS_DIR, save_hirl
from restorelib.hirl.tools import HIRL_TOOL_NAMES, HIRL_TOOLS_DIR, PAPER_ROLE, hirl_toolbox, train_hirl_tools
from restorelib.core.patches import random_patches
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state
from restorelib.toolbox.train_toolbox import ToolDidNotLearn

import torch

SET_NAMES = ("embedded", "embedded-train", "embedded-test")


def validation_patches(per_spec: int = 32, seed: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean) 63x63 patches of the embedded test photos, ``per_spec`` per HIRL mixture (never trained on)."""
    g = torch.Generator().manual_seed(seed)
    imgs = [data.to_rgb(v) for v in data.load_set("embedded-test").values()]
    clean = torch.cat([random_patches(im, -(-per_spec * len(HIRL_SPECS) // len(imgs)), generator=g) for im in imgs])
    clean = clean[torch.randperm(len(clean), generator=g)[:per_spec * len(HIRL_SPECS)]]
    deg = torch.cat([degrade(c, s, g)[0] for c, s in zip(clean.split(per_spec), HIRL_SPECS)])
    return deg, clean


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("tools", "agent"), required=True)
    add_common_flags(ap, scales=("ci", "book", "paper"), out_help="default: restorelib/weights/hirl-tools (tools) "
                     "or restorelib/weights/agents-hirl/hirl")
    ap.add_argument("--tools", type=Path, default=HIRL_TOOLS_DIR, help="the trained HIRL tools (--part agent)")
    add_train_set_flag(ap, "training crops (both parts)")
    ap.add_argument("--val-set", default="CBSD68", help="validation images of the tools (--part tools)")
    ap.add_argument("--curve-set", default=None, help="--part tools: a held-out set for each tool's validation "
                    "curve (e.g. LIVE1)")
    ap.add_argument("--only", nargs="+", default=None, metavar="TOOL", help="--part tools: train only these tools")
    ap.add_argument("--steps", type=flag_int, default=None, help="override the number of steps (--part agent) or the "
                    "steps per tool (--part tools)")
    ap.add_argument("--reward", default=None, help="--part agent: a reward kind of RestoreEnv (default psnr; nr = "
                    "the gain of a no-reference score, no ground truth)")
    ap.add_argument("--scorer", default=None, help="--part agent, --reward nr: a scorer of restorelib.core.quality "
                    "(default niqe)")
    return ap


def train_tools_part(ap: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> int:
    """``--part tools``: the toolbox trainer with HIRL's nine tools (arguments checked first, exit 2)."""
    known = set(SET_NAMES) | set(data.dataset_names())
    for name in [*args.train_set, args.val_set, *([args.curve_set] if args.curve_set else [])]:
        if name not in known:
            ap.error(f"set {name!r} is not one of {sorted(known)}")
    if args.only and (bad := sorted(set(args.only) - set(HIRL_TOOL_NAMES))):
        ap.error(f"--only: {bad} are not HIRL tool names ({', '.join(HIRL_TOOL_NAMES)})")
    if not args.checkpoint_every > 0:
        ap.error(f"--checkpoint-every must be a positive number of seconds, got {args.checkpoint_every}")
    out = args.out or HIRL_TOOLS_DIR
    train_set = args.train_set[0] if len(args.train_set) == 1 else args.train_set
    try:
        _, record = train_hirl_tools(args.scale, out, train_set=train_set, val_set=args.val_set,
                                     curve_set=args.curve_set, seed=args.seed, resume=args.resume, only=args.only,
                                     steps=args.steps, device=args.device, command=command,
                                     checkpoint_every=args.checkpoint_every)
    except ValueError as e:
        ap.error(str(e))
    except ToolDidNotLearn as e:
        print(f"train_hirl.py: {e}", file=sys.stderr)
        return 1
    if (out / "README.md").is_file() and len(record["tools"]) == len(PAPER_ROLE):
        roles = ", ".join(f"`{k}` plays {v}" for k, v in PAPER_ROLE.items())
        card = out / "README.md"                                    # appended by an atomic rewrite
        write_text(card, card.read_text() + f"\nHIRL's toolset (chapter 6, `restorelib/hirl/tools.py`): {roles}.\n",
                   overwrite=True)
    return 0


def train_agent_part(ap: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> int:
    """``--part agent``: T and D on fresh crops of the training sets, resumable."""
    for flag, v in (("--only", args.only), ("--curve-set", args.curve_set)):
        if v:
            ap.error(f"{flag} is for --part tools")
    out = args.out or AGENTS_DIR / "hirl"
    cfg = replace(SCALES[args.scale], seed=args.seed)
    if args.reward is not None:
        scorer = args.scorer or ("niqe" if args.reward == "nr" else None)
        cfg = replace(cfg, reward=args.reward, scorer=scorer)
    elif args.scorer is not None:
        ap.error("--scorer needs --reward nr")
    if args.steps:
        cfg = replace(cfg, steps=args.steps, eps_every=max(1, min(cfg.eps_every, args.steps // 5)))
    state = partial_state(ap, args, out, "agent.state.pt")
    dev = get_device(args.device)
    toolbox = hirl_toolbox(args.tools, dev)
    images, bank = train_sampler(ap, args.train_set, PATCH)
    val = validation_patches(4 if args.scale == "ci" else 32)
    print(f"[train_hirl] agent: {len(bank):,} crop positions in {len(images)} images, tools from {args.tools}; "
          f"{cfg.to_dict()}", flush=True)
    try:
        agent, rec = train_hirl(toolbox, bank, cfg, device=dev, log=print, val=val, checkpoint=state,
                                checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    save_hirl(agent, cfg, rec, out, command=command, scale=args.scale, device=dev, train_patches=len(bank),
              toolbox_dir=args.tools, extra=train_set_record(args.train_set, images))
    finish_partial(out)
    print(f"[train_hirl] wrote {out / 'agent.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    seed_everything(args.seed)
    command = " ".join(["python scripts/train_hirl.py", *(sys.argv[1:] if argv is None else argv)])
    return (train_tools_part if args.part == "tools" else train_agent_part)(ap, args, command)


if __name__ == "__main__":
    raise SystemExit(main())
