"""Run chapter 4's oracle searches (brute force per test patch, the best fixed chain) and ship their record.

    RESTORELIB_DATA=/abs/data python scripts/record_search.py                # book scale -> the shipped record
    python scripts/record_search.py --scale ci --out /tmp/search.json      # a quick try

The searches and their inputs are exactly the chapter's (``restorelib.search_record.search_inputs``): at book
scale brute force over the 1,884 chains of up to 3 tools for the first 20 CBSD68 images in each of the mild,
moderate and severe groups, and the best fixed chain on 16 training patches. Chapter 4 replays the record and checks
every chain (``search_baselines``); run this again after the tools change (the chapter searches by itself until
then, and says so).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from restorelib import config, data, degradations, dqn  # noqa: E402
from restorelib.atomic import check_writable, write_text  # noqa: E402
from restorelib.search_record import RECORD, record_of, search_baselines, search_inputs  # noqa: E402
from restorelib.tools import Toolbox  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="book", choices=config.PROFILES, help="the chapter's scale (default book)")
    ap.add_argument("--out", type=Path, default=RECORD, help=f"the record to write (default {RECORD})")
    ap.add_argument("--force", action="store_true", help="overwrite --out")
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    try:
        check_writable(args.out, overwrite=args.force)
        device = config.get_device(args.device)
    except ValueError as e:
        ap.error(str(e))
    profile = config.get_profile(args.scale)
    toolbox = Toolbox.load(device=device)
    try:
        test_all = data.load_set("CBSD68")
    except data.DownloadError:
        test_all = data.load_set("embedded-test")
    t_max = dqn.load_agent("rl-restore")[1].t_max
    images, train_deg, train_clean, max_len = search_inputs(profile, test_all, t_max)
    groups = tuple(degradations.GROUPS)
    t0 = time.perf_counter()
    with torch.no_grad():
        found = search_baselines(toolbox, images, groups, max_len, train_deg, train_clean, device, record=None,
                                 progress=True)
    seconds = time.perf_counter() - t0
    command = "python scripts/record_search.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
    rec = record_of(found, toolbox, images, groups, max_len, train_deg, train_clean, command, seconds, device)
    write_text(args.out, json.dumps(rec, indent=1) + "\n", overwrite=args.force)
    print(f"{args.out}: best fixed chain {' -> '.join(found.fixed_chain) or '(none)'}, brute force L={max_len} on "
          f"{len(images)} patches x {len(groups)} groups, {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
