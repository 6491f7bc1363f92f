"""Evaluate a trained HIRL agent (chapter 6) and write the results into its record.json and README.md card.

    RESTORELIB_DATA=/abs/data python scripts/eval_hirl.py                    # the shipped agent, CBSD68
    python scripts/eval_hirl.py --agent runs/hirl --set embedded-test --equal-trials 2 --lengths 1 2

Two protocols, both on held-out images:

* **results**: one seeded random 63x63 patch per image of ``--set``, degraded by each HIRL mixture (``hirl-mild``,
  ``-moderate``, ``-severe``) and each single distortion (``hirl-awgn``, ``-jpeg``, ``-blur``), restored by the agent
  alone (no ground truth), with :func:`restorelib.evaluate.evaluate`;
* **equal_trials** (the paper's Table 2): the first ``--equal-trials`` images, one patch each per mixture
  (:func:`restorelib.hirl.restore.degraded_patches`, seed 0), brute force over chains of length <= n against HIRL
  limited to n tools, and brute force held to n trials (HIRL's budget, averaged over tool orders), for every n of
  ``--lengths`` (1 2 3 4 by default: up to 7380 trials per patch, about half a minute per patch on one CPU thread),
  mean over the mixtures.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from restorelib.core.flags import add_device_flag, add_seed_flag
from restorelib.core.checkpoints import RECORD, read_json
from restorelib.core.validation import flag_int
from restorelib.core.atomic import write_text
from restorelib.core import data
from restorelib.core.config import get_device
from restorelib.core.degradations import HIRL_SINGLE
from restorelib.evaluate import evaluate
from restorelib.hirl.hirl import HIRL_SPECS
from restorelib.hirl.restore import (
    AGENTS_DIR, HirlMethod, HirlRestorer, degraded_patches, equal_trials, write_hirl_card)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", default="hirl", help="a shipped HIRL agent name or a folder (default hirl)")
    ap.add_argument("--set", default="CBSD68", help="test set name (default CBSD68)")
    ap.add_argument("--equal-trials", type=flag_int, default=8, metavar="N", help="images for Table 2 (0 skips it)")
    ap.add_argument("--lengths", type=flag_int, nargs="+", default=[1, 2, 3, 4], help="path lengths of Table 2")
    add_seed_flag(ap)
    add_device_flag(ap)
    args = ap.parse_args(argv)
    folder = Path(args.agent) if Path(args.agent).is_dir() else AGENTS_DIR / args.agent
    if not (folder / RECORD).is_file():
        ap.error(f"--agent: {str(folder)!r} holds no record.json")
    if args.equal_trials < 0:
        ap.error(f"--equal-trials must be >= 0, got {args.equal_trials}")
    if any(n < 1 or n > 5 for n in args.lengths) or args.lengths != sorted(set(args.lengths)):
        ap.error(f"--lengths must be ascending distinct ints in 1..5, got {args.lengths}")
    dev = get_device(args.device)
    images = data.load_set(args.set)
    restorer = HirlRestorer.load(folder, dev)
    command = " ".join(["python scripts/eval_hirl.py", *(sys.argv[1:] if argv is None else argv)])
    method = HirlMethod(restorer, name=folder.name)
    results = {}
    for spec in (*HIRL_SPECS, *HIRL_SINGLE):
        r = evaluate(method, images, spec, patch=63, seed=args.seed, device=dev)
        results[spec] = {k: round(r[k], 4) for k in ("psnr_in", "psnr_out", "ssim_in", "ssim_out", "tool_calls")}
        print(f"{spec:14} {r['psnr_in']:.2f} -> {r['psnr_out']:.2f} dB ({r['tool_calls']:.2f} tools)", flush=True)
    test = {"command": command, "set": args.set, "images": len(images), "seed": args.seed, "results": results}
    if args.equal_trials:
        t0, subset = time.perf_counter(), dict(list(images.items())[:args.equal_trials])
        rows = []
        for spec in HIRL_SPECS:
            deg, clean, _ = degraded_patches(subset, spec, seed=0)
            rows.append(equal_trials(restorer, deg, clean, tuple(args.lengths)))
            print(f"{spec:14} brute force {rows[-1]['brute_force_db']}, HIRL {rows[-1]['hirl_db']}", flush=True)
        mean = {k: [round(sum(r[k][j] for r in rows) / len(rows), 4) for j in range(len(args.lengths))]
                for k in ("brute_force_db", "brute_force_same_budget_db", "hirl_db", "hirl_trials")}
        test["equal_trials"] = {"command": command, "patches": len(subset), "lengths": args.lengths,
                                "trials": rows[0]["trials"], **mean,
                                "per_mixture": {s: {k: [round(v, 4) for v in r[k]] for k in ("brute_force_db", "hirl_db")}
                                                for s, r in zip(HIRL_SPECS, rows)},
                                "seconds": round(time.perf_counter() - t0)}
    record = read_json(folder / RECORD)
    record["test"] = test
    write_text(folder / RECORD, json.dumps(record, indent=2) + "\n", overwrite=True)
    write_hirl_card(folder)
    print(f"wrote the results into {folder / 'record.json'} and README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
