"""Why did the first toolbox's tools learn nothing? The measurements behind chapter 2's diagnosis, as one JSON.

    python scripts/diagnose_tools.py --json restorelib/weights/tools/diagnosis.json [--steps 1500]

1. Dead units: for each tool of the given toolboxes (default: the first shipped toolboxes, from git if they have
   been replaced), the hidden channels that no validation patch switches on (``training.dead_units``).
2. A grid of short trainings of noise-2 and jpeg-2 on CBSD398 crops (40x40, bf16): learning rate x the probability
   of the robustness distortions; each reports its LIVE1 validation gain curve and its dead units at the end.
The JSON is refused if it exists (use --force).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from restorelib.core.flags import add_force_flag
from restorelib.core.validation import flag_int
from restorelib.core import data
from restorelib.core.atomic import write_text
from restorelib.core.patches import CropSampler
from restorelib.toolbox.tools import ToolSpec, Toolbox, build_tool, tool_spec
from restorelib.toolbox.train_toolbox import validation_pairs
from restorelib.toolbox.training import dead_units, train_tool

ROOT = Path(__file__).resolve().parents[1]
FIRST_TOOLBOX = "fce755c"        # the last commit with the first toolbox (1,000 / 400 steps at lr 1e-3)


def _toolbox_at(commit: str, folder: str) -> Toolbox:
    """A toolbox read from git at ``commit`` (sha256 checked against that commit's manifest)."""
    def show(path: str) -> bytes:
        return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True).stdout
    entries = json.loads(show(f"{folder}/manifest.json"))["tools"]
    box = Toolbox(tuple(ToolSpec(**e["spec"]) for e in entries))
    for net, e in zip(box.nets, entries):
        blob = show(f"{folder}/{e['file']}")
        if hashlib.sha256(blob).hexdigest() != e["sha256"]:
            raise ValueError(f"{folder}/{e['file']} at {commit} does not match its manifest")
        net.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True))
    return box.eval()


def dead_in_toolbox(box: Toolbox, images: dict) -> dict:
    out = {}
    for i, (spec, net) in enumerate(zip(box.specs, box.nets)):
        x, _ = validation_pairs(spec, images, 2, 30_000 + i)
        out[spec.name] = {k: list(v) for k, v in dead_units(net, x).items()}
    return out


def grid_run(tool: str, lr: float, robust_p: float, steps: int, sampler: CropSampler, val_imgs: dict) -> dict:
    spec = tool_spec(tool)
    val = validation_pairs(spec, val_imgs, 4, 123)
    torch.manual_seed(0)
    net = build_tool(spec)
    t0 = time.perf_counter()
    log = train_tool(net, spec, sampler, steps=steps, batch=32, lr=lr, robust=True, robust_p=robust_p, val=val,
                     val_every=max(1, steps // 6), generator=torch.Generator().manual_seed(0), amp=True,
                     log_every=max(1, steps // 6))
    return {"tool": tool, "lr": lr, "robust_p": robust_p, "steps": steps, "seconds": round(time.perf_counter() - t0, 1),
            "val_curve": [[s, round(g, 3)] for s, g in zip(log.val_steps, log.val_gains)],
            "dead": {k: list(v) for k, v in dead_units(net, val[0][:64]).items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--steps", type=flag_int, default=1500)
    ap.add_argument("--train-images", type=flag_int, default=100, help="the first N photos of CBSD398")
    add_force_flag(ap, "replace an existing --json")
    args = ap.parse_args(argv)
    if args.json.exists() and not args.force:
        ap.error(f"--json {args.json} exists; pass --force to replace it")
    if args.steps < 1 or args.train_images < 1:
        ap.error("--steps and --train-images must be positive integers")
    command = " ".join(["python scripts/diagnose_tools.py", *(sys.argv[1:] if argv is None else argv)])
    val_imgs = data.load_set("LIVE1")
    first = {name: dead_in_toolbox(_toolbox_at(FIRST_TOOLBOX, f"restorelib/weights/{name}"), val_imgs)
             for name in ("tools", "tools-original")}
    sampler = CropSampler(data.load_set("CBSD398", limit=args.train_images), 40)
    grid = []
    for tool in ("jpeg-2", "noise-2"):
        for lr in (1e-3, 3e-4, 1e-4):
            for rp in (1.0, 0.5):
                grid.append(grid_run(tool, lr, rp, args.steps, sampler, val_imgs))
                print(json.dumps(grid[-1]), flush=True)
    out = {"command": command, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
           "threads": torch.get_num_threads(), "first_toolbox_commit": FIRST_TOOLBOX, "dead_first": first,
           "grid": grid, "train_set": f"CBSD398 (first {args.train_images})", "val_set": "LIVE1, 4 patches/image"}
    write_text(args.json, json.dumps(out, indent=1) + "\n", overwrite=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
