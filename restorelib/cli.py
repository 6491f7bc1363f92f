"""The command line: ``python -m restorelib {tools,evaluate} ...`` (see the README and "How to use this book").

Bad arguments give a one-line error on stderr and exit code 2; nothing is written in that case.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import data
from .degradations import parse_spec
from .evaluate import evaluate, get_method, method_names, summary


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m restorelib", description="RL image restoration: tools and evaluation.")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tools", help="list the toolbox's tools")
    t.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    t.add_argument("--tools-dir", type=Path, default=None, help="checkpoint folder (default: the shipped tools)")
    e = sub.add_parser("evaluate", help="degrade images, restore them with a method, measure PSNR/SSIM/cost",
                       epilog="methods: " + "; ".join(f"{k}: {v}" for k, v in method_names().items()))
    e.add_argument("--method", required=True, help="identity, tool:NAME, ...")
    e.add_argument("--images", required=True,
                   help=f"a folder of images, or a set name ({', '.join(data.dataset_names())}, embedded, embedded-test)")
    e.add_argument("--distortion", required=True, help="a spec, e.g. moderate or blur:1.5+noise:20+jpeg:40")
    e.add_argument("--patch", type=int, default=None, help="evaluate seeded random PATCHxPATCH crops (e.g. 63)")
    e.add_argument("--patches-per-image", type=int, default=1)
    e.add_argument("--limit", type=int, default=None, help="use at most N images")
    e.add_argument("--max-length", type=int, default=3, help="longest chain for searches and agents (default 3)")
    e.add_argument("--budget", type=int, default=None, help="brute-force: stop after N trials per image")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default=None)
    e.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the result as JSON to OUT")
    return ap


def _load_images(spec: str, limit: int | None) -> dict:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be a positive int, got {limit}")
    path = Path(spec)
    if path.exists() or os.sep in spec:
        try:
            return data.load_folder(path, limit=limit)
        except ValueError as e:
            raise UsageError(f"--images: {e}") from None
    if spec in data.dataset_names() or spec.startswith("embedded"):
        try:
            return data.load_set(spec, limit=limit)
        except (ValueError, data.DownloadError) as e:
            raise UsageError(f"--images: {e}") from None
    raise UsageError(f"--images must be a folder or a set name ({', '.join(data.dataset_names())}, "
                     f"embedded, embedded-test), got {spec!r}")


def _write_json(obj: object, out: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, out)


def cmd_tools(args: argparse.Namespace) -> int:
    from .tools import TOOL_SPECS, Toolbox, build_tool, count_params
    try:
        box = Toolbox.load(args.tools_dir) if args.tools_dir is not None else None
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(f"--tools-dir: {e}") from None
    specs = box.specs if box is not None else TOOL_SPECS
    rows = [{"name": s.name, "distortion": s.distortion, "low": s.low, "high": s.high, "depth": s.depth,
             "params": count_params(build_tool(s))} for s in specs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    unit = {"blur": "sigma", "noise": "sigma/255", "jpeg": "quality"}
    print(f"{'#':>2}  {'name':<8} {'distortion':<10} {'range':<22} {'layers':>6} {'params':>7}")
    for i, r in enumerate(rows):
        rng = f"{unit[r['distortion']]} [{r['low']:g}, {r['high']:g}]"
        print(f"{i:>2}  {r['name']:<8} {r['distortion']:<10} {rng:<22} {r['depth']:>6} {r['params']:>7,}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        parse_spec(args.distortion)
    except ValueError as e:
        raise UsageError(f"--distortion: {e}") from None
    if args.json is not None and not args.json.parent.is_dir():
        raise UsageError(f"--json: folder {str(args.json.parent)!r} does not exist")
    if args.patch is not None and args.patch < 11:
        raise UsageError(f"--patch must be at least 11 (SSIM's window), got {args.patch}")
    if args.patches_per_image < 1:
        raise UsageError(f"--patches-per-image must be a positive int, got {args.patches_per_image}")
    if args.budget is not None and args.budget < 1:
        raise UsageError(f"--budget must be a positive int, got {args.budget}")
    try:
        method = get_method(args.method, args.device, max_length=args.max_length, budget=args.budget, seed=args.seed)
    except (ValueError, TypeError, FileNotFoundError) as e:
        flag = "--max-length" if "max_length" in str(e) else "--method"
        raise UsageError(f"{flag}: {e}") from None
    images = _load_images(args.images, args.limit)
    try:
        result = evaluate(method, images, args.distortion, patch=args.patch,
                          patches_per_image=args.patches_per_image, seed=args.seed, device=args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(summary(result))
    if args.json is not None:
        _write_json(result, args.json)
        print(f"  wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"tools": cmd_tools, "evaluate": cmd_evaluate}[args.command](args)
    except UsageError as e:
        print(f"python -m restorelib {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
