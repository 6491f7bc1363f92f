"""Time the book's build as a reader meets it: a first build of a clean checkout, then a rebuild with nothing changed.

    RESTORELIB_DATA=/abs/data python scripts/time_book.py --scale book   # `make book`: about 20-40 min on 2 cores
    python scripts/time_book.py --scale ci                               # `make book-ci` (strict, RESTORELIB_FAST=1)

The commit checked out (HEAD) is built in a temporary git worktree, so uncommitted changes are not measured and the
working tree's own ``_build`` is left alone. The first build starts from an empty execution cache; the second must
execute nothing (jupyter-cache, ``execute_notebooks: cache`` in ``_config.yml``). Per-chapter execution times are
read from that cache. ``OUT`` (default ``book/build_times/times.json``) keeps one entry per scale, with the commit,
date, hardware and the load average beside it (the machine should be otherwise idle); ``table.md`` beside it is the
table that ``book/how_to_use.md`` includes. Issue "the reader's book", section 4: goals <= 20 min at book scale,
<= 1 min for the rebuild, <= 4 min at CI scale.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core.config import hardware
from restorelib.core.flags import add_out_flag, add_scale_flag

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "build_times" / "times.json"
BUILD = {"ci": ["jupyter-book", "build", ".", "-W", "-n", "--keep-going"], "book": ["jupyter-book", "build", "."]}
GOALS = {"ci": {"first": 240}, "book": {"first": 1200, "rebuild": 60}}  # seconds, issue 19 section 4


def build(tree: Path, scale: str) -> float:
    """Seconds of one ``jupyter-book build`` of ``tree`` at ``scale``; raises CalledProcessError if it fails."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("RESTORELIB_PROFILE", None)
    if scale == "ci":
        env["RESTORELIB_FAST"] = "1"
    else:
        env.pop("RESTORELIB_FAST", None)
    t0 = time.perf_counter()
    subprocess.run(BUILD[scale], cwd=tree, env=env, check=True, stdout=sys.stdout, stderr=subprocess.STDOUT)
    return time.perf_counter() - t0


def cached(tree: Path) -> dict[str, tuple[int, float]]:
    """``tree``'s jupyter-cache by notebook file name (``04_rl_restore.ipynb``): (record id, execution seconds)."""
    from jupyter_cache import get_cache
    cache = get_cache(tree / "_build" / ".jupyter_cache")
    return {Path(r.uri).name: (r.pk, round(r.data["execution_seconds"], 1)) for r in cache.list_cache_records()}


def render_table(times: dict) -> str:
    """The Markdown table of ``times.json``: one row per chapter, a column per measured scale, then the totals."""
    scales = [s for s in ("ci", "book") if s in times]
    heads = {"ci": "CI scale (`RESTORELIB_FAST=1`)", "book": "book scale (CPU default)"}
    names = sorted({n for s in scales for n in times[s]["chapters"]})
    fmt = lambda v: "-" if v is None else (f"{v:.0f} s" if v < 120 else f"{v / 60:.1f} min")  # noqa: E731
    lines = ["| Chapter | " + " | ".join(heads[s] for s in scales) + " |", "|---" * (len(scales) + 1) + "|"]
    for n in names:
        lines.append(f"| {n.removesuffix('.ipynb')} | " + " | ".join(fmt(times[s]["chapters"].get(n))
                                                                   for s in scales) + " |")
    lines.append("| **whole build** | " + " | ".join(f"**{fmt(times[s]['first_seconds'])}**" for s in scales) + " |")
    lines.append("| rebuild, nothing changed | " + " | ".join(fmt(times[s].get("rebuild_seconds")) for s in scales)
                 + " |")
    notes = [f"{heads[s].split(' (')[0]}: commit `{times[s]['commit'][:10]}`, {times[s]['date']}, "
             f"{times[s]['hardware']}, load average {times[s]['load_before']:.2f} before the build" for s in scales]
    return "\n".join(lines) + "\n\n" + "; ".join(notes) + ". Written by `python scripts/time_book.py`.\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_flag(ap, BUILD, help="ci (make book-ci) or book (make book)", required=True)
    add_out_flag(ap, DEFAULT_OUT, help="the JSON to update (default book/build_times/)")
    ap.add_argument("--no-rebuild", action="store_true", help="skip the second, nothing-changed build")
    args = ap.parse_args(argv)
    if args.out.suffix != ".json":
        ap.error(f"--out must be a .json file, got {args.out}")
    exit_unless_writable(ap, "--out", args.out, overwrite=True, make_folder=True)
    try:
        times = json.loads(args.out.read_text()) if args.out.is_file() else {}
    except json.JSONDecodeError as e:
        ap.error(f"--out: {args.out} is not JSON ({e.msg})")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="time-book-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=ROOT, check=True)
        try:
            load = os.getloadavg()[0]
            first = build(tree, args.scale)
            before = cached(tree)
            rebuild, executed = None, None
            if not args.no_rebuild:
                rebuild = build(tree, args.scale)
                executed = sum(cached(tree).get(n) != v for n, v in before.items())  # a re-run gets a new id
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    times[args.scale] = {"command": " ".join(["python scripts/time_book.py", *(argv or sys.argv[1:])]),
                         "build": " ".join(BUILD[args.scale]), "commit": commit, "date": time.strftime("%Y-%m-%d"),
                         "hardware": hardware("cpu").rsplit(",", 1)[0] + f", {os.cpu_count()} cores",
                         "load_before": round(load, 2),
                         "data": "RESTORELIB_DATA" if os.environ.get("RESTORELIB_DATA") else "downloaded",
                         "first_seconds": round(first, 1), "chapters": {n: v[1] for n, v in before.items()},
                         "rebuild_seconds": None if rebuild is None else round(rebuild, 1),
                         "rebuild_executed": executed, "goals_seconds": GOALS[args.scale]}
    write_text(args.out, json.dumps(times, indent=1) + "\n", overwrite=True)
    write_text(args.out.with_name("table.md"), render_table(times), overwrite=True)
    print(f"[time_book] {args.scale}: first build {first:.0f} s, rebuild "
          f"{'-' if rebuild is None else f'{rebuild:.0f} s'}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
