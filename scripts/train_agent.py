"""Train RL-Restore's DQN agent on the shipped toolbox and write the checkpoint + a record beside it.

    python scripts/train_agent.py --scale book                       # the shipped agent (2-core CPU, ~1 h)
    python scripts/train_agent.py --scale ablation --no-stop         # one of chapter 4's ablations (~12 min)
    python scripts/train_agent.py --scale paper --out runs/agent     # the paper's 2M steps, on a GPU
    python scripts/train_agent.py --scale book --steps 30000 --eps-start 0.1 --train-every 4 --init-from rl-restore
                                                                     # continue the shipped agent

    RESTORELIB_DATA=/abs/data python scripts/train_agent.py --scale book --val-set LIVE1 \
        --train-set embedded-train Train400 --out restorelib/weights/agents/rl-restore-train400
                                                                     # more data, validation (chapter 4)

Training patches: 63x63 crops of the embedded training photos (or of the ``--train-set`` sets) at three scales,
degraded on the fly by the moderate group. ``--end-if-worse`` ends an episode when PSNR falls below the input's, as
the authors' environment does; ``--double`` uses Double DQN targets; ``--amp`` runs the learning step in bf16 autocast (a CPU with native bf16) or
mixed precision (a GPU); ``--val-set`` validates every ``--val-every``
steps on another set (moderate group) and keeps the best snapshot, with the validation curve in the record.

OUT receives ``agent.pt``, ``record.json`` (command, config, hardware, seconds, sha256, learning curve) and a
``README.md`` model card. The default OUT is the package's folder for that agent, e.g.
``restorelib/weights/agents/rl-restore`` or ``.../agents/ablation-no-stop``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


from restorelib.core.flags import add_common_flags, add_train_set_flag
from restorelib.core.checkpoints import RECORD, read_json
from restorelib.core.validation import flag_float, flag_int
from restorelib.core import data
from restorelib.rlrestore import dqn
from restorelib.rlrestore.dqn import SCALES, ablation_name, save_agent
from restorelib.core.config import get_device, seed_everything, weights_dir
from restorelib.evaluate import evaluate
from restorelib.rlrestore.restore import AgentMethod, AgentRestorer
from restorelib.rlrestore.nets import PATCH
from restorelib.core.banks import train_sampler
from restorelib.core.resume import finish_partial, partial_state
from restorelib.toolbox.tools import Toolbox


class Validator:
    """Called by ``train_dqn`` at every logged step: every ``every`` steps it measures the agent's mean PSNR on
    4 seeded 63x63 patches per validation image, degraded by the training group, and keeps the best weights."""

    PATCHES_PER_IMAGE, SEED = 4, 0

    def __init__(self, images, toolbox: Toolbox, cfg, every: int, device) -> None:
        self.images, self.toolbox, self.cfg, self.every, self.device = images, toolbox, cfg, every, device
        self.steps, self.psnr, self.next = [], [], every
        self.best, self.best_step, self.best_state = float("-inf"), None, None

    def __call__(self, steps: int, net, force: bool = False) -> None:
        if (steps < self.next and not force) or (self.steps and self.steps[-1] == steps):
            return
        self.next = steps + self.every
        method = AgentMethod(AgentRestorer(net.eval(), self.cfg, self.toolbox), name="validation")
        p = evaluate(method, self.images, self.cfg.group, patch=63, patches_per_image=self.PATCHES_PER_IMAGE,
                     seed=self.SEED, device=self.device)["psnr_out"]
        self.steps.append(steps), self.psnr.append(round(p, 4))
        print(f"[validate] step {steps}: {p:.3f} dB", flush=True)
        if p > self.best:
            self.best, self.best_step = p, steps
            self.best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}

    def state_dict(self) -> dict:
        """What a resumed run needs to go on validating and keeping the best snapshot."""
        return {"steps": self.steps, "psnr": self.psnr, "next": self.next, "best": self.best,
                "best_step": self.best_step, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    def record(self, name: str) -> dict:
        return {"set": name, "group": self.cfg.group, "patches_per_image": self.PATCHES_PER_IMAGE, "seed": self.SEED,
                "steps": self.steps, "psnr": self.psnr, "kept_step": self.best_step}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(ap, scales=SCALES, out_help="the agent's folder (default restorelib/weights/agents/rl-restore, "
                     "or restorelib/weights/agents/ABLATION with --scale ablation)")
    ap.add_argument("--steps", type=flag_int, default=None, help="override the number of environment steps")
    ap.add_argument("--reward", choices=("psnr", "final-psnr", "final-mse", "ssim"), default="psnr")
    ap.add_argument("--t-max", type=flag_int, default=3)
    ap.add_argument("--no-stop", action="store_true", help="no stop action: every episode runs t_max tools")
    ap.add_argument("--six-tools", action="store_true", help="only the tools -2 and -4 of each distortion")
    ap.add_argument("--init-from", default=None, metavar="AGENT",
                    help="continue from a trained agent (shipped name or folder) with this run's schedule")
    ap.add_argument("--train-every", type=flag_int, default=None, help="patch-steps per gradient step (default: scale's)")
    ap.add_argument("--eps-start", type=flag_float, default=None, help="initial exploration rate (default: scale's)")
    ap.add_argument("--double", action="store_true", help="Double DQN targets (not in the paper)")
    ap.add_argument("--end-if-worse", action="store_true",
                    help="end an episode when PSNR falls below the input's (the authors' training environment)")
    ap.add_argument("--amp", action="store_true",
                    help="the learning step in bfloat16 autocast (CPU) or mixed precision (GPU); default float32")
    ap.add_argument("--val-set", default=None, metavar="SET",
                    help="validate every --val-every steps on 63x63 patches of SET (e.g. LIVE1) degraded by the "
                         "training group, and keep the best snapshot (default: keep the last)")
    ap.add_argument("--val-every", type=flag_int, default=10_000, help="steps between validations (default 10000)")
    add_train_set_flag(ap, "training patches of the agent")
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        ap.error(f"--steps must be a positive int, got {args.steps}")
    if args.t_max < 1:
        ap.error(f"--t-max must be a positive int, got {args.t_max}")
    cfg = replace(SCALES[args.scale], seed=args.seed, reward=args.reward, t_max=args.t_max,
                  stop_action=not args.no_stop, tools=dqn.SIX_TOOLS if args.six_tools else None,
                  reward_scale=0.01 if args.reward == "final-mse" else 1.0)
    if args.steps:
        cfg = replace(cfg, steps=args.steps, eps_decay=min(cfg.eps_decay, args.steps // 2))
    if args.val_every < 1:
        ap.error(f"--val-every must be a positive int, got {args.val_every}")
    cfg = replace(cfg, double=args.double or cfg.double, end_if_worse=args.end_if_worse or cfg.end_if_worse,
                  amp=args.amp or cfg.amp)
    if args.train_every is not None:
        if args.train_every < 1:
            ap.error(f"--train-every must be a positive int, got {args.train_every}")
        cfg = replace(cfg, train_every=args.train_every)
    if args.eps_start is not None:
        if not 0 <= args.eps_start <= 1:
            ap.error(f"--eps-start must be in [0, 1], got {args.eps_start}")
        cfg = replace(cfg, eps_start=args.eps_start)
    init, extra = None, None
    if args.init_from:
        try:
            init, init_cfg = dqn.load_agent(args.init_from)
        except (FileNotFoundError, ValueError) as e:
            ap.error(f"--init-from: {e}")
        if (init_cfg.t_max, init_cfg.tools, init_cfg.stop_action) != (cfg.t_max, cfg.tools, cfg.stop_action):
            ap.error("--init-from: the agent's t_max, tools and stop action must match this run's")
        folder = Path(args.init_from) if Path(args.init_from).is_dir() else weights_dir() / "agents" / args.init_from
        extra = {"init_from": read_json(folder / RECORD)}
    name = "rl-restore" if args.scale != "ablation" else ablation_name(cfg)
    out = args.out or weights_dir() / "agents" / name
    state = partial_state(ap, args, out, "agent.state.pt")
    seed_everything(args.seed)
    dev = get_device(args.device)
    images, bank = train_sampler(ap, args.train_set, PATCH)   # fresh 63x63 crops at three scales; gray as RGB
    toolbox = Toolbox.load(device=dev)
    validator = None
    if args.val_set:
        try:
            validator = Validator(data.load_set(args.val_set), toolbox, cfg, args.val_every, dev)
        except (KeyError, ValueError, FileNotFoundError) as e:
            ap.error(f"--val-set: {e}")
    command = " ".join(["python scripts/train_agent.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"[train_agent] {name}: {cfg.to_dict()}", flush=True)
    try:
        net, rec = dqn.train_dqn(toolbox, bank, cfg, device=dev, log_every=max(1, cfg.steps // 50), log=print,
                                 init=init, callback=validator, checkpoint=state,
                                 checkpoint_every=args.checkpoint_every)
    except ValueError as e:                             # a state saved with another configuration
        ap.error(f"--resume: {e}")
    if validator is not None:
        validator(rec.steps[-1], net, force=True)
        net.load_state_dict(validator.best_state)
        extra = {**(extra or {}), "validation": validator.record(args.val_set)}
        print(f"[train_agent] kept the snapshot of step {validator.best_step} "
              f"({validator.best:.3f} dB on {args.val_set})", flush=True)
    extra = {**(extra or {}), "train_sets": args.train_set, "train_images": len(images)}
    save_agent(net, cfg, rec, out, command=command, scale=args.scale, device=dev, train_patches=len(bank),
               extra=extra)
    finish_partial(out)
    print(f"[train_agent] wrote {out / 'agent.pt'}, record.json and README.md ({rec.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
