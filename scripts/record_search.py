"""Run the oracle searches of chapters 3 and 4 (brute force per test patch, greedy for chapter 3, the best fixed
chain) and ship their records.

    RESTORELIB_DATA=/abs/data python scripts/record_search.py --force          # book scale -> both shipped records
    python scripts/record_search.py --chapter 3 --scale ci --out /tmp/ch3.json  # a quick try
    python scripts/record_search.py --scale ci --out-dir /tmp/records           # both chapters, a quick try

Run it after the toolbox (restorelib/weights/tools) is retrained: a record made with other tools is refused by the
chapters, which then search by themselves (and say so).

The searches and their inputs are exactly the chapters' (``restorelib.search.record.search_inputs``): at book
scale brute force over the 1,884 chains of up to 3 tools for the first 12 (chapter 3) or 20 (chapter 4) CBSD68
images in each of the mild, moderate and severe groups, greedy for chapter 3, and the best fixed chain on 16
training patches. Each record is re-applied and checked here before it is written (atomically); the chapters replay
it and check every chain again (``search_baselines``).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from restorelib.core.flags import add_device_flag, add_force_flag, add_out_flag, add_scale_flag
from restorelib.core import config, data, degradations
from restorelib.rlrestore import dqn
from restorelib.core.atomic import check_writable, write_text
from restorelib.search.record import KINDS, RECORDS, record_of, search_baselines, search_inputs
from restorelib.toolbox.tools import Toolbox


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # one line, exit 2 (argparse prints the usage first)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _targets(ap: _Parser, args: argparse.Namespace) -> dict[int, Path]:
    """The record each chapter asked for is written to, checked before any work."""
    chapters = (3, 4) if args.chapter == "all" else (int(args.chapter),)
    if args.out is not None and args.out_dir is not None:
        ap.error("give --out or --out-dir, not both")
    if args.out is not None and len(chapters) > 1:
        ap.error("--out names one record: give --chapter 3 or 4 with it, or --out-dir DIR for both")
    if args.out_dir is not None and not args.out_dir.is_dir():
        ap.error(f"--out-dir must be an existing folder, got {str(args.out_dir)!r}")
    out = {c: args.out if args.out is not None else
           (args.out_dir / RECORDS[c].name if args.out_dir is not None else RECORDS[c]) for c in chapters}
    for c, path in out.items():
        try:
            check_writable(path, overwrite=args.force)
        except FileExistsError:
            ap.error(f"{path} exists: give --force to overwrite it")
        except (ValueError, OSError) as e:
            ap.error(f"{'--out' if args.out is not None else '--out-dir'}: {e}")
    return out


def record_chapter(chapter: int, profile: config.Profile, toolbox: Toolbox, test_all: dict, device: torch.device,
                   command: str) -> tuple[dict, float]:
    """Chapter ``chapter``'s searches made here, as a record checked by replaying it; and their seconds."""
    t_max = dqn.load_agent("rl-restore")[1].t_max if chapter == 4 else 3
    images, train_deg, train_clean, max_len = search_inputs(profile, test_all, t_max, chapter=chapter)
    groups = tuple(degradations.GROUPS)
    t0 = time.perf_counter()
    with torch.no_grad():
        found = search_baselines(toolbox, images, groups, max_len, train_deg, train_clean, device, record=None,
                                 progress=True, kinds=KINDS[chapter])
    seconds = time.perf_counter() - t0
    rec = record_of(found, toolbox, images, groups, max_len, train_deg, train_clean, command, seconds, device)
    again = search_baselines(toolbox, images, groups, max_len, train_deg, train_clean, device, record=rec,
                             kinds=KINDS[chapter])
    if again.source != "record":
        raise RuntimeError(f"chapter {chapter}'s record does not replay here: {again.reason}")
    print(f"chapter {chapter}: best fixed chain {' -> '.join(found.fixed_chain) or '(none)'}, "
          f"{' and '.join(KINDS[chapter])} L={max_len} on {len(images)} patches x {len(groups)} groups, "
          f"{seconds / 60:.1f} min", flush=True)
    return rec, seconds


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chapter", default="all", choices=("3", "4", "all"), help="whose record (default all)")
    add_scale_flag(ap, config.PROFILES, help="the chapters' scale (default book)")
    add_out_flag(ap, None, "the record to write, with --chapter 3 or 4 (default the shipped one, "
                 "restorelib/weights/agents/...)")
    ap.add_argument("--out-dir", type=Path, default=None, help="write the records under their names in this folder")
    add_force_flag(ap, "overwrite existing records")
    add_device_flag(ap)
    args = ap.parse_args(argv)
    out = _targets(ap, args)
    try:
        device = config.get_device(args.device)
    except ValueError as e:
        ap.error(f"--device: {e}")
    profile = config.get_profile(args.scale)
    toolbox = Toolbox.load(device=device)
    try:
        test_all = data.load_set("CBSD68")
    except data.DownloadError:
        test_all = data.load_set("embedded-test")
    command = "python scripts/record_search.py" + "".join(f" {shlex.quote(a)}" for a in
                                                          (sys.argv[1:] if argv is None else argv))
    for chapter, path in out.items():
        rec, _ = record_chapter(chapter, profile, toolbox, test_all, device, command)
        write_text(path, json.dumps(rec, indent=1) + "\n", overwrite=args.force)
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
