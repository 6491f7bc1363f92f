"""Fine-tune the toolbox jointly along a trained agent's chains (chapter 5; RL-Restore's Algorithm 1).

    python scripts/train_joint.py --scale book          # shipped tools + rl-restore -> restorelib/weights/tools-joint
    python scripts/train_joint.py --scale ci --tools /tmp/tools --agent /tmp/agent --out /tmp/joint

    RESTORELIB_DATA=/abs/data python scripts/train_joint.py --scale book --train-set CBSD398 --resume

The agent (``--agent``, a shipped name or a folder) is fixed; it picks the chains of every batch of fresh 63x63 crops
of the photos of ``--train-set`` (default the embedded training photos, at three scales), degraded by its training
group, and :func:`restorelib.joint.joint.train_joint` updates the tools along them. The whole run is saved into
OUT/.partial every ``--checkpoint-every`` seconds; ``--resume`` continues a stopped run from there (without it a
stopped run's state is refused, exit 2). OUT receives the 12 tools, ``manifest.json`` (sha256 of every file, as
``Toolbox.load`` expects) and ``record.json`` (command, config, hardware, seconds, the agent and the tools it started
from, the training sets, curves, how often each tool was used) and a README card. Restore with them through ``AgentRestorer.load("rl-restore", toolbox=Toolbox.load(OUT))``.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.checkpoints import RECORD, read_json
from restorelib.core.validation import flag_int
from restorelib.core.atomic import write_text
from restorelib.core.banks import train_sampler, train_set_record
from restorelib.core.config import get_device, hardware, seed_everything, weights_dir
from restorelib.joint.joint import SCALES, train_joint
from restorelib.rlrestore.restore import AgentRestorer
from restorelib.core.resume import ConfigMismatch, finish_partial, partial_state
from restorelib.toolbox.tools import Toolbox, sha256_bytes


ROOT = Path(__file__).resolve().parents[1]


def shown(path: Path) -> str:
    """A path as the record shows it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write_card(folder: Path) -> Path:
    """(Re)write the README.md card of a jointly trained toolbox from its ``record.json``."""
    r = read_json(folder / RECORD)
    c = r["curve"]
    tail = ", ".join(f"{s}: {v:+.2f}" for s, v in list(zip(c["steps"], c["psnr_gain_db"]))[-3:])
    uses = ", ".join(f"{k} {v:,}" for k, v in sorted(r["uses"].items(), key=lambda kv: -kv[1]))
    text = (f"# Jointly trained tools ({r['scale']} scale)\n\nProduced by `{r['command']}` ({r['hardware']}, "
            f"{r['device']}, torch {r['torch']}), {r['seconds'] / 60:.1f} min: the tools of `{r['tools_from']}` "
            f"fine-tuned along the chains of the fixed agent `{r['agent']}` (RL-Restore's Algorithm 1, chapter 5). "
            f"Configuration: `{json.dumps(r['config'])}`.\n\nPSNR gain of the training batches after the update "
            f"(dB) at the last logged steps: {tail}. Tool applications during the fine-tuning (the counters): "
            f"{uses}; a tool the agent never applied is unchanged. `manifest.json` holds every file's sha256, "
            f"checked on load; the curves are in `record.json`. Use them with `--tools joint`.\n")
    write_text(folder / "README.md", text, overwrite=True)
    return folder / "README.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=SCALES, out=weights_dir() / "tools-joint",
                     out_help="the fine-tuned toolbox's folder (default %(default)s)")
    ap.add_argument("--tools", type=Path, default=weights_dir() / "tools", help="the tools to start from")
    ap.add_argument("--agent", default="rl-restore", help="the fixed agent (shipped name or folder)")
    ap.add_argument("--steps", type=flag_int, default=None)
    add_train_set_flag(ap, "63x63 training patches")
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    if not (args.tools / "manifest.json").is_file():
        ap.error(f"--tools: {str(args.tools)!r} holds no manifest.json")
    if args.out.resolve() == args.tools.resolve():
        ap.error("--out must differ from --tools (the tools it starts from are kept)")
    state = partial_state(ap, args, args.out, "joint.state.pt")
    dev = get_device(args.device)
    toolbox = Toolbox.load(args.tools, dev)
    try:
        restorer = AgentRestorer.load(args.agent, dev, toolbox)
    except FileNotFoundError as e:
        ap.error(f"--agent: {e}")
    cfg = replace(SCALES[args.scale], seed=args.seed, spec=restorer.cfg.group,
                  **({"steps": args.steps} if args.steps else {}))
    seed_everything(args.seed)
    images, bank = train_sampler(ap, args.train_set, 63)
    command = " ".join(["python scripts/train_joint.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_joint] {len(bank):,} crop positions in {len(images)} images, agent {args.agent}; "
          f"{cfg.to_dict()}", flush=True)
    try:
        rec = train_joint(toolbox, lambda x: restorer.rollout(x)[1], bank, cfg, device=dev,
                          log=functools.partial(print, flush=True), checkpoint=state,
                          checkpoint_every=args.checkpoint_every)
    except ConfigMismatch as e:                         # a state saved with another configuration
        ap.error(f"--resume: {e}")
    manifest = toolbox.cpu().save(args.out, extra={"joint": {"from": shown(args.tools), "agent": str(args.agent)}})
    record = {"command": command, "scale": args.scale, "config": cfg.to_dict(), "seconds": round(rec.seconds, 1),
              "hardware": hardware(dev), "device": str(dev),
              "torch": torch.__version__, "agent": str(args.agent), "tools_from": shown(args.tools),
              "tools_from_sha256": sha256_bytes((args.tools / "manifest.json").read_bytes()),
              "manifest_sha256": sha256_bytes(manifest.read_bytes()), "uses": rec.uses,
              **train_set_record(args.train_set, images), "train_patches": len(bank),
              "curve": rec.curve()}
    write_text(args.out / RECORD, json.dumps(record, indent=2) + "\n", overwrite=True)
    write_card(args.out)
    finish_partial(args.out)
    print(f"[train_joint] wrote {args.out} ({rec.seconds:.0f} s); tools used: {rec.uses}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
