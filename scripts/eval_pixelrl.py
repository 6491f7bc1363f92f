"""Chapter 7's tables: PixelRL agents beside the best classical filter and a supervised CNN on the same budget.

    python scripts/eval_pixelrl.py                                  # every shipped *-t400 agent, BSD68 (first 20)
    python scripts/eval_pixelrl.py --models noise25-gru-rmc-t400 --images 5 --out /tmp/b.json

For each task among the agents (``noise:25``, ``saltpepper:0.5``, ``text``, ...), on the first IMAGES images of
TEST_SET degraded with the agents' test seed (:func:`restorelib.pixelrl.baselines.degraded_pairs`):

* every classical filter of the action set applied to the whole image 1..t_max times, and the best of them;
* a supervised :class:`~restorelib.pixelrl.baselines.Denoiser` (PixelRL's trunk and one branch) trained on
  TRAIN_SET for as many Adam updates of the same batch and crop as the agent had (its pretraining + episodes);
* each agent's PSNR: from its record when that was measured on the same pairs (``train_pixelrl.py --test-set
  TEST_SET --eval-size 0 --eval-images IMAGES``), else measured here.

Writes OUT (default ``restorelib/weights/pixelrl/baselines.json``): per task, the command, date, seconds and every
figure. Rows of other tasks already in OUT are kept, so the tasks can be evaluated one at a time as agents finish;
a task's baselines already in OUT for the same test images and budget are kept (``--redo`` re-runs them) and its
new agents are added to its row.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from restorelib.core.flags import add_device_flag, add_out_flag, add_train_set_flag
from restorelib.core.checkpoints import RECORD, read_json
from restorelib.core.validation import flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core import data
from restorelib.core.config import get_device, seed_everything
from restorelib.core.metrics import psnr
from restorelib.core.patches import patch_bank
from restorelib.pixelrl.a2c import load_pixelrl, pixelrl_restore, to_gray
from restorelib.pixelrl.baselines import (
    Denoiser, best_filter, denoise, filter_sweep, degraded_pairs, train_denoiser)
from restorelib.pixelrl.method import PIXELRL_DIR, pixelrl_folder


def mean(xs: list[float]) -> float:
    return round(sum(xs) / len(xs), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=None, help="agent names or folders (default: every *-t400 agent)")
    ap.add_argument("--test-set", default="BSD68")
    ap.add_argument("--images", type=flag_int, default=20, help="the first N images of TEST_SET")
    add_train_set_flag(ap, default="Train400", many=False,
                       help="training images of the supervised CNN (default Train400)")
    add_out_flag(ap, PIXELRL_DIR / "baselines.json", "the baselines JSON (default %(default)s)")
    ap.add_argument("--redo", action="store_true", help="re-run the baselines even when OUT has them")
    add_device_flag(ap)
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True, make_folder=True)    # before the work
    if args.images < 1:
        ap.error(f"--images must be a positive int, got {args.images}")
    names = args.models or sorted(p.parent.name for p in PIXELRL_DIR.glob("*-t400/record.json"))
    if not names:
        ap.error("no agents given and none shipped (*-t400); train them with scripts/train_pixelrl_tables.sh")
    try:
        folders = [pixelrl_folder(n) for n in names]
    except FileNotFoundError as e:
        ap.error(str(e))
    dev, t_start = get_device(args.device), time.perf_counter()
    seed_everything(0)
    images = data.load_set(args.test_set, limit=args.images)
    bank = None
    records = {f: read_json(f / RECORD) for f in folders}
    by_task: dict[str, list[Path]] = {}
    for f in folders:
        by_task.setdefault(records[f]["task"], []).append(f)
    command = " ".join(["python scripts/eval_pixelrl.py", *(sys.argv[1:] if argv is None else argv)])
    result = json.loads(args.out.read_text()) if args.out.is_file() else {"tasks": {}}
    for task, group in by_task.items():
        t0, pairs = time.perf_counter(), degraded_pairs(images, task)
        row: dict = {"command": command, "date": time.strftime("%Y-%m-%d"), "device": str(dev),
                     "test_set": args.test_set, "images": len(images), "train_set": args.train_set,
                     "input": mean([psnr(d, c).item() for c, d in pairs.values()]), "agents": {}}
        for f in group:
            net, cfg = load_pixelrl(f, dev)
            ev = records[f].get("evaluation") or {}
            if (ev.get("set"), ev.get("limit"), ev.get("crop")) == (args.test_set, args.images, 0):
                value, source = ev["mean"]["psnr_out"], "record"
            else:
                value, source = mean([psnr(pixelrl_restore(net, d.to(dev), t_max=cfg.t_max)[0].cpu(), c).item()
                                      for c, d in pairs.values()]), "measured"
            row["agents"][f.name] = {"psnr": value, "source": source, "gru": cfg.gru, "rmc": cfg.rmc,
                                     "actions": cfg.action_set, "episodes": cfg.episodes,
                                     "train_seconds": records[f]["seconds"], "command": command,
                                     "date": row["date"]}
        steps, old = cfg.pretrain_steps + cfg.episodes, result["tasks"].get(task, {})
        if not args.redo and all(old.get(k) == row[k] for k in ("test_set", "images", "train_set")) and \
                old.get("supervised", {}).get("steps") == steps:
            row["agents"] = {**old["agents"], **row["agents"]}
            # the row's command, date and seconds stay those of the run that measured its baselines
            row.update({k: old[k] for k in ("filters", "best_filter", "supervised", "command", "date", "seconds")
                        if k in old})
            result["tasks"][task] = row
            print(f"[eval_pixelrl] {task}: kept the baselines of {old['date']}, agents " + ", ".join(
                f"{k} {v['psnr']:.2f}" for k, v in row["agents"].items()), flush=True)
            write_text(args.out, json.dumps(result, indent=1) + "\n", overwrite=True)
            continue
        sweeps = [filter_sweep(d, c, cfg.t_max) for c, d in pairs.values()]
        name, passes, value = best_filter(sweeps)
        row["filters"] = {k: [mean([s[k][t] for s in sweeps]) for t in range(cfg.t_max)] for k in sweeps[0]}
        row["best_filter"] = {"filter": name, "passes": passes, "psnr": round(value, 3)}
        if bank is None:
            gray = {k: to_gray(v) for k, v in data.load_set(args.train_set).items()}
            bank = patch_bank(gray, size=cfg.crop, stride=max(1, cfg.crop // 2), scales=(1.0,), rgb=False)
        model, losses, secs = train_denoiser(bank, task, steps, cfg.batch, cfg.crop, cfg.lr, dev, seed=0,
                                             model=Denoiser(cfg.channels, cfg.width),
                                             log=lambda s: print(s, flush=True))
        out = [psnr(denoise(model, d), c).item() for c, d in pairs.values()]
        row["supervised"] = {"psnr": mean(out), "steps": steps, "batch": cfg.batch, "crop": cfg.crop,
                             "seconds": round(secs, 1), "params": sum(p.numel() for p in model.parameters()),
                             "final_mse": round(sum(losses[-50:]) / len(losses[-50:]), 6)}
        row["seconds"] = round(time.perf_counter() - t0, 1)
        result["tasks"][task] = row
        print(f"[eval_pixelrl] {task}: input {row['input']:.2f}, best filter {name} x{passes} {value:.2f}, "
              f"supervised {row['supervised']['psnr']:.2f}, "
              + ", ".join(f"{k} {v['psnr']:.2f}" for k, v in row["agents"].items()), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.out, json.dumps(result, indent=1) + "\n", overwrite=True)  # after each task: runs are long
    print(f"[eval_pixelrl] wrote {args.out} ({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
