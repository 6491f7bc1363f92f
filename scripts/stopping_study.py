"""Do the agents stop at their best step? Whole photos with noise and JPEG, the PSNR after every step.

    RESTORELIB_DATA=/abs/data python scripts/stopping_study.py --methods rl-restore rl-restore:rl-restore-train400 \\
        hirl label-free --set CBSD68 --limit 6 --json restorelib/weights/agents/stopping.json
    python scripts/stopping_study.py --methods rl-restore --set embedded-test            # offline

Every method (an agent that restores whole photos by patch voting: ``rl-restore[:AGENT]``, ``hirl[:AGENT]``,
``label-free[:AGENT]``) restores the same seeded degradations of the first ``--limit`` photos of ``--set``
(``--spec``, default noise sigma 15-35 and JPEG quality 20-40, drawn per photo). Printed per method: on how many
photos the chain ended at the step where the PSNR peaked, what its end lost against that peak (mean, largest), the
tool calls and the gain over the input (restorelib.rlrestore.stopping). ``--stop-shares`` adds the same figures for
the cautious vote (end the chain when at least that share of the patches votes stop), read from the same runs; choose
the share on training photos (``--set CBSD398``), then test it on CBSD68. ``--json`` writes it all with the command;
with ``--update`` an existing OUT of the same set, photos, spec and seed keeps its other methods (each method records
its command), so agents retrained later are measured again alone.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from restorelib.core import data
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core.config import get_device
from restorelib.core.degradations import parse_spec
from restorelib.core.flags import add_device_flag, add_seed_flag
from restorelib.core.method import capabilities
from restorelib.core.validation import flag_float, flag_int
from restorelib.evaluate import get_method
from restorelib.rlrestore.restore import check_stop_share
from restorelib.rlrestore.stopping import stopping_study

DEFAULT_SPEC = "noise:15..35+jpeg:20..40"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="+", required=True, metavar="M", help="agents that restore whole photos by voting")
    ap.add_argument("--set", default="CBSD68", help="photo set (default CBSD68)")
    ap.add_argument("--limit", type=flag_int, default=6, help="the first N photos of --set (default 6)")
    ap.add_argument("--spec", default=DEFAULT_SPEC, help=f"the distortion (default {DEFAULT_SPEC})")
    ap.add_argument("--stop-shares", type=flag_float, nargs="+", default=[], metavar="S",
                    help="shares in (0, 1] of stop votes that end a chain (the cautious vote), measured beside the "
                         "majority rule")
    ap.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the study as JSON to OUT")
    ap.add_argument("--update", action="store_true", help="keep the other methods of an existing OUT (same study)")
    add_seed_flag(ap)
    add_device_flag(ap)
    args = ap.parse_args(argv)
    if args.limit < 1:
        ap.error(f"--limit must be a positive int, got {args.limit}")
    try:
        parse_spec(args.spec)
    except ValueError as e:
        ap.error(f"--spec: {e}")
    for share in args.stop_shares:
        try:
            check_stop_share(share)
        except ValueError as e:
            ap.error(f"--stop-shares: {e}")
    if args.update and args.json is None:
        ap.error("--update needs --json OUT")
    if args.json is not None:
        exit_unless_writable(ap, "--json", args.json, overwrite=args.update)
    kept = {}
    if args.update and args.json.is_file():
        old = json.loads(args.json.read_text())
        if [old.get(k) for k in ("set", "limit", "spec", "seed")] != [args.set, args.limit, args.spec, args.seed]:
            ap.error(f"--update: {args.json} holds another study (set, limit, spec, seed {old.get('set')}, "
                     f"{old.get('limit')}, {old.get('spec')}, {old.get('seed')})")
        kept = {k: {"command": old.get("command"), **v} for k, v in old["methods"].items()}
    dev = get_device(args.device)
    restorers = {}
    for name in args.methods:
        try:
            method = get_method(name, dev)
        except (ValueError, TypeError, FileNotFoundError) as e:
            ap.error(f"--methods: {e}")
        if not capabilities(method).votes:
            ap.error(f"--methods: {name!r} does not restore whole photos by patch voting; give rl-restore, hirl "
                     "or label-free agents")
        restorers[name] = method.restorer
    try:
        images = data.load_set(args.set, limit=args.limit)
    except (KeyError, ValueError, FileNotFoundError, data.DownloadError) as e:
        ap.error(f"--set: {e}")
    results = {}
    command = " ".join(["python scripts/stopping_study.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"{args.set}, {len(images)} whole photos, {args.spec}, seed {args.seed}")
    for name, r in restorers.items():
        s = results[name] = {"command": command,
                             **stopping_study(r, images, args.spec, args.seed, stop_shares=args.stop_shares)}
        for label, f in [(name, s), *((f"  stop share >= {k}", v) for k, v in s["cautious"].items())]:
            print(f"  {label:<28} ended at its best step on {f['at_best']}/{s['photos_n']} photos; below its peak by "
                  f"{f['mean_loss_db']:.2f} dB on average (at most {f['max_loss_db']:.2f}); {f['mean_calls']:.2f} "
                  f"calls; gain {f['mean_gain_db']:+.2f} dB")
    if args.json is not None:
        out = {"set": args.set, "limit": args.limit, "spec": args.spec, "seed": args.seed,
               "methods": {**{k: v for k, v in kept.items() if k not in results}, **results}, "command": command}
        write_text(args.json, json.dumps(out, indent=2) + "\n", overwrite=args.update)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
