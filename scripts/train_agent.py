"""Train RL-Restore's DQN agent on the shipped toolbox and write the checkpoint + a record beside it.

    python scripts/train_agent.py --steps 200000 --out runs/agent           # CPU exploration
    python scripts/train_agent.py --scale paper --out runs/agent-paper      # the paper's 2M steps, on a GPU

Training patches: 63x63 crops of the embedded training photos at three scales, degraded on the fly by the
moderate group. The record (command, config, seconds, learning curve) is written to OUT/record.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restorelib import data, dqn  # noqa: E402
from restorelib.config import get_device, seed_everything  # noqa: E402
from restorelib.patches import patch_bank  # noqa: E402
from restorelib.tools import Toolbox, save_state  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=("book", "paper"), default="book")
    ap.add_argument("--steps", type=int, default=None, help="override the number of environment steps")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    cfg = dqn.DQNConfig(seed=args.seed)                       # paper defaults
    if args.scale == "book":                                  # shorter schedule for a 2-core CPU
        cfg = replace(cfg, steps=200_000, memory=20_000, learn_start=2_000, target_every=2_500, eps_decay=100_000)
    if args.steps:
        cfg = replace(cfg, steps=args.steps, eps_decay=min(cfg.eps_decay, args.steps // 2))
    seed_everything(args.seed)
    dev = get_device(args.device)
    bank = patch_bank(data.load_set("embedded-train"), stride=32)
    args.out.mkdir(parents=True, exist_ok=True)
    net, rec = dqn.train_dqn(Toolbox.load(device=dev), bank, cfg, device=dev, log_every=max(1, cfg.steps // 50),
                             log=print)
    digest = save_state(net, args.out / "agent.pt")
    record = {"command": " ".join(["python scripts/train_agent.py", *(sys.argv[1:] if argv is None else argv)]),
              "config": cfg.to_dict(), "device": str(dev), "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d"), "seconds": round(rec.seconds, 1), "sha256": digest,
              "curve": {"steps": rec.steps, "return_db": rec.returns, "loss": rec.losses, "eps": rec.eps}}
    (args.out / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"[train_agent] wrote {args.out / 'agent.pt'} and record.json ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
