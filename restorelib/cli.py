"""The command line: ``python -m restorelib {tools,evaluate,restore} ...`` (see the README and "How to use this book").

Bad arguments give a one-line error on stderr and exit code 2, found before any work; nothing is written in that
case. Every file is written atomically (:mod:`restorelib.core.atomic`): complete or not at all, never over an existing
file without ``--force`` (even one created while the command ran).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .core import atomic, data
from .core.atomic import json_ready
from .core.validation import flag_int
from .core.flags import add_device_flag, add_force_flag, add_seed_flag
from .core.config import check_device
from .core.degradations import parse_spec
from .core.method import OptionError, capabilities, device_of
from .evaluate import evaluate, evaluate_no_reference, get_method, method_names, summary
from .search.method import SearchMethod

if TYPE_CHECKING:
    import torch


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors (a bad ``--device``, a number that is not an int, a missing flag) in one line."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m restorelib", description="RL image restoration: tools and evaluation.")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tools", help="list the toolbox's tools")
    t.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    t.add_argument("--tools-dir", type=Path, default=None, help="checkpoint folder (default: the shipped tools)")
    e = sub.add_parser("evaluate", help="degrade images, restore them with a method, measure PSNR/SSIM/cost",
                       epilog="methods: " + "; ".join(f"{k}: {v}" for k, v in method_names().items()))
    e.add_argument("--method", required=True, help="identity, tool:NAME, ...")
    e.add_argument("--images", required=True,
                   help=f"a folder of images, or a set name ({', '.join(data.dataset_names())}, embedded, embedded-test)")
    e.add_argument("--distortion", default=None, help="a spec, e.g. moderate or blur:1.5+noise:20+jpeg:40 (required "
                   "unless --no-reference; there it defaults to none)")
    e.add_argument("--no-reference", action="store_true", help="the images have no clean original: score inputs and "
                   "outputs with a no-reference --scorer instead of PSNR/SSIM")
    e.add_argument("--scorer", default="niqe", help="the no-reference scorer of --no-reference (default niqe)")
    e.add_argument("--patch", type=flag_int, default=None, help="evaluate seeded random PATCHxPATCH crops (e.g. 63)")
    e.add_argument("--patches-per-image", type=flag_int, default=1)
    e.add_argument("--limit", type=flag_int, default=None, help="use at most N images")
    e.add_argument("--max-length", type=flag_int, default=None,
                   help="longest chain for searches (default 3) and agents (default: the agent's T_max)")
    e.add_argument("--tools", default=None, help="the tool set of rl-restore: original, noise (default, the shipped tools), joint, or a folder (chapter 5)")
    e.add_argument("--budget", type=flag_int, default=None, help="brute-force: stop after N trials per image")
    add_seed_flag(e, help="the seed of the degradations and patch positions (default %(default)s)")
    add_device_flag(e)
    e.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the result as JSON to OUT")
    add_force_flag(e, "overwrite the --json file if it exists")
    e.add_argument("--max-pixels", type=flag_int, default=None, help=_MAX_PIXELS_HELP)
    r = sub.add_parser("restore", help="restore one image file and print the chain taken step by step",
                       epilog="methods: " + "; ".join(f"{k}: {v}" for k, v in method_names().items()))
    r.add_argument("image", type=Path, help="the degraded image (PNG, JPEG, BMP, TIFF; gray, RGB, RGBA, 8/16-bit)")
    r.add_argument("-o", "--output", type=Path, required=True, help="where to write the restored image")
    r.add_argument("--method", default="rl-restore", help="one of the methods listed below (default rl-restore); "
                   "the oracles (greedy, brute-force) need --reference")
    r.add_argument("--reference", type=Path, default=None, help="the clean image: PSNR is printed after each step")
    r.add_argument("--no-reference", action="store_true", help="there is no clean image: print a no-reference "
                   "--scorer's score of the input and of the output instead of PSNR")
    r.add_argument("--scorer", default="niqe", help="the no-reference scorer of --no-reference (default niqe)")
    add_force_flag(r, "overwrite OUTPUT if it exists")
    r.add_argument("--max-length", type=flag_int, default=None, help="longest chain (default: the method's own)")
    r.add_argument("--tools", default=None, help="the tool set of rl-restore: original, noise (default, the shipped tools), joint, or a folder (chapter 5)")
    r.add_argument("--tile", type=flag_int, default=None, help="run the method on tiles of this size, bounding the memory "
                   f"(default {DEFAULT_TILE}); for the agents, tools, baselines and fixed chains: the searches and "
                   "PixelRL see the whole image and refuse it")
    add_device_flag(r)
    r.add_argument("--max-pixels", type=flag_int, default=None, help=_MAX_PIXELS_HELP)
    return ap


DEFAULT_TILE = 512
MAX_SEED = 2**32                # the per-image seeds (seed * 1,000,003 + i) must fit torch's 64-bit seeds
_MAX_PIXELS_HELP = (f"refuse images of more pixels than this (default {data.DEFAULT_MAX_PIXELS:,}, or "
                    "$RESTORELIB_MAX_PIXELS): a small file can hold a huge image")


def _load_images(spec: str, limit: int | None, max_pixels: int | None) -> dict:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be a positive int, got {limit}")
    path = Path(spec)
    if path.exists() or os.sep in spec:
        try:
            return data.load_folder(path, limit=limit, max_pixels=max_pixels)
        except ValueError as e:
            raise UsageError(f"--images: {e}") from None
    if spec in data.dataset_names() or spec.startswith("embedded"):
        try:
            return data.load_set(spec, limit=limit, max_pixels=max_pixels)
        except (ValueError, data.DownloadError) as e:
            raise UsageError(f"--images: {e}") from None
    raise UsageError(f"--images must be a folder or a set name ({', '.join(data.dataset_names())}, "
                     f"embedded, embedded-test), got {spec!r}")


def _write_json(obj: dict, out: Path, overwrite: bool) -> list[str]:
    """Write ``obj`` as strict JSON, atomically; NaN/inf become null, listed in ``null_values`` with the reason."""
    clean, nulls = json_ready(obj)
    if nulls:
        clean["null_values"] = {"why": "not a number (NaN or inf): the scorer could not score these images (e.g. "
                                       "NIQE a flat image, which has no textured block); written as null",
                                "where": nulls}
    text = json.dumps(clean, indent=2, allow_nan=False) + "\n"
    with _writing("--json", out):
        atomic.write_text(out, text, overwrite=overwrite)
    return nulls


@contextlib.contextmanager
def _writing(flag: str, path: Path) -> Iterator[None]:
    """Turn a failed final write into a one-line error (the target appeared meanwhile, or the disk is full)."""
    try:
        yield
    except FileExistsError:
        raise UsageError(f"{flag}: {str(path)!r} appeared while this ran; not overwritten (pass --force)") from None
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {str(path)!r} ({e.strerror or e})") from None


def _check_output(flag: str, path: Path, force: bool) -> None:
    try:
        atomic.check_output(flag, path, overwrite=force)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _check_common(args: argparse.Namespace) -> None:
    """The checks of ``$RESTORELIB_DEVICE`` (``--device`` is checked while parsing) and ``--max-pixels`` of
    ``evaluate`` and ``restore``."""
    if args.device is None and os.environ.get("RESTORELIB_DEVICE"):
        try:
            check_device(os.environ["RESTORELIB_DEVICE"])
        except ValueError as e:
            raise UsageError(f"RESTORELIB_DEVICE: {e}") from None
    if args.max_pixels is not None and args.max_pixels < 1:
        raise UsageError(f"--max-pixels must be a positive int, got {args.max_pixels}")
    try:
        data.pixel_limit(args.max_pixels)
    except ValueError as e:
        raise UsageError(str(e)) from None


def cmd_tools(args: argparse.Namespace) -> int:
    from .toolbox.tools import TOOL_SPECS, Toolbox, build_tool, count_params
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
    if args.distortion is None:
        if not args.no_reference:
            raise UsageError("--distortion is required (unless --no-reference)")
        args.distortion = "none"
    if args.no_reference:
        _check_scorer(args.scorer)
    try:
        parse_spec(args.distortion)
    except ValueError as e:
        raise UsageError(f"--distortion: {e}") from None
    if args.json is not None:
        _check_output("--json", args.json, args.force)
    _check_common(args)
    if args.patch is not None and args.patch < 11:
        raise UsageError(f"--patch must be at least 11 (SSIM's window), got {args.patch}")
    if args.patches_per_image < 1:
        raise UsageError(f"--patches-per-image must be a positive int, got {args.patches_per_image}")
    if abs(args.seed) > MAX_SEED:
        raise UsageError(f"--seed must be an int in -{MAX_SEED}..{MAX_SEED}, got {args.seed}")
    if args.budget is not None and args.budget < 1:
        raise UsageError(f"--budget must be a positive int, got {args.budget}")
    try:
        method = get_method(args.method, args.device, budget=args.budget, seed=args.seed, **_method_options(args))
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"{_flag_of(e)}: {e}") from None
    images = _load_images(args.images, args.limit, args.max_pixels)
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
        nulls = _write_json(result, args.json, args.force)
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


def _check_scorer(name: str) -> None:
    from .core.quality import scorer_names
    if name not in scorer_names():
        raise UsageError(f"--scorer must be one of {scorer_names()}, got {name!r}")


def _print_no_reference(scorer: str, x: torch.Tensor, restored: torch.Tensor) -> None:
    """``restore --no-reference``: the scorer's score of the input and of the output (higher = better, chapter 8)."""
    from .core.quality import check_scores, get_scorer
    score = get_scorer(scorer)
    s_in, s_out = (check_scores(score(im[None].float().clamp(0, 1)), 1, scorer).item() for im in (x, restored))
    print(f"  {scorer} score {s_in:.3f} -> {s_out:.3f} ({s_out - s_in:+.3f}; higher = better, no reference)")


def _method_options(args: argparse.Namespace) -> dict:
    """The options of ``--method`` given on the command line (``--max-length``, ``--tools``)."""
    opts: dict = {} if args.max_length is None else {"max_length": args.max_length}
    if args.tools is not None:
        if args.method.split(":")[0] != "rl-restore":
            raise UsageError(f"--tools applies to --method rl-restore only, got --method {args.method!r}")
        opts["tools"] = args.tools
    return opts


def _flag_of(error: Exception) -> str:
    """The flag a method's error is about: the option an :class:`~restorelib.core.method.OptionError` names."""
    return "--" + error.option.replace("_", "-") if isinstance(error, OptionError) else "--method"


def _restore_inputs(args: argparse.Namespace) -> tuple:
    """Every check of ``restore`` before the work: (image, its info, the reference or None, the method)."""
    out = args.output
    if out.suffix.lower() not in data.IMAGE_EXTENSIONS + (".webp",):
        raise UsageError(f"--output must end in one of {list(data.IMAGE_EXTENSIONS + ('.webp',))}, got {out.name!r}")
    _check_output("--output", out, args.force)
    if args.no_reference:
        if args.reference is not None:
            raise UsageError("--no-reference and --reference exclude each other: give one of them")
        _check_scorer(args.scorer)
    if args.tile is not None and args.tile < 64:
        raise UsageError(f"--tile must be at least 64, got {args.tile}")
    _check_common(args)
    try:
        x, info = data.read_for_restore(args.image, max_pixels=args.max_pixels)
    except (ValueError, OSError) as e:
        raise UsageError(f"image: {e}") from None
    ref = None
    if args.reference is not None:
        try:
            ref, _ = data.read_for_restore(args.reference, max_pixels=args.max_pixels)
        except (ValueError, OSError) as e:
            raise UsageError(f"--reference: {e}") from None
        if ref.shape != x.shape:
            raise UsageError(f"--reference must have the image's size {tuple(x.shape[-2:])}, got {tuple(ref.shape[-2:])}")
    try:
        method = get_method(args.method, args.device, **_method_options(args))
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"{_flag_of(e)}: {e}") from None
    can = capabilities(method)
    if args.tile is not None and not (can.votes or can.tiles):
        raise UsageError(f"--tile: method {method.name!r} sees the whole image at once and cannot run in tiles; "
                         "leave --tile out")
    return x, info, ref, method


def _restore_by_votes(method: object, x: torch.Tensor, ref: torch.Tensor | None, tile: int) -> tuple:
    """An agent (rl-restore, hirl, label-free) restores the whole image by patch voting; prints every step."""
    r = method.restorer
    n_max = capabilities(method).steps
    res = r.restore_image(x, n_max, reference=ref, tile=tile)
    n_patches = int(res.votes[0].sum()) if res.votes else 0
    print(f"{method.name}: {n_patches} patches of 63x63 vote at each step (at most {n_max or r.cfg.t_max} tools)")
    if res.psnr:
        print(f"  start: PSNR {res.psnr[0]:.2f} dB")
    for k, votes in enumerate(res.votes):
        a = int(votes.argmax())
        name = res.chain[k] if k < len(res.chain) else "stop"
        line = f"  step {k + 1}: {name:<10} ({int(votes[a])}/{n_patches} votes)"
        if res.psnr and k + 1 < len(res.psnr):
            line += f"  PSNR {res.psnr[k + 1]:.2f} dB ({res.psnr[k + 1] - res.psnr[k]:+.2f})"
        print(line)
    return res.image, res.chain


def _restore_whole(method: object, x: torch.Tensor, ref: torch.Tensor | None, tile: int) -> tuple:
    """Any other method restores the image in one call (in tiles when it can); prints PixelRL's actions and PSNR.
    Returns (restored image, chain, or None for PixelRL, which has no chain)."""
    dev = device_of(method)
    can = capabilities(method)
    tiling = {"tile": tile} if can.tiles else {}
    try:
        res = method.restore(x[None].to(dev), clean=None if ref is None else ref[None].to(dev), **tiling)
    except ValueError as e:
        raise UsageError(f"--method: {e}") from None
    restored, chain = res.images[0].cpu(), res.chains[0] if res.chains else []
    counts = method.last_counts if can.per_pixel else None  # PixelRL: actions per pixel, not a chain
    if counts is not None:
        from .pixelrl.method import describe_actions
        print(f"{method.name}: every pixel takes {len(counts)} actions; the most used at each step:")
        for line in describe_actions(counts):
            print(f"  {line}")
    if ref is not None:
        from .core.metrics import psnr
        p_in, p_out = psnr(x[None], ref[None]).item(), psnr(restored[None], ref[None]).item()
        print(f"  PSNR {p_in:.2f} -> {p_out:.2f} dB ({p_out - p_in:+.2f})")
    return restored, None if counts is not None else chain


def cmd_restore(args: argparse.Namespace) -> int:
    import torch

    x, info, ref, method = _restore_inputs(args)
    tile = DEFAULT_TILE if args.tile is None else args.tile
    print(f"input: {args.image} ({data.describe(info)})")
    for note in info["notes"]:
        print(f"  note: {note}")
    run = _restore_by_votes if capabilities(method).votes else _restore_whole
    restored, chain = run(method, x, ref, tile)
    if chain is not None:
        print("chain: " + (" -> ".join(chain) if chain else "(none: the input is returned unchanged)"))
    if args.no_reference:
        _print_no_reference(args.scorer, x, restored)
    with _writing("--output", args.output):
        data.write_restored(restored.clamp(0, 1).to(torch.float32), info, args.output, overwrite=args.force)
    print(f"wrote {args.output}")
    return 0


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While a command runs, SIGTERM raises SystemExit (exit 143), so its temporary files are removed as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:                  # argparse's own exit: --help (0), or a bad flag (2, one line)
        return int(stop.code or 0)
    try:
        with _terminate_cleanly():
            return {"tools": cmd_tools, "evaluate": cmd_evaluate, "restore": cmd_restore}[args.command](args)
    except UsageError as e:
        print(f"python -m restorelib {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
