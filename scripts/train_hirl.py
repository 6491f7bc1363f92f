"""Train HIRL (chapter 6): its 9 tools (3 types x 3 degrees), then its type and degree networks.

    python scripts/train_hirl.py --part tools --scale book      # -> restorelib/weights/hirl-tools (2-core CPU)
    python scripts/train_hirl.py --part agent --scale book      # -> restorelib/weights/agents-hirl/hirl
    python scripts/train_hirl.py --part agent --scale paper --out runs/hirl-paper     # ResNet18, a GPU
    python scripts/train_hirl.py --part tools --scale ci --out /tmp/hirl-tools --val-set embedded-test   # seconds

``--part tools`` trains the toolset of :mod:`restorelib.hirl_tools` with the chapter-2 code
(:func:`restorelib.toolbox_training.train_toolbox`: checkpoints, ``manifest.json`` with sha256, ``record.json``, README card;
``--resume`` continues an interrupted run). ``--part agent`` trains T and D (:func:`restorelib.hirl.train_hirl`) on
63x63 patches of the embedded training photos, each degraded by one of ``hirl-mild/moderate/severe``, with the tools
of ``--tools`` (default the shipped ``restorelib/weights/hirl-tools``), and writes ``agent.pt``, ``record.json``
(command, config, hardware, seconds, sha256, the tools' folder and manifest sha256, curves) and a README card.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restorelib import data  # noqa: E402
from restorelib.config import get_device, seed_everything  # noqa: E402
from restorelib.degradations import degrade  # noqa: E402
from restorelib.hirl import HIRL_SPECS, SCALES, train_hirl  # noqa: E402
from restorelib.hirl_restore import AGENTS_DIR, save_hirl  # noqa: E402
from restorelib.hirl_tools import HIRL_TOOLS_DIR, PAPER_ROLE, hirl_toolbox, train_hirl_tools  # noqa: E402
from restorelib.patches import patch_bank, random_patches  # noqa: E402

import torch  # noqa: E402


def validation_patches(per_spec: int = 32, seed: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean) 63x63 patches of the embedded test photos, ``per_spec`` per HIRL mixture (never trained on)."""
    g = torch.Generator().manual_seed(seed)
    imgs = [data.to_rgb(v) for v in data.load_set("embedded-test").values()]
    clean = torch.cat([random_patches(im, -(-per_spec * len(HIRL_SPECS) // len(imgs)), generator=g) for im in imgs])
    clean = clean[torch.randperm(len(clean), generator=g)[:per_spec * len(HIRL_SPECS)]]
    deg = torch.cat([degrade(c, s, g)[0] for c, s in zip(clean.split(per_spec), HIRL_SPECS)])
    return deg, clean


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("tools", "agent"), required=True)
    ap.add_argument("--scale", choices=("ci", "book", "paper"), default="book")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: restorelib/weights/hirl-tools (tools) or restorelib/weights/agents-hirl/hirl")
    ap.add_argument("--tools", type=Path, default=HIRL_TOOLS_DIR, help="the trained HIRL tools (--part agent)")
    ap.add_argument("--val-set", default="CBSD68", help="validation images of the tools (--part tools)")
    ap.add_argument("--resume", action="store_true", help="--part tools: keep the tools finished in OUT/.partial")
    ap.add_argument("--steps", type=int, default=None, help="--part agent: override the number of steps")
    ap.add_argument("--reward", default=None, help="--part agent: a reward kind of RestoreEnv (default psnr; nr = "
                    "the gain of a no-reference score, no ground truth)")
    ap.add_argument("--scorer", default=None, help="--part agent, --reward nr: a scorer of restorelib.quality "
                    "(default niqe)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    seed_everything(args.seed)
    command = " ".join(["python scripts/train_hirl.py", *(sys.argv[1:] if argv is None else argv)])
    if args.part == "tools":
        out = args.out or HIRL_TOOLS_DIR
        _, record = train_hirl_tools(args.scale, out, val_set=args.val_set, seed=args.seed, resume=args.resume,
                                     device=args.device, command=command)
        if (out / "README.md").is_file() and len(record["tools"]) == len(PAPER_ROLE):
            roles = ", ".join(f"`{k}` plays {v}" for k, v in PAPER_ROLE.items())
            with open(out / "README.md", "a") as f:
                f.write(f"\nHIRL's toolset (chapter 6, `restorelib/hirl_tools.py`): {roles}.\n")
        return 0
    out = args.out or AGENTS_DIR / "hirl"
    cfg = replace(SCALES[args.scale], seed=args.seed)
    if args.reward is not None:
        scorer = args.scorer or ("niqe" if args.reward == "nr" else None)
        cfg = replace(cfg, reward=args.reward, scorer=scorer)
    elif args.scorer is not None:
        ap.error("--scorer needs --reward nr")
    if args.steps:
        cfg = replace(cfg, steps=args.steps, eps_every=max(1, min(cfg.eps_every, args.steps // 5)))
    dev = get_device(args.device)
    toolbox = hirl_toolbox(args.tools, dev)
    bank = patch_bank(data.load_set("embedded-train"), stride=32)
    val = validation_patches(4 if args.scale == "ci" else 32)
    print(f"[train_hirl] agent: {len(bank)} training patches, tools from {args.tools}; {cfg.to_dict()}", flush=True)
    agent, rec = train_hirl(toolbox, bank, cfg, device=dev, log=print, val=val)
    save_hirl(agent, cfg, rec, out, command=command, scale=args.scale,
              device=dev, train_patches=len(bank), toolbox_dir=args.tools)
    print(f"[train_hirl] wrote {out / 'agent.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
