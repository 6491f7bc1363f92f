"""Benchmark: environment rollout time over the tools' own forward time on the same batch (goal <= 1.10).

    python scripts/bench_env.py [--batch 64] [--repeats 5] [--device cpu] [--json runs/bench_env.json]

A rollout resets the environment on a batch of 63x63 moderate patches and takes t_max steps of random actions
(stop included). The same tool calls (same tools, same sub-batches, in the same order) are then replayed directly on
the toolbox. The ratio of the two median times is the environment's overhead: grouping, rewards, bookkeeping.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from restorelib.core.flags import add_device_flag
from restorelib.core.validation import flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core import data
from restorelib.core.config import get_device
from restorelib.core.degradations import degrade
from restorelib.rlrestore.env import RestoreEnv
from restorelib.core.patches import random_patches
from restorelib.toolbox.tools import Toolbox, shipped_tools_available


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def bench(batch: int = 64, repeats: int = 5, t_max: int = 3, device: str | None = None, seed: int = 0) -> dict:
    dev = get_device(device)
    box = Toolbox.load(device=dev) if shipped_tools_available() else Toolbox().to(dev).eval()
    g = torch.Generator().manual_seed(seed)
    imgs = list(data.load_set("embedded-test").values())
    clean = torch.cat([random_patches(data.to_rgb(im), -(-batch // len(imgs)), generator=g) for im in imgs])[:batch]
    deg, _ = degrade(clean, "moderate", generator=g)
    clean, deg = clean.to(dev), deg.to(dev)
    env = RestoreEnv(box, t_max=t_max)
    plans = [torch.randint(env.n_actions, (t_max, batch), generator=g).to(dev) for _ in range(repeats + 1)]
    t_env, t_tools = [], []
    for plan in plans:
        calls = []                                   # (tool id, sub-batch indices) in the order the env ran them
        env.reset(deg, clean)
        _sync(dev)
        t0 = time.perf_counter()
        for t in range(t_max):
            acting = ~env.done & (plan[t] != env.stop)
            calls += [(a, (acting & (plan[t] == a)).nonzero().flatten()) for a in plan[t][acting].unique().tolist()]
            env.step(plan[t])
        _sync(dev)
        t_env.append(time.perf_counter() - t0)
        x = deg.clone()
        _sync(dev)
        t0 = time.perf_counter()
        for a, idx in calls:
            x[idx] = box.apply(x[idx], a)
        _sync(dev)
        t_tools.append(time.perf_counter() - t0)
    t_env, t_tools = t_env[1:], t_tools[1:]                  # the first repeat warms up
    return {"batch": batch, "t_max": t_max, "repeats": repeats, "device": str(dev),
            "threads": torch.get_num_threads(), "rollout_s": statistics.median(t_env),
            "tools_s": statistics.median(t_tools), "ratio": statistics.median(t_env) / statistics.median(t_tools)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=flag_int, default=64)
    ap.add_argument("--repeats", type=flag_int, default=5)
    add_device_flag(ap)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--json", args.json, overwrite=True)    # before the work: exit 2, one line
    r = bench(args.batch, args.repeats, device=args.device)
    print(f"rollout {r['rollout_s'] * 1e3:.1f} ms, tools alone {r['tools_s'] * 1e3:.1f} ms, "
          f"ratio {r['ratio']:.3f} (batch {r['batch']}, t_max {r['t_max']}, {r['device']}, {r['threads']} threads)")
    if args.json:
        write_text(args.json, json.dumps(r, indent=2) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
