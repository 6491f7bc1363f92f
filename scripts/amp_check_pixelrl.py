"""Does bf16 autocast train PixelRL as well as float32, and how much faster? (chapter 7, issue "PixelRL complete" 4)

    OMP_NUM_THREADS=1 python scripts/amp_check_pixelrl.py --out amp_check.json            # about 18 min on one thread

Two runs with the same seed and the book scale's settings except ``--episodes`` (and a supervised start of 100
steps), one in float32 and one with ``amp`` (bf16 autocast where the CPU has it natively, channels-last), on 48x48
patches of five embedded training photos degraded by ``--task``; then the greedy test PSNR of both agents on the
128x128 top-left crops of three embedded test photos. Writes the seconds of each run, the test PSNRs (input, output)
and both training curves. Compare the runs by their ratio: they share the machine with whatever else runs.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace

import torch

from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core.data import embedded
from restorelib.core.flags import add_out_flag
from restorelib.core.metrics import psnr
from restorelib.core.patches import patch_bank
from restorelib.core.resume import precision
from restorelib.core.validation import flag_int
from restorelib.pixelrl.a2c import SCALES, make_task, pixelrl_restore, to_gray, train_pixelrl

TRAIN = ("astronaut", "coffee", "rocket", "motorcycle", "brick")
TEST = ("camera", "grace_hopper", "chelsea")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=flag_int, default=120)
    ap.add_argument("--task", default="noise:25", help="a PixelRL task (default noise:25)")
    add_out_flag(ap, help="the JSON file to write", required=True)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True)       # before the work: exit 2, one line
    if args.episodes < 20:
        ap.error(f"--episodes must be at least 20 (the curve is logged every 20), got {args.episodes}")
    try:
        task = make_task(args.task)
    except ValueError as e:
        ap.error(f"--task: {e}")
    torch.set_num_threads(1)
    bank = patch_bank({n: embedded(n) for n in TRAIN}, size=SCALES["book"].crop, stride=24)
    test = {n: to_gray(embedded(n)[None])[:, :, :128, :128] for n in TEST}
    out = {"task": args.task, "episodes": args.episodes, "hardware": platform.processor() or platform.machine(),
           "runs": {}}
    for amp in (False, True):
        cfg = replace(SCALES["book"], episodes=args.episodes, log_every=20, amp=amp, pretrain_steps=100)
        t0 = time.perf_counter()
        net, rec = train_pixelrl(bank, args.task, cfg, log=print)
        seconds = time.perf_counter() - t0
        g = torch.Generator().manual_seed(5)
        results = {}
        for name, x in test.items():
            y = task(x, g)
            results[name] = [round(psnr(y, x).item(), 3), round(psnr(pixelrl_restore(net, y)[0], x).item(), 3)]
        out["runs"]["amp" if amp else "float32"] = {
            "precision": precision("cpu", amp), "seconds": round(seconds, 1), "test_psnr_in_out": results,
            "episodes": rec.episodes, "psnr_gain_db": rec.psnr_gain}
        print(f"[amp_check] {'amp' if amp else 'float32'} ({precision('cpu', amp)}): {seconds:.0f} s, test {results}",
              flush=True)
    write_text(args.out, json.dumps(out, indent=1) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
