"""``python -m restorelib tools`` and ``evaluate`` (PSNR/SSIM on degraded images, a no-reference score, or the
colour error of chapter 7's ``--style``)."""
from __future__ import annotations

import argparse
import json

from ..core import data
from ..core.degradations import parse_spec
from ..evaluate import evaluate, evaluate_no_reference, get_method, summary
from ..search.method import SearchMethod
from .common import (
    MAX_SEED, UsageError, check_common, check_output, check_scorer, flag_of, load_images, method_options, write_json)


def cmd_tools(args: argparse.Namespace) -> int:
    from ..toolbox.tools import TOOL_SPECS, Toolbox, build_tool, count_params
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


def _evaluate_color(args: argparse.Namespace) -> int:
    """``evaluate --style``: a colour method on (photo, retouched target) pairs, by the mean CIELab error."""
    from ..pixelrl.color_eval import color_summary, color_test_pairs, evaluate_color, style_names
    given = [f for f, v in (("--distortion", args.distortion), ("--no-reference", args.no_reference),
                            ("--patch", args.patch), ("--budget", args.budget)) if v]
    if given:
        raise UsageError(f"--style measures whole photos against their targets; leave out {', '.join(given)}")
    if args.style not in style_names(args.images):
        raise UsageError(f"--style must be one of {list(style_names(args.images))} for --images {args.images}, "
                         f"got {args.style!r}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be a positive int, got {args.limit}")
    if args.json is not None:
        check_output("--json", args.json, args.force)
    check_common(args)
    try:
        method = get_method(args.method, args.device, seed=args.seed, **method_options(args))
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"{flag_of(e)}: {e}") from None
    try:
        pairs = color_test_pairs(args.images, args.style, args.limit)
        result = evaluate_color(method, pairs, args.style, args.device)
    except (ValueError, FileNotFoundError, KeyError, data.DownloadError) as e:
        raise UsageError(f"--images: {e}") from None
    print(color_summary(result, args.images))
    if args.json is not None:
        write_json(result, args.json, args.force)
        print(f"  wrote {args.json}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.style is not None:
        return _evaluate_color(args)
    if args.distortion is None:
        if not args.no_reference:
            raise UsageError("--distortion is required (unless --no-reference)")
        args.distortion = "none"
    if args.no_reference:
        check_scorer(args.scorer)
    try:
        parse_spec(args.distortion)
    except ValueError as e:
        raise UsageError(f"--distortion: {e}") from None
    if args.json is not None:
        check_output("--json", args.json, args.force)
    check_common(args)
    if args.patch is not None and args.patch < 11:
        raise UsageError(f"--patch must be at least 11 (SSIM's window), got {args.patch}")
    if args.patches_per_image < 1:
        raise UsageError(f"--patches-per-image must be a positive int, got {args.patches_per_image}")
    if abs(args.seed) > MAX_SEED:
        raise UsageError(f"--seed must be an int in -{MAX_SEED}..{MAX_SEED}, got {args.seed}")
    if args.budget is not None and args.budget < 1:
        raise UsageError(f"--budget must be a positive int, got {args.budget}")
    try:
        method = get_method(args.method, args.device, budget=args.budget, seed=args.seed, **method_options(args))
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"{flag_of(e)}: {e}") from None
    images = load_images(args.images, args.limit, args.max_pixels)
    searching = _announce_search(method, len(images) * (1 if args.patch is None else args.patches_per_image),
                                 "image" if args.patch is None else "patch")
    try:
        if args.no_reference:
            result = evaluate_no_reference(method, images, args.scorer, args.distortion, patch=args.patch,
                                           seed=args.seed, device=args.device)
        else:
            result = evaluate(method, images, args.distortion, patch=args.patch,
                              patches_per_image=args.patches_per_image, seed=args.seed, device=args.device,
                              progress=searching)
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    print(summary(result))
    if args.json is not None:
        nulls = write_json(result, args.json, args.force)
        if nulls:
            print(f"  note: {len(nulls)} values are NaN (the scorer could not score them); written as null")
        print(f"  wrote {args.json}")
    return 0


def _announce_search(method: object, items: int, unit: str) -> bool:
    """Brute force: print what it will cost before it starts, and return True, so that the evaluation shows a
    progress bar with the time left (on stderr). Other methods: False, nothing printed."""
    note = method.cost_note(items, unit, "--budget") if isinstance(method, SearchMethod) else None
    if note is not None:
        print(note + "; progress and time left on stderr", flush=True)
    return note is not None
