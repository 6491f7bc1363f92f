"""Measure the CPU time of colour-enhancement training episodes at a scale's settings (chapter 7, issue 20).

    OMP_NUM_THREADS=1 python scripts/time_pixelrl_color.py --scale book --episodes 4 --out times.json

Trains each agent of the Table 6 comparison for a few episodes (PixelRL +convGRU +RMC, +convGRU, the global-action
agent) and the supervised CNN for 20 steps on the embedded training pairs, and writes the process CPU seconds (and
wall seconds) of every episode, the first (warm-up) included, and the estimate of a whole run at that scale.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import torch

from restorelib.core.flags import add_out_flag, add_scale_flag
from restorelib.core.validation import flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.pixelrl.a2c import train_pixelrl
from restorelib.pixelrl.color import COLOR_SCALES, color_env
from restorelib.pixelrl.color_data import PairSampler, styled_pairs
from restorelib.pixelrl.color_method import train_color_cnn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_flag(ap, COLOR_SCALES)
    ap.add_argument("--episodes", type=flag_int, default=4, help="episodes timed per agent (the first is a warm-up)")
    ap.add_argument("--threads", type=flag_int, default=1)
    add_out_flag(ap, help="the JSON file to write", required=True)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True)    # before the work: exit 2, one line
    if args.episodes < 2 or args.threads < 1:
        ap.error("--episodes must be at least 2 and --threads a positive int")
    torch.set_num_threads(args.threads)
    full = COLOR_SCALES[args.scale]
    cfg = replace(full, episodes=args.episodes, log_every=1)
    sampler = PairSampler(styled_pairs("embedded-train", "watercolor"), cfg.crop)
    out = {"scale": args.scale, "threads": torch.get_num_threads(), "config": full.to_dict(), "agents": {}}
    for name, env, c in (("PixelRL +convGRU +RMC", color_env("w"), cfg),
                         ("PixelRL +convGRU", color_env("w"), replace(cfg, rmc=False)),
                         ("global-action agent", color_env("w", True), replace(cfg, rmc=False))):
        marks = [(time.process_time(), time.perf_counter())]
        train_pixelrl(sampler, env, c, log=lambda _: marks.append((time.process_time(), time.perf_counter())))
        cpu = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
        wall = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
        mean = statistics.mean(cpu[1:])
        out["agents"][name] = {"cpu_s": cpu, "wall_s": wall, "cpu_s_per_episode": mean,
                               "estimate_h": mean * full.episodes / 3600}
        print(f"{name}: {mean:.2f} CPU-s an episode -> {mean * full.episodes / 3600:.2f} h for {full.episodes}",
              flush=True)
    t0 = time.process_time()
    train_color_cnn(sampler, replace(cfg, episodes=20))
    step = (time.process_time() - t0) / 20
    out["agents"]["supervised CNN"] = {"cpu_s_per_step": step, "estimate_h": step * full.episodes / 3600}
    print(f"supervised CNN: {step:.3f} CPU-s a step -> {step * full.episodes / 60:.1f} min", flush=True)
    write_text(args.out, json.dumps(out, indent=1) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
