"""Run every chapter's gpu-scale training path for a few steps on a GPU and write the time of each, per chapter.

    python scripts/gpu_smoke.py [--steps 5] [--device cuda] [--scale gpu] [--only dqn,hirl] [--json FILE]

Each path of ``scripts/gpu_paths.py`` (the trainers as the chapters call them, with the scale's configuration) runs
twice: one step to warm up (CUDA kernels, cuDNN's choices, the data), then one step more than ``--steps``; the
difference of the two times, over the difference of their units, is the speed of one unit. Multiplied by the units
each chapter trains at that scale it gives the chapter's projected training time. A table is printed and the JSON
written to ``--json`` (default ``book/gpu_scale/smoke.json``, which ``scripts/size_gpu_scale.py table`` puts into
"How to use this book"). Takes a few minutes on one GPU; ``--device cpu --scale ci`` checks the script itself.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))     # gpu_paths, beside this script, also when imported

from gpu_paths import CHAPTERS, PATHS, SCALES  # noqa: E402

from restorelib.core.flags import add_device_flag, add_scale_flag  # noqa: E402
from restorelib.core.validation import flag_int  # noqa: E402
from restorelib.core.atomic import exit_unless_writable, write_text  # noqa: E402
from restorelib.rlrestore import dqn  # noqa: E402
from restorelib.core.config import check_device  # noqa: E402

SMOKE = Path(__file__).resolve().parents[1] / "book" / "gpu_scale" / "smoke.json"


def _units(path: str, scale: str, steps: int) -> int:
    """``steps`` of a path in its units: DQN's unit is one patch's step, ``env_batch x t_max`` of them a rollout."""
    if path == "dqn":
        cfg = dqn.SCALES[scale]
        return steps * cfg.env_batch * cfg.t_max
    return steps


def _timed(path: str, scale: str, n: int, device: torch.device) -> tuple[int, float]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    units = PATHS[path].run(scale, n, str(device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return units, time.perf_counter() - t0


def smoke(paths: list[str], scale: str, steps: int, device: torch.device, log=print) -> dict:
    """Time each path in ``paths`` (see the module docstring); returns the JSON-able results."""
    out: dict = {"paths": {}}
    for path in paths:
        (u1, t1), (u2, t2) = (_timed(path, scale, _units(path, scale, n), device) for n in (1, 1 + steps))
        per = (t2 - t1) / max(u2 - u1, 1)
        out["paths"][path] = {"unit": PATHS[path].unit, "units": [u1, u2], "seconds": [round(t1, 4), round(t2, 4)],
                              "seconds_per_unit": max(per, 0.0)}
        log(f"{path:20s} {per * 1e3:10.2f} ms per {PATHS[path].unit} ({u2 - u1} {PATHS[path].unit}s in "
            f"{t2 - t1:.1f} s after a warm-up of {t1:.1f} s)", flush=True)
    out["chapters"] = {}
    for ch in CHAPTERS:
        units = {k: v for k, v in ch.units(scale).items() if v}
        if all(k in out["paths"] for k in units):
            out["chapters"][ch.label] = {"units": units, "minutes": sum(
                n * out["paths"][k]["seconds_per_unit"] for k, n in units.items()) / 60}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=flag_int, default=5, help="steps timed per path after the warm-up (default 5)")
    add_device_flag(ap, "cuda (default when there is one), cuda:N, cpu")
    add_scale_flag(ap, SCALES, "gpu", "the configurations (ci: to check the script)")
    ap.add_argument("--only", default=None, help=f"comma-separated paths (default all: {', '.join(PATHS)})")
    ap.add_argument("--json", type=Path, default=SMOKE, help="where to write the results (default %(default)s)")
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--json", args.json, overwrite=True, make_folder=True)    # before the work
    if args.steps < 1:
        ap.error(f"--steps must be a positive number of steps, got {args.steps}")
    try:
        device = check_device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except ValueError as e:
        ap.error(f"--device: {e}")
    paths = list(PATHS) if args.only is None else [p.strip() for p in args.only.split(",") if p.strip()]
    if not paths or (unknown := [p for p in paths if p not in PATHS]):
        ap.error(f"--only must name paths of {list(PATHS)}, got {args.only!r}")
    if args.json.is_dir():
        ap.error(f"--json must be a file, got the folder {args.json}")
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"gpu_smoke: {len(paths)} paths at {args.scale} scale on {name}, {args.steps} steps each", flush=True)
    res = smoke(paths, args.scale, args.steps, device)
    res.update(device=str(device), device_name=name, scale=args.scale, steps=args.steps, torch=torch.__version__,
               date=datetime.date.today().isoformat(), total_s=round(time.perf_counter() - t0, 1))
    print(f"\n{'chapter':48s} {'projected training minutes':>27s}")
    for label, c in res["chapters"].items():
        print(f"{label:48s} {c['minutes']:27.1f}")
    print(f"\n{res['total_s']:.0f} s in all")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.json, json.dumps(res, indent=1) + "\n", overwrite=True)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
