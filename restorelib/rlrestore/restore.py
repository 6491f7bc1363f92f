"""Restoring with a trained RL-Restore agent (chapter 4): patches, whole images, and the ``rl-restore`` method.

Two protocols, as in the paper and the authors' code:

* **patches** (the paper's test sets): every 63x63 patch follows its own toolchain, chosen greedily from the Q-values;
* **whole images** (the authors' real-photo test): the image is cut into 63x63 patches; at each step every patch
  votes for the action with its largest Q-value, the majority action is applied to the whole image, and every
  patch's LSTM carries on with that action as its "previous tool". The majority voting ``stop`` ends the chain.

Tools are fully convolutional, so a large image is processed in overlapping tiles (:func:`restorelib.core.tiling.apply_tiled`) and never
needs more memory than one tile.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..core.validation import check_images
from .nets import PATCH, RLRestoreNet
from .dqn import DQNConfig, load_agent
from ..core.metrics import psnr
from ..core.tiling import TOOL_RADIUS, apply_tiled, patch_grid, receptive_radius  # noqa: F401  (also here)
from ..core.method import Capabilities, Method, OptionError, Restored, register_method
from ..toolbox.tools import Toolbox, count_params, toolset_dir

@dataclass
class ImageResult:
    """A whole image restored by voting: the result (3, H, W), the chain, per step the votes of every action
    (A,) and, when a reference was given, the PSNR before the first and after every step (dB)."""

    image: torch.Tensor
    chain: list[str]
    votes: list[torch.Tensor] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)


def restore_by_votes(image: torch.Tensor, steps: int, vote: Callable[[torch.Tensor, slice, int, int], torch.Tensor],
                     stop: int, apply_choice: Callable[[torch.Tensor, int], tuple[torch.Tensor, str]],
                     reference: torch.Tensor | None = None, chunk: int = 256,
                     device: torch.device | str = "cpu", stop_share: float | None = None) -> "ImageResult":
    """Whole-image restoration by patch voting, shared by the agents of chapters 4, 6 and 8 (module docstring).

    image (3, H, W) in [0, 1] is cut into 63x63 patches (padded when smaller). At each of at most ``steps`` steps,
    ``vote(crops, rows, k, step)`` gets the patches ``rows`` (a slice of the patch list; ``k`` the index of the
    chunk of ``chunk`` patches, for agents that keep a state per chunk) as crops (n, 3, 63, 63) and returns one
    choice per patch in 0..``stop``; the majority choice ``stop`` ends the chain, any other goes to
    ``apply_choice(x, choice)`` -> (new image (1, 3, H, W), tool name). ``reference`` (3, H, W) adds the PSNR before
    the first and after every step. ``stop_share`` in (0, 1] (None: the majority alone, the authors' rule) also ends
    the chain when at least that share of the patches votes ``stop``: a cautious vote, since a tool applied to the
    whole image also acts on the patches that were done (chapter 4). Returns an :class:`ImageResult` with the votes
    of every step.
    """
    if not isinstance(image, torch.Tensor) or image.dim() != 3:
        raise ValueError(f"image must be a tensor of shape (3, H, W), got {getattr(image, 'shape', image)!r}")
    check_images(image[None], "image", channels=3)
    check_stop_share(stop_share)
    x = image.to(device, torch.float32)[None].clone()                 # the networks are float32: any float is taken
    h, w = x.shape[-2:]
    ref = reference.to(device)[None] if reference is not None else None
    result = ImageResult(image, [], [], [psnr(x, ref).item()] if ref is not None else [])
    corners = patch_grid(max(h, PATCH), max(w, PATCH))
    for step in range(steps):
        view = x
        if h < PATCH or w < PATCH:                                   # the agents need at least one full patch
            view = F.pad(x, (0, max(0, PATCH - w), 0, max(0, PATCH - h)), mode="replicate")
        votes = torch.zeros(stop + 1, dtype=torch.long, device=device)
        for k, start in enumerate(range(0, len(corners), chunk)):
            rows = slice(start, start + chunk)
            crops = torch.stack([view[0, :, y:y + PATCH, xx:xx + PATCH] for y, xx in corners[rows]])
            votes += torch.bincount(vote(crops, rows, k, step), minlength=stop + 1)
        result.votes.append(votes.cpu())
        choice = int(votes.argmax())
        if choice == stop or (stop_share is not None and votes[stop] >= stop_share * votes.sum()):
            break
        x, name = apply_choice(x, choice)
        result.chain.append(name)
        if ref is not None:
            result.psnr.append(psnr(x, ref).item())
    result.image = x[0].cpu()
    return result


def check_stop_share(stop_share: object) -> None:
    """ValueError naming ``stop_share`` unless it is None or a number in (0, 1]."""
    if stop_share is not None and (isinstance(stop_share, bool) or not isinstance(stop_share, (int, float))
                                   or not 0 < stop_share <= 1):
        raise ValueError(f"stop_share must be None or a number in (0, 1], got {stop_share!r}")


class ChainRestorer:
    """What the restorers of the flat chain agents share (RL-Restore, chapter 4; the label-free agent, chapter 8):
    the tools their config names (``cfg.tools``, default all), action names, parameter count, and whole images by
    patch votes. A subclass gives the policy: :meth:`vote` (and its own per-patch ``rollout``).

    ``stop`` (set by the subclass): the index of the stop action, or None for an agent without one.
    """

    def __init__(self, net: torch.nn.Module, cfg: object, toolbox: Toolbox) -> None:
        self.net, self.cfg, self.toolbox = net.eval(), cfg, toolbox
        self.tool_ids = list(range(len(toolbox))) if cfg.tools is None else [toolbox.index(t) for t in cfg.tools]
        self.stop: int | None = None
        self.device = next(net.parameters()).device

    def action_name(self, a: int) -> str:
        """``stop`` or the name of the tool that action ``a`` applies."""
        return "stop" if a == self.stop else self.toolbox.names[self.tool_ids[a]]

    @property
    def params(self) -> int:
        """Parameters of the agent plus every tool it may call."""
        return count_params(self.net) + sum(count_params(self.toolbox.nets[i]) for i in self.tool_ids)

    def vote(self, crops: torch.Tensor, prev: torch.Tensor, step: int, memory: dict, chunk: int) -> torch.Tensor:
        """Each crop's action (N,) at ``step`` of a whole-image restoration, ``prev`` (N,) the action applied
        before; ``memory`` keeps what the policy carries between steps, per ``chunk`` of crops."""
        raise NotImplementedError

    @torch.no_grad()
    def restore_image(self, image: torch.Tensor, t_max: int | None = None, reference: torch.Tensor | None = None,
                      tile: int = 512, chunk: int = 256, stop_share: float | None = None) -> ImageResult:
        """Restore one whole image (3, H, W) in [0, 1] by patch voting (see the module docstring).

        ``reference`` (3, H, W) adds the PSNR after every step; ``tile`` bounds the tools' memory, ``chunk`` the
        number of patches the agent scores at once; ``stop_share``: see :func:`restore_by_votes`.
        """
        memory: dict[int, object] = {}
        last = [-1]                                    # the previous action, the same for every patch: the winner

        def vote(crops: torch.Tensor, rows: slice, k: int, step: int) -> torch.Tensor:
            prev = torch.full((len(crops),), last[0], dtype=torch.long, device=self.device)
            return self.vote(crops, prev, step, memory, k)

        def apply_choice(x: torch.Tensor, a: int) -> tuple[torch.Tensor, str]:
            last[0] = a
            return apply_tiled(lambda t: self.toolbox.apply(t, self.tool_ids[a]), x, tile=tile), self.action_name(a)

        t_max = self.cfg.t_max if t_max is None else t_max
        return restore_by_votes(image, t_max, vote, self.stop, apply_choice, reference, chunk, self.device, stop_share)


class AgentRestorer(ChainRestorer):
    """A trained agent with its toolbox. ``AgentRestorer.load("rl-restore")`` reads a shipped agent (chapter 4)."""

    def __init__(self, net: RLRestoreNet, cfg: DQNConfig, toolbox: Toolbox) -> None:
        super().__init__(net, cfg, toolbox)
        if net.n_tools != len(self.tool_ids):
            raise ValueError(f"the agent has {net.n_tools} tool inputs but its config names {len(self.tool_ids)} tools")
        self.stop = len(self.tool_ids) if cfg.stop_action else None

    @classmethod
    def load(cls, name: str = "rl-restore", device: torch.device | str = "cpu",
             toolbox: Toolbox | None = None) -> "AgentRestorer":
        net, cfg = load_agent(name, device)
        return cls(net, cfg, toolbox if toolbox is not None else Toolbox.load(device=device))

    def vote(self, crops: torch.Tensor, prev: torch.Tensor, step: int, memory: dict, chunk: int) -> torch.Tensor:
        q, memory[chunk] = self.net(crops, prev, memory.get(chunk))       # each chunk's LSTM carries on
        return q.argmax(dim=1)

    def agent_macs(self) -> int:
        """Multiply-adds of one agent step on one 63x63 patch (CNN, LSTM and head)."""
        from torch.utils.flop_counter import FlopCounterMode
        x = torch.zeros(1, 3, PATCH, PATCH, device=self.device)
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            self.net(x, torch.zeros(1, dtype=torch.long, device=self.device))
        return fc.get_total_flops() // 2

    @torch.no_grad()
    def rollout(self, patches: torch.Tensor, t_max: int | None = None
                ) -> tuple[torch.Tensor, list[list[str]], torch.Tensor]:
        """Each 63x63 patch (N, 3, 63, 63) in [0, 1] follows its own greedy chain of at most ``t_max`` tools.

        Returns (restored (N, 3, 63, 63), chains of tool names, actions (T, N) long with -1 once a patch is done).
        """
        check_images(patches, "patches", channels=3)
        t_max = self.cfg.t_max if t_max is None else t_max
        x = patches.to(self.device, torch.float32).clone()           # float64/float16 patches are converted
        n = x.shape[0]
        prev = torch.full((n,), -1, dtype=torch.long, device=self.device)
        done = torch.zeros(n, dtype=torch.bool, device=self.device)
        chains: list[list[str]] = [[] for _ in range(n)]
        actions, state = [], None
        ids = torch.tensor(self.tool_ids + [-1], device=x.device)      # action -> toolbox index (stop: -1)
        for _ in range(t_max):
            q, state = self.net(x, prev, state)
            a = q.argmax(dim=1)
            actions.append(torch.where(done, torch.full_like(a, -1), a))
            if self.stop is not None:
                done = done | (a == self.stop)
            acting = ~done
            x = self.toolbox.apply_each(x, torch.where(acting, ids[a], -1))
            for i in acting.nonzero().flatten().tolist():
                chains[i].append(self.action_name(int(a[i])))
            prev = torch.where(acting, a, prev)
            if done.all():
                break
        return x, chains, torch.stack(actions)



class ChainAgentMethod:
    """A chain agent as a method (chapters 4, 6 and 8 share it): 63x63 inputs follow their own chains (the paper's
    protocol), larger images are restored whole by patch voting (``restorer.restore_image``). A subclass says how
    a batch of patches rolls out (:meth:`patches`); the costs are counted here once: every tool on the whole image
    plus one agent step per patch and decision. ``steps`` caps the tools (None: the agent's trained length);
    ``trials`` reports the tool applications as trials (HIRL's equal-trial comparisons)."""

    def __init__(self, restorer: object, name: str, steps: int | None, agent_macs: int, trials: bool = False) -> None:
        self.restorer, self.name, self.params = restorer, name, restorer.params
        self._agent_macs, self._trials = agent_macs, trials
        self.can = Capabilities(votes=True, steps=steps)

    def patches(self, degraded: torch.Tensor) -> tuple[torch.Tensor, list[list[str]], list[int]]:
        """(N, 3, 63, 63) -> (restored, chains, agent steps per patch)."""
        raise NotImplementedError

    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        """degraded (N, 3, H, W) in [0, 1] -> restored, with tool calls, multiply-adds and chains per image."""
        r = self.restorer
        n, _, h, w = check_images(degraded, "degraded", channels=3).shape
        if (h, w) == (PATCH, PATCH):
            out, chains, steps = self.patches(degraded)
        else:
            results = [r.restore_image(img, self.can.steps) for img in degraded]
            out = torch.stack([res.image for res in results])
            chains = [res.chain for res in results]
            steps = [len(res.votes) * len(patch_grid(max(h, PATCH), max(w, PATCH))) for res in results]
        tool_macs = [sum(r.toolbox.macs_per_pixel(t) for t in c) * h * w for c in chains]
        macs = [round(tm + s * self._agent_macs) for tm, s in zip(tool_macs, steps)]
        calls = [len(c) for c in chains]
        return Restored(out, calls, macs, chains, list(calls) if self._trials else None)


class AgentMethod(ChainAgentMethod):
    """``rl-restore[:AGENT]`` for :func:`restorelib.core.evaluation.evaluate`: 63x63 inputs follow their own chains (the
    paper's protocol); larger images are restored whole by patch voting. ``AGENT`` is a shipped agent name
    (default ``rl-restore``, also the ablations such as ``ablation-no-stop``) or a folder with ``record.json``."""

    def __init__(self, agent: "str | AgentRestorer" = "rl-restore", device: torch.device | str = "cpu",
                 max_length: int | None = None, toolbox: Toolbox | None = None, name: str | None = None) -> None:
        restorer = agent if isinstance(agent, AgentRestorer) else \
            AgentRestorer.load(agent or "rl-restore", device, toolbox)
        default = agent if isinstance(agent, str) and agent not in ("", "rl-restore") else ""
        super().__init__(restorer, name or ("rl-restore:" + default if default else "rl-restore"), max_length,
                         restorer.agent_macs())
        self.t_max = max_length

    def patches(self, degraded: torch.Tensor) -> tuple[torch.Tensor, list[list[str]], list[int]]:
        out, chains, actions = self.restorer.rollout(degraded, self.t_max)
        return out, chains, (actions >= 0).sum(0).tolist()               # agent evaluations per patch


def _agent_factory(arg: str, device: torch.device, max_length: int | None = None, tools: str | None = None,
                   **_: object) -> Method:
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                   or not 1 <= max_length <= 10):
        raise OptionError("max_length", f"max_length must be an int in 1..10, got {max_length!r}")
    if tools is None:
        return AgentMethod(arg or "rl-restore", device, max_length=max_length)
    try:
        box = Toolbox.load(toolset_dir(tools), device)
    except FileNotFoundError as e:
        raise OptionError("tools", str(e)) from None
    method = AgentMethod(arg or "rl-restore", device, max_length=max_length, toolbox=box)
    method.name += f" (tools {tools})"
    return method


register_method("rl-restore", _agent_factory,
                "the trained DQN agent (chapter 4); rl-restore:AGENT picks a shipped agent or a folder; --tools "
                "original|noise|joint picks its tool set (chapter 5)")


def tool_usage(actions: torch.Tensor, n_actions: int) -> torch.Tensor:
    """How often each action was chosen at each step (paper Fig. 6): actions (T, N) with -1 = done -> (T, A) in
    [0, 1], each row normalised over the patches still running at that step."""
    rows = []
    for a in actions:
        live = a[a >= 0]
        counts = torch.bincount(live, minlength=n_actions).float()
        rows.append(counts / max(1, live.numel()))
    return torch.stack(rows)

