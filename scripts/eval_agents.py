"""Evaluate trained agents on a test set and write the results into their record.json and README.md card.

    RESTORELIB_DATA=/abs/data python scripts/eval_agents.py                  # every shipped agent, CBSD68
    python scripts/eval_agents.py --agents runs/agent --set embedded-test    # one folder

The protocol is chapter 4's: one seeded random 63x63 patch per image, degraded by each of the mild, moderate and
severe groups, restored by the agent alone (no ground truth).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from restorelib.core.flags import add_device_flag, add_seed_flag
from restorelib.core.checkpoints import RECORD, read_json
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core import data
from restorelib.rlrestore import dqn
from restorelib.joint.baselines import GROUPS
from restorelib.core.config import get_device, weights_dir
from restorelib.evaluate import evaluate
from restorelib.rlrestore.restore import AgentMethod, AgentRestorer
from restorelib.toolbox.tools import Toolbox


#: Which tools the agents ran with (records of the first toolbox's tests say so in the same field).
SHIPPED_TOOLS = "the shipped toolbox (restorelib/weights/tools, trained on CBSD398)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", nargs="*", default=None, help="agent names or folders (default: all shipped)")
    ap.add_argument("--set", default="CBSD68", help="test set name (default CBSD68)")
    add_seed_flag(ap)
    add_device_flag(ap)
    ap.add_argument("--summary", type=Path, default=None, metavar="JSON",
                    help="also write one JSON with every evaluated agent's command, config, time, validation and test "
                         "(e.g. to keep the record of variants whose weights are not shipped)")
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--summary", args.summary, overwrite=True)    # before the work: exit 2, one line
    if args.summary is not None and args.summary.exists():
        ap.error(f"--summary: {str(args.summary)!r} exists; remove it first")
    names = args.agents if args.agents is not None else dqn.shipped_agents()
    if not names:
        ap.error("no agent to evaluate: none is shipped and --agents is empty")
    folders = [Path(n) if Path(n).is_dir() else weights_dir() / "agents" / n for n in names]
    for f in folders:
        if not (f / RECORD).is_file():
            ap.error(f"--agents: {str(f)!r} holds no record.json")
    dev = get_device(args.device)
    images = data.load_set(args.set)
    toolbox = Toolbox.load(device=dev)
    command = " ".join(["python scripts/eval_agents.py", *(sys.argv[1:] if argv is None else argv)])
    summary = {}
    for folder in folders:
        net, cfg = dqn.load_agent(folder, dev)
        method = AgentMethod(AgentRestorer(net, cfg, toolbox), name=folder.name)
        groups = {}
        for g in GROUPS:
            r = evaluate(method, images, g, patch=63, seed=args.seed, device=dev)
            groups[g] = {k: round(r[k], 4) for k in ("psnr_in", "psnr_out", "ssim_in", "ssim_out", "tool_calls")}
        record = read_json(folder / RECORD)
        record["test"] = {"command": command, "set": args.set, "images": len(images), "seed": args.seed,
                          "groups": groups, "tools": SHIPPED_TOOLS}
        write_text(folder / RECORD, json.dumps(record, indent=2) + "\n", overwrite=True)
        dqn.write_card(folder)
        summary[folder.name] = {k: record[k] for k in ("command", "config", "seconds", "train_patches", "train_sets",
                                                       "validation", "init_from", "test") if k in record}
        print(f"{folder.name:22s} " + "  ".join(f"{g} {v['psnr_in']:.2f}->{v['psnr_out']:.2f} ({v['tool_calls']:.2f} tools)"
                                           for g, v in groups.items()), flush=True)
    if args.summary is not None:
        write_text(args.summary, json.dumps(summary, indent=2) + "\n")    # refused if it appeared meanwhile
        print(f"wrote {args.summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
