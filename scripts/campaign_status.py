"""Where a toolbox training stands: finished tools with their held-out figures, running tools with their progress.

    RESTORELIB_DATA=/abs/data python scripts/campaign_status.py [--out restorelib/weights/tools] [--markdown]

Reads OUT/.partial (finished tools: ``NAME.pt`` + ``NAME.json``; stopped or running ones: ``NAME.state.pt``) and
measures every finished tool at its mid-level on CBSD68 (4 patches per image, the final record's protocol), beside
its floor (``toolbox_training.TOOL_FLOORS``). Changes nothing. CAMPAIGN.md's tool table is this script's output.
"""
from __future__ import annotations

import argparse
import json

import torch

from restorelib.core.flags import add_out_flag
from restorelib.core import data
from restorelib.core.config import weights_dir
from restorelib.toolbox.tools import TOOL_NAMES, build_tool, load_state, tool_spec
from restorelib.toolbox.train_toolbox import TOOL_FLOORS, validation_pairs
from restorelib.toolbox.training import evaluate_pair


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_flag(ap, weights_dir() / "tools", "the toolbox folder whose OUT/.partial states are read "
                 "(default %(default)s)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    partial = args.out / ".partial"
    if not partial.is_dir():
        ap.error(f"--out: {partial} does not exist (no training in progress there)")
    images = data.load_set("CBSD68")
    rows = []
    for i, name in enumerate(TOOL_NAMES):
        spec = tool_spec(name)
        if (partial / f"{name}.pt").is_file() and (partial / f"{name}.json").is_file():
            rec = json.loads((partial / f"{name}.json").read_text())
            net = load_state(build_tool(spec), partial / f"{name}.pt", None).eval()
            p_in, p_out = evaluate_pair(net, *validation_pairs(spec, images, 4, 10_000 + i, mid=True))
            gain = p_out - p_in
            rows.append((name, f"finished: {rec['steps']:,} steps, {rec['seconds'] / 60:.0f} min",
                         f"{gain:+.2f}", f"{TOOL_FLOORS[name]:+.2f}", "met" if gain >= TOOL_FLOORS[name] else "missed"))
        elif (partial / f"{name}.state.pt").is_file():
            s = torch.load(partial / f"{name}.state.pt", map_location="cpu", weights_only=True)
            last = f", validation {s['log']['val_gains'][-1]:+.2f} dB" if s["log"]["val_gains"] else ""
            rows.append((name, f"training: step {s['step']:,} of {s['sched']['T_max']:,}{last}", "",
                         f"{TOOL_FLOORS[name]:+.2f}", ""))
        else:
            rows.append((name, "waiting", "", f"{TOOL_FLOORS[name]:+.2f}", ""))
    header = ("tool", "state", "mid-level gain, CBSD68 (dB)", "floor", "")
    if args.markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        print("\n".join("| " + " | ".join(r) + " |" for r in rows))
    else:
        for r in rows:
            print(f"{r[0]:8s} {r[1]:55s} {r[2]:>7s} {r[3]:>6s} {r[4]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
