"""Chapter 4's paired test from the command line: agents against the best fixed chain, on the same patches.

    RESTORELIB_DATA=/abs/data python scripts/compare_agents.py --agents rl-restore runs/agent-dd
    python scripts/compare_agents.py --agents rl-restore --set embedded-test --patches-per-image 2 --json out.json

Every agent (a shipped name or a folder of ``scripts/train_agent.py``) and the fixed chain of chapter 4's search
record (``restorelib/weights/agents/search-baselines.json``, fitted on training patches) restore the same seeded
63x63 patches of ``--set``, degraded by each of the mild, moderate and severe groups, with the shipped tools. The
table gives each agent's PSNR, its paired difference with the fixed chain and two standard errors of it, its tool
calls and how many distinct chains it took; ``--json`` writes it all. This is how the campaign decides whether a
new agent is shipped (it must beat the shipped one here first).
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from restorelib.core import data
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core.checkpoints import read_json
from restorelib.core.config import get_device, weights_dir
from restorelib.core.flags import add_device_flag, add_seed_flag
from restorelib.core.metrics import paired_difference
from restorelib.core.validation import flag_int
from restorelib.evaluate import FixedChain, evaluate
from restorelib.joint.baselines import GROUPS
from restorelib.rlrestore import dqn
from restorelib.rlrestore.restore import AgentMethod, AgentRestorer
from restorelib.toolbox.tools import Toolbox


def fixed_chain() -> list[str]:
    """The best fixed chain of chapter 4's shipped search record (fitted on its training patches)."""
    return read_json(weights_dir() / "agents" / "search-baselines.json")["fixed_chain"]["chain"]


def compare(agents: dict[str, AgentMethod], fixed: FixedChain, images: dict, per_image: int, seed: int,
            device) -> dict:
    """{group: {"fixed": psnr, name: {"psnr", "diff", "se", "calls", "chains"}}} on the same patches."""
    out = {}
    for g in GROUPS:
        base = evaluate(fixed, images, g, patch=63, patches_per_image=per_image, seed=seed, device=device)
        row = {"input": base["psnr_in"], "fixed": base["psnr_out"], "patches": base["images"]}
        for name, method in agents.items():
            r = evaluate(method, images, g, patch=63, patches_per_image=per_image, seed=seed, device=device)
            d = paired_difference(r, base)
            chains = collections.Counter(" -> ".join(p["chain"]) or "stop" for p in r["per_image"])
            row[name] = {"psnr": r["psnr_out"], "diff": d["mean"], "se": d["se"], "calls": r["tool_calls"],
                         "chains": len(chains), "top_chain": chains.most_common(1)[0]}
        out[g] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", nargs="+", required=True, help="agent names or folders")
    ap.add_argument("--set", default="CBSD68", help="test set name (default CBSD68)")
    ap.add_argument("--patches-per-image", type=flag_int, default=8, help="seeded 63x63 patches per image (default 8)")
    ap.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the comparison as JSON to OUT")
    add_seed_flag(ap)
    add_device_flag(ap)
    args = ap.parse_args(argv)
    if args.patches_per_image < 1:
        ap.error(f"--patches-per-image must be a positive int, got {args.patches_per_image}")
    if args.json is not None:
        exit_unless_writable(ap, "--json", args.json)
    dev = get_device(args.device)
    toolbox = Toolbox.load(device=dev)
    agents = {}
    for name in args.agents:
        try:
            net, cfg = dqn.load_agent(name)
        except (FileNotFoundError, ValueError) as e:
            ap.error(f"--agents: {e}")
        agents[name] = AgentMethod(AgentRestorer(net.to(dev), cfg, toolbox), name=Path(name).name)
    try:
        images = data.load_set(args.set)
    except (KeyError, ValueError, FileNotFoundError, data.DownloadError) as e:
        ap.error(f"--set: {e}")
    chain = fixed_chain()
    table = compare(agents, FixedChain(chain, toolbox), images, args.patches_per_image, args.seed, dev)
    print(f"{args.set}, {args.patches_per_image} patches per image; fixed chain {' -> '.join(chain)}")
    for g, row in table.items():
        print(f"  {g}: input {row['input']:.2f}, fixed chain {row['fixed']:.2f} dB ({row['patches']} patches)")
        for name in agents:
            r = row[name]
            print(f"    {name:<28} {r['psnr']:.2f} dB, {r['diff']:+.3f} +- {2 * r['se']:.3f} vs fixed, "
                  f"{r['calls']:.2f} calls, {r['chains']} chains (most: {r['top_chain'][0]}, {r['top_chain'][1]})")
    if args.json is not None:
        result = {"set": args.set, "patches_per_image": args.patches_per_image, "seed": args.seed,
                  "fixed_chain": chain, "groups": table, "command": " ".join(["python scripts/compare_agents.py",
                                                                            *(sys.argv[1:] if argv is None else argv)])}
        write_text(args.json, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
