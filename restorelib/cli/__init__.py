"""The command line: ``python -m restorelib {tools,evaluate,restore} ...`` (see the README and "How to use this book").

The parser and ``main`` are here; each command in its module (:mod:`.evaluate`: ``tools`` and ``evaluate``,
:mod:`.restore`), what they share in :mod:`.common`.

Bad arguments give a one-line error on stderr and exit code 2, found before any work; nothing is written in that
case. Every file is written atomically (:mod:`restorelib.core.atomic`): complete or not at all, never over an existing
file without ``--force`` (even one created while the command ran).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import atomic, data
from ..core.flags import add_device_flag, add_force_flag, add_seed_flag
from ..core.validation import flag_int
from ..evaluate import method_names
from .common import DEFAULT_TILE, MAX_PIXELS_HELP, UsageError, Parser
from .evaluate import cmd_evaluate, cmd_tools
from .restore import cmd_restore


def _parser() -> argparse.ArgumentParser:
    ap = Parser(prog="python -m restorelib", description="RL image restoration: tools and evaluation.")
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
    e.add_argument("--style", default=None, help="local colour enhancement (chapter 7): each photo's target is its "
                   "STYLE edit (popout, watercolor), or with --images Yan2016 the paper's test target (foregroundpopout, "
                   "xpro, watercolor); measures the mean CIELab error instead of PSNR, on whole photos")
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
    e.add_argument("--max-pixels", type=flag_int, default=None, help=MAX_PIXELS_HELP)
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
    r.add_argument("--max-pixels", type=flag_int, default=None, help=MAX_PIXELS_HELP)
    return ap


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:                  # argparse's own exit: --help (0), or a bad flag (2, one line)
        return int(stop.code or 0)
    try:
        with atomic.terminate_cleanly():
            return {"tools": cmd_tools, "evaluate": cmd_evaluate, "restore": cmd_restore}[args.command](args)
    except UsageError as e:
        print(f"python -m restorelib {args.command}: error: {e}", file=sys.stderr)
        return 2
