"""Throughput of a tool's training step, before and after chapter 2's speed-ups, per network (3- and 8-layer).

    python scripts/bench_tools.py --json restorelib/weights/tools/throughput.json [--steps 30] [--rounds 3]

Each configuration runs whole training steps of ``training.train_tool`` (batch drawn and degraded, forward,
backward, Adam), on one torch thread, batch 32, on CBSD398 crops (or the embedded photos without
$RESTORELIB_DATA), and divides by the CPU time of the process (steps per CPU second), which other processes on the
machine change much less than the wall-clock time. The configurations are interleaved round by round and the median
is kept.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from restorelib.core.flags import add_force_flag
from restorelib.core.validation import flag_int
from restorelib.core import data
from restorelib.core.atomic import write_text
from restorelib.core.config import hardware
from restorelib.core.patches import CropSampler
from restorelib.core.resume import amp_active
from restorelib.toolbox.tools import build_tool, tool_spec
from restorelib.toolbox.training import train_tool

CONFIGS = {  # name: (crop, bf16 autocast + channels-last)
    "fp32, 63x63 (first toolbox)": (63, False),
    "fp32, 40x40": (40, False),
    "bf16 + channels-last, 63x63": (63, True),
    "bf16 + channels-last, 40x40 (campaign)": (40, True),
}


def steps_per_second(tool: str, sampler: CropSampler, amp: bool, steps: int) -> float:
    net = build_tool(tool_spec(tool))
    t0 = time.process_time()            # CPU seconds of this one-thread process: far less sensitive to other load
    train_tool(net, tool_spec(tool), sampler, steps=steps, batch=32, lr=3e-4, robust_p=0.5, amp=amp,
               generator=torch.Generator().manual_seed(0), log_every=steps)
    return steps / (time.process_time() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--steps", type=flag_int, default=30)
    ap.add_argument("--rounds", type=flag_int, default=3)
    add_force_flag(ap, "replace an existing --json")
    args = ap.parse_args(argv)
    if args.json.exists() and not args.force:
        ap.error(f"--json {args.json} exists; pass --force to replace it")
    if args.steps < 1 or args.rounds < 1:
        ap.error("--steps and --rounds must be positive integers")
    torch.set_num_threads(1)
    try:
        images, source = data.load_set("CBSD398", limit=40), "CBSD398 (first 40)"
    except data.DownloadError:
        images, source = data.load_set("embedded-train"), "embedded-train"
    samplers = {c: CropSampler(images, c) for c in {crop for crop, _ in CONFIGS.values()}}
    load_before = os.getloadavg()[0]
    got: dict[str, dict[str, list[float]]] = {t: {c: [] for c in CONFIGS} for t in ("noise-2", "noise-3")}
    for _ in range(args.rounds):
        for tool in got:
            for name, (crop, amp) in CONFIGS.items():
                got[tool][name].append(steps_per_second(tool, samplers[crop], amp, args.steps))
    if not amp_active("cpu"):      # train_tool's amp is float32 here (emulated bf16 is ~10x slower): say so
        got = {t: {c.replace("bf16 +", "fp32 (no native bf16) +"): v for c, v in r.items()} for t, r in got.items()}
    nets = {"noise-2": "3-layer (21,827 parameters)", "noise-3": "8-layer (50,851 parameters)"}
    table = {nets[t]: {c: round(statistics.median(v), 2) for c, v in r.items()} for t, r in got.items()}
    out = {"command": " ".join(["python scripts/bench_tools.py", *(sys.argv[1:] if argv is None else argv)]),
           "date": time.strftime("%Y-%m-%d"), "hardware": hardware(),
           "torch": torch.__version__, "batch": 32, "train_images": source, "steps_per_round": args.steps,
           "rounds": args.rounds, "clock": "process CPU time", "steps_per_s": table,
           # other processes on the machine slow every configuration; the ratios carry over, the speeds do not
           "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)], "cpus": os.cpu_count()}
    for net, row in table.items():
        base = row["fp32, 63x63 (first toolbox)"]
        print(net + ": " + ", ".join(f"{c} {v:.1f}/s ({v / base:.1f}x)" for c, v in row.items()))
    write_text(args.json, json.dumps(out, indent=1) + "\n", overwrite=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
