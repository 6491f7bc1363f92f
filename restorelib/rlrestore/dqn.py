"""Deep Q-learning of RL-Restore's agent (chapter 4), and the trained agent as a restorer.

As in the paper and the authors' code: whole episodes are stored in a replay memory and replayed sequentially
through the LSTM (from a zero state), a target network gives the bootstrap values, the loss is Huber, exploration is
epsilon-greedy with a linear decay, gamma = 0.99, Adam. An episode ends on ``stop`` or after ``t_max`` tools.
Training patches are 63x63 crops of the training photos degraded on the fly by the ``moderate`` group.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .nets import PATCH, RLRestoreNet, epsilon, td_targets
from ..core.config import weights_dir
from ..core.scales import ABLATION_SCHEDULE, build_scales
from ..core.training_log import TrainingLog
from ..core.validation import positive_ints
from ..core.artifacts import ArtifactKind, load_or_train
from ..core.checkpoints import RECORD
from .cards import write_card
from ..core.degradations import degrade, parse_spec
from .env import REWARDS, RestoreEnv
from ..core.banks import check_bank, draw_clean
from ..core.long_runs import Progress
from ..core.patches import CropSampler
from .replay import EpisodeMemory
from ..core.resume import Checkpointer, MixedPrecision
from ..toolbox.tools import Toolbox, write_checkpoint

#: The 6-tool ablation (paper Table 4): the upper tool of each size, i.e. levels 2 and 4 of every distortion.
SIX_TOOLS = ["blur-2", "blur-4", "noise-2", "noise-4", "jpeg-2", "jpeg-4"]


@dataclass
class DQNConfig:
    """Hyper-parameters; the defaults are the paper's (2M steps is GPU scale; chapter 4 lists the CPU ones)."""

    steps: int = 2_000_000          # environment steps (one tool choice of one patch)
    env_batch: int = 32             # patches rolled out in parallel
    batch_episodes: int = 32        # episodes per gradient step
    memory: int = 100_000           # episodes kept in the replay memory
    learn_start: int = 5_000        # environment steps before learning starts
    train_every: int = 4            # environment steps per gradient step (counted per patch-step)
    target_every: int = 10_000      # environment steps between target-network copies
    lr: float = 1e-4
    lr_min: float = 2.5e-5
    gamma: float = 0.99
    eps_start: float = 1.0
    eps_end: float = 0.1
    eps_decay: int = 1_000_000
    t_max: int = 3
    reward: str = "psnr"
    group: str = "moderate"
    tools: list[str] | None = None  # a subset of tool names (ablation), None = all 12
    stop_action: bool = True
    reward_scale: float = 1.0       # rewards are multiplied by this in training (final -MSE is ~100x a PSNR gain)
    end_if_worse: bool = False      # end an episode when PSNR falls below the input's (the authors' environment)
    double: bool = False            # Double DQN targets (not in the paper; chapter 4 explains)
    amp: bool = False               # the learning step in bf16 autocast (core.resume.MixedPrecision): 1.8x on AMX
    seed: int = 0

    def __post_init__(self) -> None:
        positive_ints(self, "steps", "env_batch", "batch_episodes", "memory", "train_every", "target_every",
                      "eps_decay", "t_max")
        if not isinstance(self.learn_start, int) or isinstance(self.learn_start, bool) or self.learn_start < 0:
            raise ValueError(f"learn_start must be a non-negative int, got {self.learn_start!r}")
        if not 0 < self.lr_min <= self.lr:
            raise ValueError(f"lr and lr_min must satisfy 0 < lr_min <= lr, got {self.lr!r}, {self.lr_min!r}")
        if not 0 <= self.gamma <= 1 or not 0 <= self.eps_end <= self.eps_start <= 1:
            raise ValueError(f"gamma must lie in [0, 1] and 0 <= eps_end <= eps_start <= 1, got {self.gamma!r}, "
                             f"{self.eps_end!r}, {self.eps_start!r}")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {self.reward!r}")
        if not self.reward_scale > 0:
            raise ValueError(f"reward_scale must be positive, got {self.reward_scale!r}")
        if self.tools is not None and (not self.tools or len(set(self.tools)) != len(self.tools)):
            raise ValueError(f"tools must be None (all) or distinct tool names, got {self.tools!r}")
        parse_spec(self.group)

    def to_dict(self) -> dict:
        return asdict(self)


def dqn_loss(net: RLRestoreNet, target: RLRestoreNet, batch: dict[str, torch.Tensor],
             gamma: float, double: bool = False) -> torch.Tensor:
    """Huber loss of Q(s_t, a_t) against r_t + gamma max_a Q'(s_{t+1}, a), over the
    valid steps of whole episodes (chapter 4 shows this function).

    ``batch``: B episodes of T steps (:meth:`restorelib.rlrestore.replay.EpisodeMemory.sample`);
    ``double`` uses Double DQN targets (see :func:`restorelib.rlrestore.nets.td_targets`)."""
    imgs = batch["images"].transpose(0, 1)                   # (T+1, B, 3, 63, 63)
    prev = batch["prev"].transpose(0, 1)                     # (T+1, B)
    t = batch["actions"].shape[1]
    # The LSTM is causal: the first T outputs of the whole sequence are Q(s_0..s_{T-1});
    # Double DQN uses the rest.
    q_all = net.forward_sequence(imgs if double else imgs[:t],
                                 prev if double else prev[:t])
    q = q_all[:t].float()                                    # (T, B, A); float32 under autocast
    q_taken = q.gather(2, batch["actions"].transpose(0, 1)[..., None])[..., 0]  # (T, B)
    with torch.no_grad():
        q_next = target.forward_sequence(imgs, prev)[1:].float()     # Q'(s_{t+1}), (T, B, A)
        q_online = q_all[1:].detach().float() if double else None
        y = td_targets(q_next, batch["rewards"].transpose(0, 1),
                       batch["dones"].transpose(0, 1), gamma, q_online)  # (T, B)
    valid = torch.arange(t, device=q.device)[:, None] < batch["lengths"][None]
    return F.smooth_l1_loss(q_taken[valid], y[valid])


@torch.no_grad()
def act(net: RLRestoreNet, image: torch.Tensor, prev: torch.Tensor, state, eps: float,
        generator: torch.Generator | None = None):
    """Epsilon-greedy actions (B,) and the new LSTM state."""
    q, state = net(image, prev, state)
    greedy = q.argmax(dim=1)
    explore = torch.rand(q.shape[0], generator=generator).to(q.device) < eps
    rand = torch.randint(q.shape[1], (q.shape[0],), generator=generator).to(q.device)
    return torch.where(explore, rand, greedy), state


@dataclass
class TrainRecord(TrainingLog):
    """What a DQN run measured: per logged step the mean episode return (dB), epsilon and the mean loss (NaN before
    learning starts); total seconds (:class:`~restorelib.core.training_log.TrainingLog`)."""

    steps: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    eps: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    MEANS = {"returns": "ret", "losses": "loss"}
    JSON = {"steps": "steps", "returns": "return_db", "losses": "loss", "eps": "eps"}


@dataclass
class _Loop:
    """The counters of a DQN run between two rollouts (saved in its checkpoint)."""

    steps: int = 0
    next_train: int = 0
    next_target: int = 0
    next_log: int = 0


def _rollout(env: RestoreEnv, net: RLRestoreNet, memory: EpisodeMemory, bank, cfg: DQNConfig, loop: _Loop,
             g: torch.Generator, device: torch.device | str) -> float:
    """Roll out one batch of episodes with epsilon-greedy actions and store them, padded to t_max, in ``memory``;
    returns their mean return."""
    clean = draw_clean(bank, cfg.env_batch, g)
    deg, _ = degrade(clean, cfg.group, generator=g)
    clean, deg = clean.to(device), deg.to(device)
    obs, state = env.reset(deg, clean), None
    imgs, prevs, acts, rews, dones = [obs.image], [obs.prev_action], [], [], []
    for _ in range(cfg.t_max):
        active = ~env.done
        a, state = act(net, obs.image, obs.prev_action, state,
                       epsilon(loop.steps, cfg.eps_start, cfg.eps_end, cfg.eps_decay), g)
        obs, r, done, _ = env.step(a)
        loop.steps += int(active.sum())
        imgs.append(obs.image), prevs.append(obs.prev_action), acts.append(a)
        rews.append(r * cfg.reward_scale), dones.append(done)
        if done.all():
            break
    pad = cfg.t_max - len(acts)
    imgs += [imgs[-1]] * pad
    prevs += [prevs[-1]] * pad
    acts += [torch.zeros_like(acts[0])] * pad
    rews += [torch.zeros_like(rews[0])] * pad
    dones += [torch.ones_like(dones[0])] * pad
    ims, P, A, R, D = (torch.stack(v, 1) for v in (imgs, prevs, acts, rews, dones))
    lengths = (~D).sum(1) + 1                                  # steps until (and including) the ending one
    for i in range(cfg.env_batch):
        memory.add(ims[i], P[i], A[i], R[i], D[i], int(lengths[i].clamp(max=cfg.t_max)))
    return R.sum(1).mean().item()


def _learn(net: RLRestoreNet, target: RLRestoreNet, opt: torch.optim.Optimizer, mp: MixedPrecision,
           memory: EpisodeMemory, cfg: DQNConfig, loop: _Loop, g: torch.Generator, device: torch.device | str) -> list[float]:
    """The gradient steps due after a rollout (one per ``train_every`` patch-steps) and the target-network copy;
    returns their losses."""
    losses = []
    while loop.steps >= cfg.learn_start and loop.next_train <= loop.steps and memory.size >= cfg.batch_episodes:
        batch = {k: v.to(device) for k, v in memory.sample(cfg.batch_episodes, g).items()}
        with mp.autocast():
            loss = dqn_loss(net, target, batch, cfg.gamma, cfg.double)
        opt.zero_grad(set_to_none=True)
        mp.step(loss, opt)
        losses.append(loss.item())
        loop.next_train += cfg.train_every
        for pg in opt.param_groups:                              # exponential decay to lr_min over the run
            pg["lr"] = max(cfg.lr_min, cfg.lr * (cfg.lr_min / cfg.lr) ** (loop.steps / max(1, cfg.steps)))
    if loop.steps >= loop.next_target:
        target.load_state_dict(net.state_dict())
        loop.next_target += cfg.target_every
    return losses


def _log_point(rec: TrainRecord, loop: _Loop, cfg: DQNConfig, seconds: float, log) -> None:
    rec.point(loop.steps, eps=epsilon(loop.steps, cfg.eps_start, cfg.eps_end, cfg.eps_decay))
    if log:
        log(f"[dqn] step {loop.steps}: return {rec.returns[-1]:+.3f} dB, loss {rec.losses[-1]:.4f}, "
            f"eps {rec.eps[-1]:.2f}, {seconds:.0f} s", flush=True)


def train_dqn(toolbox: Toolbox, bank: "torch.Tensor | CropSampler", cfg: DQNConfig,
              device: torch.device | str = "cpu", log_every: int = 10_000, log=None, progress: bool | str = False,
              init: RLRestoreNet | None = None, callback: Callable[[int, RLRestoreNet], None] | None = None,
              checkpoint: str | Path | None = None, checkpoint_every: float = 300.0
              ) -> tuple[RLRestoreNet, TrainRecord]:
    """Train the agent on clean 63x63 patches degraded on the fly; returns (net, record). Chapter 4.

    ``bank``: a patch bank (P, 3, 63, 63) or a :class:`~restorelib.core.patches.CropSampler` of size 63. ``log`` (e.g.
    ``print``) receives a line every ``log_every`` steps; ``progress`` shows a tqdm bar with an ETA and, after the
    first half minute, the estimated time of the whole run (a string labels it, e.g. ``"paper scale"``: see
    :class:`restorelib.core.long_runs.Progress`); ``init`` starts from a
    trained agent's weights instead of a fresh network; ``callback(steps, net)`` is called at every logged step
    (e.g. to validate and keep the best snapshot; its ``state_dict()``/``load_state_dict()``, when it has them,
    travel with the checkpoint). ``checkpoint``: a file that holds the whole run (networks, optimiser, replay
    memory, counters, random state) every ``checkpoint_every`` seconds and when the run is done; a run started with
    an existing one continues from it to the same result (a finished one returns at once).
    """
    check_bank(bank, size=PATCH)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    env = RestoreEnv(toolbox, t_max=cfg.t_max, reward=cfg.reward, tools=cfg.tools, stop_action=cfg.stop_action,
                     end_if_worse=cfg.end_if_worse)
    net = RLRestoreNet(len(env.tool_ids), env.n_actions).to(device)
    if init is not None:
        if (init.n_tools, init.n_actions) != (net.n_tools, net.n_actions):
            raise ValueError(f"init must have {net.n_tools} tools and {net.n_actions} actions like cfg, got "
                             f"{init.n_tools} and {init.n_actions}")
        net.load_state_dict(init.state_dict())
    target = copy.deepcopy(net).eval()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    mp = MixedPrecision(device, cfg.amp)              # one for the run: a float16 loss scale must persist
    memory, rec, loop, ck = EpisodeMemory(cfg.memory, cfg.t_max), TrainRecord(), _Loop(), \
        Checkpointer(checkpoint, checkpoint_every)
    spent = 0.0
    if (state := ck.load()) is not None:
        spent = _resume(state, cfg, net, target, opt, memory, rec, loop, g, callback)
    t0 = time.perf_counter()
    bar = Progress(progress, cfg.steps, loop.steps, "DQN steps")
    while loop.steps < cfg.steps:
        rec.add(ret=_rollout(env, net, memory, bank, cfg, loop, g, device))
        bar.update_to(loop.steps)
        for loss in _learn(net, target, opt, mp, memory, cfg, loop, g, device):
            rec.add(loss=loss)
        if loop.steps >= loop.next_log or loop.steps >= cfg.steps:
            _log_point(rec, loop, cfg, spent + time.perf_counter() - t0, log)
            loop.next_log += log_every
            if callback is not None:
                callback(loop.steps, net)
                net.train()
        if ck.due():
            ck.save(_dqn_state(cfg, net, target, opt, memory, rec, loop, g, callback,
                               spent + time.perf_counter() - t0))
    bar.close()
    rec.seconds = spent + time.perf_counter() - t0
    if ck.path is not None:                                      # the finished run, for a chapter run again
        ck.save(_dqn_state(cfg, net, target, opt, memory, rec, loop, g, callback, rec.seconds))
    return net.eval(), rec


def _dqn_state(cfg: DQNConfig, net: RLRestoreNet, target: RLRestoreNet, opt: torch.optim.Optimizer,
               memory: EpisodeMemory, rec: TrainRecord, loop: _Loop, g: torch.Generator, callback,
               seconds: float) -> dict:
    return {"config": cfg.to_dict(), "net": net.state_dict(), "target": target.state_dict(),
            "opt": opt.state_dict(), "generator": g.get_state(), "seconds": seconds, "loop": asdict(loop),
            "record": asdict(rec), "memory": memory.state_dict(),
            "callback": callback.state_dict() if hasattr(callback, "state_dict") else None}


def _resume(state: dict, cfg: DQNConfig, net: RLRestoreNet, target: RLRestoreNet, opt: torch.optim.Optimizer,
            memory: EpisodeMemory, rec: TrainRecord, loop: _Loop, g: torch.Generator, callback) -> float:
    """Load a :func:`_dqn_state` back into the run's objects; returns the seconds spent before."""
    if state["config"] != cfg.to_dict():
        changed = sorted(k for k, v in cfg.to_dict().items() if state["config"].get(k) != v)
        raise ValueError(f"checkpoint was made with another configuration (differs in {changed})")
    net.load_state_dict(state["net"])
    target.load_state_dict(state["target"])
    opt.load_state_dict(state["opt"])
    g.set_state(state["generator"])
    memory.load_state_dict(state["memory"])
    for k, v in state["loop"].items():
        setattr(loop, k, v)
    for k, v in state["record"].items():
        setattr(rec, k, v)
    if state["callback"] is not None and hasattr(callback, "load_state_dict"):
        callback.load_state_dict(state["callback"])
    return state["seconds"]


# ----------------------------------------------------------------------------- scales and shipped agents
#: Schedules by scale (``paper``, ``book``, ``gpu``, ``ci`` and the ablations' ``ablation``, ``ablation-gpu``):
#: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["rl-restore"]`` says what each changes and why.
SCALES: dict[str, DQNConfig] = build_scales("rl-restore", DQNConfig)



#: Chapter 4's ablations (paper Tables 4, 6, 7): each changes one setting of the ``ablation`` schedule.
ABLATIONS: dict[str, dict] = {
    "ablation-base": {},
    "ablation-no-stop": {"stop_action": False},
    "ablation-final-mse": {"reward": "final-mse", "reward_scale": 0.01},
    "ablation-6-tools": {"tools": SIX_TOOLS},
    "ablation-tmax2": {"t_max": 2},
    "ablation-tmax4": {"t_max": 4},
}


def ablation_name(cfg: DQNConfig) -> str:
    """The folder name of an ablation run: ``ablation-base`` or the one setting that differs from it."""
    parts = []
    if cfg.reward != "psnr":
        parts.append(cfg.reward)
    if not cfg.stop_action:
        parts.append("no-stop")
    if cfg.tools is not None:
        parts.append(f"{len(cfg.tools)}-tools")
    if cfg.t_max != 3:
        parts.append(f"tmax{cfg.t_max}")
    return "ablation-" + ("-".join(parts) or "base")


def save_agent(net: RLRestoreNet, cfg: DQNConfig, rec: TrainRecord, folder: str | Path, command: str,
               scale: str, device: torch.device | str = "cpu", train_patches: int | None = None,
               extra: dict | None = None) -> Path:
    """Write ``agent.pt``, ``record.json`` (command, config, hardware, seconds, sha256, curve, ``extra``) and a
    README card. ``extra={"init_from": record}`` keeps the record of the run a continued run started from."""
    write_checkpoint(net, folder, "agent.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, train_patches=train_patches, curve=rec.curve(), **(extra or {}))
    write_card(folder)
    return Path(folder) / RECORD


def agent_config(name: str, scale: str) -> DQNConfig:
    """The training config of agent ``name`` (``rl-restore`` or a key of :data:`ABLATIONS`) at ``scale``.

    The main agent uses the scale's schedule; an ablation uses the shorter ``ablation`` schedule at book and paper
    scale, ``ablation-gpu`` at gpu scale (the CI scale shrinks both) with its one change applied.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    if name == "rl-restore":
        return SCALES[scale]
    if name not in ABLATIONS:
        raise ValueError(f"name must be 'rl-restore' or one of {sorted(ABLATIONS)}, got {name!r}")
    return replace(SCALES[ABLATION_SCHEDULE.get(scale, "ablation")], **ABLATIONS[name])


def get_agent(name: str, profile, toolbox: Toolbox, bank: torch.Tensor | None = None,
              device: torch.device | str = "cpu", log=None, progress: bool | str = False
              ) -> tuple[RLRestoreNet, DQNConfig, dict]:
    """Chapter 4's agents at the active scale: trained here when ``profile.train`` (CI: seconds; gpu: minutes on a
    Colab T4; paper: hours), else the shipped checkpoint. ``bank`` (P, 3, 63, 63) holds the clean training patches
    when training. Where ``profile.long_runs`` the run shows a progress bar and keeps its state in
    :func:`restorelib.core.long_runs.run_checkpoint`'s folder, so that it resumes after a disconnect.

    Returns (net, config, record) where the record has ``seconds`` and the learning ``curve``
    (``steps``, ``return_db``, ``loss``, ``eps``), as in a shipped ``record.json``.
    """
    def train(cfg: DQNConfig, **run: object) -> tuple[RLRestoreNet, DQNConfig, dict]:
        net, rec = train_dqn(toolbox, bank, cfg, device=device, log_every=max(1, cfg.steps // 10), log=log, **run)
        return net, cfg, {"seconds": rec.seconds, "command": f"train_dqn at {profile.name} scale",
                          "curve": rec.curve()}
    return load_or_train(profile, bank, lambda: AGENTS.load(name, device), train,
                         config=lambda scale: agent_config(name, scale), run=f"dqn-{name}", inputs=(toolbox, bank),
                         progress=progress)


def _build_agent(cfg: DQNConfig, record: dict) -> RLRestoreNet:
    n_tools = len(cfg.tools) if cfg.tools is not None else 12
    return RLRestoreNet(n_tools, n_tools + int(cfg.stop_action))


#: Chapter 4's agents on disk: ``restorelib/weights/agents/NAME`` (``agent.pt``, ``record.json``, README card).
AGENTS = ArtifactKind(folder=weights_dir() / "agents", config_cls=DQNConfig, build=_build_agent, default="rl-restore",
                      what="agent", hint="train one with `python scripts/train_agent.py`")


def shipped_agents() -> list[str]:
    """Names of the agents shipped in ``restorelib/weights/agents`` (e.g. ``rl-restore``, ``ablation-base``)."""
    return AGENTS.shipped()


def load_agent(name: str | Path = "rl-restore", device: torch.device | str = "cpu"
               ) -> tuple[RLRestoreNet, DQNConfig]:
    """A trained agent: a shipped name (see :func:`shipped_agents`) or a folder holding ``record.json`` + weights.

    The weights are loaded with ``weights_only=True`` after a sha256 check; returns (net in eval mode, config).
    """
    net, cfg, _ = AGENTS.load(name, device)               # the record checked first
    return net, cfg
