"""Trained HIRL agents (chapter 6): checkpoints, restoring patches and whole images, and the ``hirl`` evaluate method.

Checkpoints follow chapter 4's: ``agent.pt`` (T and D, loaded with ``weights_only=True`` after a sha256 check),
``record.json`` (command, config, hardware, seconds, curves, and the tools' folder with the sha256 of their manifest)
and a ``README.md`` model card; shipped agents live in ``restorelib/weights/agents-hirl/NAME``.

Inference (HIRL Fig. 2b): at every step T picks the type, D the degree of that type, and the tool is applied, "until
there is no reward". Without a reference the agent cannot measure the reward, so it stops when D's value of the tool
it would apply is not positive (no further gain predicted), or at the path-length limit (3, 5 or 7 in the paper).

* **patches**: every 63x63 patch follows its own chain (:meth:`HirlRestorer.rollout`);
* **whole images** (:meth:`HirlRestorer.restore_image`): the image is cut into 63x63 patches as for the chapter-4
  agent (:func:`restorelib.core.tiling.patch_grid`); each step every patch votes for its type, or for stopping when its
  own best value is not positive; when a type wins, every patch votes for the degree it would use *with that type*,
  the winning tool runs on the whole image (tiled, :func:`restorelib.core.tiling.apply_tiled`), and when stopping wins
  the chain ends.

Register the method with ``register_method("hirl", hirl_factory, ...)`` (see :func:`hirl_factory`).
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from ..core.validation import check_images
from ..rlrestore.nets import PATCH
from ..core.banks import crops_phrase
from ..core.artifacts import ArtifactKind, load_or_train, produced, write_readme
from ..core.checkpoints import RECORD, CheckpointError, read_json
from ..core.config import weights_dir
from .hirl import HirlAgent, HirlConfig, HirlRecord
from .rollout import greedy_rollout
from .tools import HIRL_TOOLS_DIR, hirl_toolbox
from ..core.metrics import psnr
from ..core.method import OptionError, register_method
from ..core.tiling import apply_tiled
from ..rlrestore.restore import ChainAgentMethod, ImageResult, restore_by_votes
from ..toolbox.tools import Toolbox, count_macs, count_params, sha256_bytes, write_checkpoint

AGENTS_DIR: Path = weights_dir() / "agents-hirl"


# ----------------------------------------------------------------------------- checkpoints
def _portable(folder: str | Path | None) -> str | None:
    """A toolbox folder as stored in a record: relative to the package's weights when inside them."""
    if folder is None:
        return None
    p = Path(folder).resolve()
    try:
        return str(p.relative_to(weights_dir().resolve()))
    except ValueError:
        return str(p)


def toolbox_folder(record: dict) -> Path | None:
    """The folder of the tools an agent was trained with, from its record (None: not recorded)."""
    t = record.get("toolbox")
    return None if t is None else (Path(t) if Path(t).is_absolute() else weights_dir() / t)


def _check_toolbox_entry(record: dict, where: Path) -> None:
    """A record's ``toolbox``: null, an absolute folder, or a folder name under ``restorelib/weights`` (no ``..``)."""
    t, digest = record.get("toolbox"), record.get("toolbox_sha256")
    if t is not None and (not isinstance(t, str) or not t or (not Path(t).is_absolute() and ".." in Path(t).parts)):
        raise CheckpointError(f"{where}: 'toolbox' must be null, an absolute folder or a folder under "
                              f"restorelib/weights without '..', got {t!r}")
    if digest is not None and (not isinstance(digest, str) or len(digest) != 64
                               or any(c not in "0123456789abcdef" for c in digest.lower())):
        raise CheckpointError(f"{where}: 'toolbox_sha256' must be null or 64 hex digits, got {digest!r}")


def save_hirl(agent: HirlAgent, cfg: HirlConfig, rec: HirlRecord, folder: str | Path, command: str, scale: str,
              device: torch.device | str = "cpu", train_patches: int | None = None,
              toolbox_dir: str | Path | None = HIRL_TOOLS_DIR, extra: dict | None = None) -> Path:
    """Write ``agent.pt`` (T and D), ``record.json`` (command, config, hardware, seconds, sha256, toolbox and the
    sha256 of its manifest, curves, ``extra`` such as ``train_sets`` and ``train_images``) and a ``README.md`` card
    into ``folder``; returns the record's path."""
    manifest = Path(toolbox_dir) / "manifest.json" if toolbox_dir is not None else None
    write_checkpoint(agent, folder, "agent.pt", command=command, scale=scale, config=cfg.to_dict(), device=device,
                     seconds=rec.seconds, train_patches=train_patches,
                     params={"type": count_params(agent.type_net), "degree": count_params(agent.degree_net)},
                     toolbox=_portable(toolbox_dir),
                     toolbox_sha256=sha256_bytes(manifest.read_bytes()) if manifest and manifest.is_file() else None,
                     curve=rec.curve(), **(extra or {}))
    write_hirl_card(folder)
    return Path(folder) / RECORD


def write_hirl_card(folder: str | Path) -> Path:
    """(Re)write the README.md model card of a HIRL agent folder from its ``record.json`` (and ``test`` results)."""
    folder = Path(folder)
    r = read_json(folder / RECORD)
    c, cfg = r["curve"], r["config"]
    tail = ", ".join(f"{s}: {v:+.2f}" for s, v in list(zip(c["steps"], c["return_db"]))[-3:] if v is not None)
    lines = [f"# HIRL agent `{folder.name}` ({r['scale']} scale)", "", produced(r), "",
             f"Type network T and degree network D: `{cfg['arch']}` ResNet, {r['params']['type']:,} and "
             f"{r['params']['degree']:,} parameters. Tools: `{r['toolbox']}`. Configuration: `{json.dumps(cfg)}`; "
             + (crops_phrase(r["train_patches"], r["train_sets"], r["train_images"]) if "train_images" in r
                else f"{r['train_patches']} training patches from `embedded-train`")
             + ", each degraded by one of "
             f"{', '.join(f'`{s}`' for s in cfg['specs'])}.", "",
             f"Mean training-episode return (dB, with exploration) at the last logged steps: {tail}."]
    if c.get("val_gain_db") and c["val_gain_db"][-1] is not None:
        lines.append(f"Greedy PSNR gain on the validation patches at the end: {c['val_gain_db'][-1]:+.2f} dB.")
    lines += ["The whole curves are in `record.json`; the sha256 of `agent.pt` there is checked on load.", ""]
    if "test" in r:
        t = r["test"]
        lines += [f"Test (`{t['command']}`):", "", "| distortion | PSNR in | PSNR out | tools |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['psnr_in']:.2f} | {v['psnr_out']:.2f} | {v['tool_calls']:.2f} |"
                  for k, v in t["results"].items()]
        lines.append("")
        if "equal_trials" in t:
            e = t["equal_trials"]
            lines += [f"Equal trials (HIRL's Table 2; {e['patches']} patches per mixture, mean PSNR gain in dB over the "
                      "mixtures):", "", "| path length | " + " | ".join(map(str, e["lengths"])) + " |",
                      "|---|" + "---:|" * len(e["lengths"]),
                      "| brute force trials | " + " | ".join(f"{v:,}" for v in e["trials"]) + " |",
                      "| brute force | " + " | ".join(f"{v:+.3f}" for v in e["brute_force_db"]) + " |",
                      "| HIRL | " + " | ".join(f"{v:+.3f}" for v in e["hirl_db"]) + " |",
                      "| HIRL tools run | " + " | ".join(f"{v:.2f}" for v in e["hirl_trials"]) + " |",
                      "| brute force held to n trials | "
                      + " | ".join(f"{v:+.3f}" for v in e["brute_force_same_budget_db"]) + " |", ""]
    return write_readme(folder, lines)


#: Chapter 6's agents on disk (``AGENTS_DIR`` read on each use, so a test may point it elsewhere).
HIRL_AGENTS = ArtifactKind(folder=lambda: AGENTS_DIR, config_cls=HirlConfig, default="hirl", what="agent",
                           build=lambda c, _: HirlAgent(c.n_types, c.n_degrees, c.arch), check=_check_toolbox_entry,
                           hint="train one with `python scripts/train_hirl.py --part agent`")


def shipped_hirl_agents() -> list[str]:
    """Names of the HIRL agents shipped in ``restorelib/weights/agents-hirl`` (e.g. ``hirl``)."""
    return HIRL_AGENTS.shipped()


def load_hirl(name: str | Path = "hirl", device: torch.device | str = "cpu") -> tuple[HirlAgent, HirlConfig, dict]:
    """A trained HIRL agent: a shipped name (:func:`shipped_hirl_agents`) or a folder with ``record.json``; the
    weights are loaded with ``weights_only=True`` after a sha256 check. Returns (agent in eval mode, config, record).
    """
    return HIRL_AGENTS.load(name, device)


def get_hirl(profile, toolbox: Toolbox, bank: torch.Tensor | None = None, device: torch.device | str = "cpu",
             name: str = "hirl", log=None, progress: bool | str = False) -> tuple["HirlRestorer", dict]:
    """Chapter 6's agent at the active scale: trained here on ``toolbox`` when ``profile.train`` (CI: seconds; gpu:
    minutes on a Colab T4; paper: hours), else the shipped agent ``name`` with the tools recorded beside it.
    ``bank`` (P, 3, 63, 63) holds the clean training patches when training. Where ``profile.long_runs`` the run
    shows a progress bar and keeps its state in :func:`restorelib.core.long_runs.run_checkpoint`'s folder (it resumes).

    Returns (restorer, record); the record has ``seconds``, ``command`` and the ``curve`` (``steps``, ``return_db``,
    ``eps``, ``val_gain_db``) as in a shipped ``record.json``.
    """
    from .hirl import SCALES, train_hirl

    def train(cfg: HirlConfig, **run: object) -> tuple[HirlRestorer, dict]:
        agent, rec = train_hirl(toolbox, bank, cfg, device=device, log=log, **run)
        return HirlRestorer(agent, cfg, toolbox), {"seconds": rec.seconds, "command": f"train_hirl at {profile.name} "
                                                   "scale", "curve": rec.curve()}
    return load_or_train(profile, bank, lambda: (HirlRestorer.load(name, device), HIRL_AGENTS.record(name)), train,
                         config=SCALES.__getitem__, run="hirl", inputs=(toolbox, bank), progress=progress)


class HirlRestorer:
    """A trained HIRL agent with its toolbox. ``HirlRestorer.load("hirl")`` reads a shipped agent. Chapter 6."""

    def __init__(self, agent: HirlAgent, cfg: HirlConfig, toolbox: Toolbox | nn.Module) -> None:
        self.agent, self.cfg, self.toolbox = agent.eval(), cfg, toolbox
        self.tool_ids = (list(range(len(toolbox))) if cfg.tools is None else [toolbox.index(t) for t in cfg.tools])
        if len(self.tool_ids) != agent.n_types * agent.n_degrees:
            raise ValueError(f"toolbox must hold n_types * n_degrees = {agent.n_types * agent.n_degrees} tools (or "
                             f"cfg.tools name them), got {len(self.tool_ids)}")
        self.device = next(agent.parameters()).device

    @classmethod
    def load(cls, name: str | Path = "hirl", device: torch.device | str = "cpu",
             toolbox: Toolbox | None = None) -> "HirlRestorer":
        """Load agent ``name`` (shipped name or folder) and the tools recorded with it (unless ``toolbox`` is given);
        warns when those tools changed since the agent was trained (their manifest's sha256 differs)."""
        agent, cfg, record = load_hirl(name, device)
        if toolbox is None:
            folder = toolbox_folder(record)
            if folder is None:
                raise ValueError(f"agent {str(name)!r} records no toolbox folder; pass toolbox=")
            toolbox = hirl_toolbox(folder, device) if cfg.tools is None else Toolbox.load(folder, device)
            expected = record.get("toolbox_sha256")
            if expected and sha256_bytes((folder / "manifest.json").read_bytes()) != expected:
                warnings.warn(f"the tools in {folder} changed since agent {str(name)!r} was trained; retrain it",
                              stacklevel=2)
        return cls(agent, cfg, toolbox)

    def tool(self, tool_type: int, degree: int) -> int:
        """The toolbox index of (type, degree)."""
        return self.tool_ids[tool_type * self.agent.n_degrees + degree]

    @property
    def params(self) -> int:
        """Parameters of T, D and every tool they may call."""
        return count_params(self.agent) + sum(count_params(self.toolbox.nets[i]) for i in self.tool_ids)

    def agent_macs(self) -> int:
        """Multiply-adds of one step of the agent (T and D) on one 63x63 patch."""
        return count_macs(self.agent, (1, 3, PATCH, PATCH))

    def _max_len(self, max_len: int | None) -> int:
        max_len = self.cfg.max_len if max_len is None else max_len
        if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 0:
            raise ValueError(f"max_len must be a non-negative int, got {max_len!r}")
        return max_len

    @torch.no_grad()
    def rollout(self, patches: torch.Tensor, max_len: int | None = None
                ) -> tuple[torch.Tensor, list[list[str]], torch.Tensor]:
        """Each patch (N, 3, H, W) in [0, 1] (63x63 as in training) follows its own chain: type by T, degree by D,
        until D's value of that tool is not positive or after ``max_len`` tools (default the training length).

        Returns (restored (N, 3, H, W), chains of tool names, tool applications per patch (N,) long).
        """
        check_images(patches, "patches", channels=3, min_size=16)
        return greedy_rollout(self.agent, self.toolbox, self.tool_ids, patches.to(self.device), self._max_len(max_len))

    @torch.no_grad()
    def restore_image(self, image: torch.Tensor, max_len: int | None = None, reference: torch.Tensor | None = None,
                      tile: int = 512, chunk: int = 256, stop_share: float | None = None) -> ImageResult:
        """Restore one whole image (3, H, W) in [0, 1] by patch voting (module docstring). The result's ``votes``
        hold per step the votes for each type and, last, for stopping (n_types + 1,); with ``reference`` (3, H, W)
        its ``psnr`` holds the PSNR before the first and after every step; ``stop_share``: see
        :func:`~restorelib.rlrestore.restore.restore_by_votes`."""
        nt, nd = self.agent.n_types, self.agent.n_degrees
        rows_q: list[torch.Tensor] = []                # this step's degree Q-values of every patch

        def vote(crops: torch.Tensor, rows: slice, k: int, step: int) -> torch.Tensor:
            if k == 0:
                rows_q.clear()
            tq, dq = self.agent(crops)
            t = tq.argmax(dim=1)
            best = dq[torch.arange(len(t), device=self.device), t].max(dim=1).values
            rows_q.append(dq)
            return torch.where(best > 0, t, nt)        # a patch whose best degree gains nothing votes stop

        def apply_choice(x: torch.Tensor, a: int) -> tuple[torch.Tensor, str]:
            d = int(torch.bincount(torch.cat(rows_q)[:, a].argmax(dim=1), minlength=nd).argmax())
            tool = self.tool(a, d)
            return apply_tiled(lambda z: self.toolbox.apply(z, tool), x, tile=tile), self.toolbox.names[tool]

        return restore_by_votes(image, self._max_len(max_len), vote, nt, apply_choice, reference, chunk, self.device,
                                stop_share)


class HirlMethod(ChainAgentMethod):
    """``hirl[:AGENT]`` for :func:`restorelib.core.evaluation.evaluate`: 63x63 inputs follow their own chains, larger
    images are restored whole by patch voting. ``AGENT`` is a shipped HIRL agent (default ``hirl``) or a folder
    with ``record.json``. ``trials`` = tool applications, for equal-trial comparisons with brute force. Chapter 6."""

    def __init__(self, agent: "str | Path | HirlRestorer" = "hirl", device: torch.device | str = "cpu",
                 max_length: int | None = None, toolbox: Toolbox | None = None, name: str | None = None) -> None:
        restorer = agent if isinstance(agent, HirlRestorer) else HirlRestorer.load(agent or "hirl", device, toolbox)
        self.max_length = restorer._max_len(max_length)
        default = str(agent) if isinstance(agent, (str, Path)) and str(agent) not in ("", "hirl") else ""
        super().__init__(restorer, name or (f"hirl:{default}" if default else "hirl") + f"(L={self.max_length})",
                         self.max_length, restorer.agent_macs(), trials=True)

    def patches(self, degraded: torch.Tensor) -> tuple[torch.Tensor, list[list[str]], list[int]]:
        out, chains, calls = self.restorer.rollout(degraded, self.max_length)
        # a patch runs T and D once per step, plus once more when it stops before the limit
        return out, chains, [c + (c < self.max_length) for c in calls.tolist()]


def hirl_factory(arg: str, device: torch.device | str, max_length: int | None = None, **_: object) -> HirlMethod:
    """The ``hirl[:AGENT]`` method (registered below); ``max_length`` (1..10, default the training length) is
    ``--max-length``. Other options (``budget``, ``seed``...) are ignored."""
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                   or not 1 <= max_length <= 10):
        raise OptionError("max_length", f"max_length must be an int in 1..10, got {max_length!r}")
    return HirlMethod(arg or "hirl", device, max_length=max_length)


register_method("hirl", hirl_factory, "the hierarchical type-then-degree agent (chapter 6, --max-length); "
                "hirl:AGENT picks a trained agent folder")


def degraded_patches(images: dict[str, torch.Tensor], spec: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list]:
    """One random 63x63 patch per image, degraded by ``spec`` with a fixed seed: (degraded, clean) (N, 3, 63, 63)
    in [0, 1] and the levels drawn per patch. Chapter 6's test protocol (and ``scripts/eval_hirl.py``'s)."""
    from ..core.data import to_rgb
    from ..core.degradations import degrade
    from ..core.patches import random_patches
    g = torch.Generator().manual_seed(seed)
    clean = torch.cat([random_patches(to_rgb(im), 1, generator=g) for im in images.values()])
    degraded, levels = degrade(clean, spec, generator=g)
    return degraded, clean, levels


@torch.no_grad()
def equal_trials(restorer: HirlRestorer, degraded: torch.Tensor, clean: torch.Tensor,
                 lengths: tuple[int, ...] = (1, 2, 3, 4), progress: bool = False) -> dict[str, list[float]]:
    """HIRL's Table 2 on patches (N, 3, 63, 63) in [0, 1]: for each path length n, the mean PSNR gain (dB) of brute
    force over all chains of length <= n (``sum_{i<=n} 9^i`` trials, one walk for every n,
    :func:`restorelib.search.chains.brute_force_curve`) and of HIRL limited to n tools (its trials: the tools it applies).
    ``brute_force_same_budget_db`` holds brute force held to n trials, HIRL's budget, averaged over tool orders.
    Returns lists over ``lengths``: ``trials``, ``brute_force_db``, ``hirl_db``, ``hirl_trials``, and the gains per
    patch ``brute_force_patch_db``, ``hirl_patch_db`` (len(lengths) lists of N). Chapter 6."""
    from ..search.chains import brute_force_curve, brute_force_trials
    dev = restorer.device
    degraded, clean = degraded.to(dev), clean.to(dev)
    m = len(restorer.tool_ids)
    budgets = [brute_force_trials(m, n) for n in lengths]
    base = psnr(degraded, clean)
    curve = brute_force_curve(restorer.toolbox, degraded, clean, budgets,
                              tools=[restorer.toolbox.names[i] for i in restorer.tool_ids], progress=progress)
    out: dict[str, list[float]] = {"lengths": list(lengths), "trials": budgets,
                                   "brute_force_db": (curve - base).mean(dim=1).tolist(), "hirl_db": [],
                                   "hirl_trials": []}
    # brute force held to HIRL's own budget, n trials: n of the m length-1 chains, in an arbitrary order. Average
    # over the orders: the j-th best tool is the best of a random n-subset with probability C(m-1-j, n-1) / C(m, n)
    ones = torch.stack([psnr(restorer.toolbox.apply(degraded, i), clean) for i in restorer.tool_ids]) - base
    ranked = ones.sort(dim=0, descending=True).values.clamp_min(0)          # stopping at once is worth 0
    out["brute_force_same_budget_db"] = []
    for n in lengths:
        k = min(n, m)
        w = torch.tensor([math.comb(m - 1 - j, k - 1) / math.comb(m, k) for j in range(m)], device=dev)
        out["brute_force_same_budget_db"].append((w[:, None] * ranked).sum(dim=0).mean().item())
    gains = []
    for n in lengths:
        restored, _, calls = restorer.rollout(degraded, n)
        gains.append(psnr(restored, clean) - base)
        out["hirl_db"].append(gains[-1].mean().item())
        out["hirl_trials"].append(calls.float().mean().item())
    out["brute_force_patch_db"] = (curve - base).tolist()
    out["hirl_patch_db"] = torch.stack(gains).tolist()
    return out


def usage_table(chains: list[list[str]], names: list[str]) -> dict[str, list[float]]:
    """How often each tool was used at each step (HIRL's path analysis): {tool: [fraction of the chains still
    running at step 1, 2, ...]}, from the chains of :meth:`HirlRestorer.rollout`."""
    steps = max((len(c) for c in chains), default=0)
    out = {name: [0.0] * steps for name in names}
    for k in range(steps):
        live = [c[k] for c in chains if len(c) > k]
        for name in live:
            out[name][k] += 1 / len(live)
    return out


__all__ = ["HIRL_AGENTS", "HirlMethod", "HirlRestorer", "equal_trials", "get_hirl", "hirl_factory", "degraded_patches",
           "usage_table"]
