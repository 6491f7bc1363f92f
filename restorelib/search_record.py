"""Chapter 4's oracle baselines (brute force and the best fixed chain), searched once and shipped with a record.

Brute force over every chain of up to 3 of the 12 tools tries 1,884 chains per patch: at book scale (20 test patches
in each of 3 groups, 16 training patches to fit the best fixed chain) it was most of chapter 4's build time on a
2-core CPU. ``scripts/record_search.py`` runs these searches and writes :data:`RECORD`: per patch the chain the
search chose, its PSNR and its cost, with the command, hardware and time. :func:`search_baselines` uses the record
only after checking it: the same patches (names, sizes, and a hash of the training patches), and every recorded
chain re-applied here (at most 3 tools a patch) giving the recorded PSNR to :data:`TOLERANCE_DB`. A record made with
other tools or other patches is never used: the searches then run here, and ``source`` says which happened.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import data
from .config import Profile, hardware, weights_dir
from .degradations import degrade
from .evaluate import evaluate
from .methods import Restored, SearchMethod
from .metrics import psnr
from .patches import random_patches
from .search import best_fixed_chain, run_chains
from .tools import Toolbox, count_params

RECORD = weights_dir() / "agents" / "search-baselines.json"
TOLERANCE_DB = 1e-3
"""A recorded chain is trusted when, re-applied here, it gives the recorded PSNR to this many dB."""


@dataclass
class SearchBaselines:
    """The best fixed chain (fitted on the training patches, with their mean PSNR), brute force's
    :func:`~restorelib.evaluate.evaluate` result per group, and ``source``: ``"record"`` or ``"searched here"``."""

    fixed_chain: list[str]
    fixed_train_psnr: float
    brute_force: dict[str, dict]
    source: str
    record: dict | None = None


def search_inputs(profile: Profile, test_all: dict[str, torch.Tensor], t_max: int
                  ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, int]:
    """Chapter 4's search inputs at ``profile``'s scale: (test images, degraded and clean training patches
    (P, 3, 63, 63), the longest chain L). The training patches are random crops of the embedded training photos
    (4 / 2 / 16 per photo at ci / book / paper scale), degraded by the moderate group, seed 0; L is ``t_max``
    (2 at CI scale); the test images are the first 3 / 20 / 68 of ``test_all``."""
    n_test = profile.pick(ci=3, book=20, paper=68)
    g = torch.Generator().manual_seed(0)
    per_photo = profile.pick(ci=4, book=2, paper=16)
    clean = torch.cat([random_patches(data.to_rgb(v), per_photo, generator=g)
                       for v in data.load_set("embedded-train").values()])
    degraded, _ = degrade(clean, "moderate", generator=g)
    return dict(list(test_all.items())[:n_test]), degraded, clean, (2 if profile.fast else t_max)


def _sha256(tensors: list[torch.Tensor], names: list[str] = ()) -> str:
    h = hashlib.sha256("\n".join(names).encode())
    for t in tensors:
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _key(toolbox: Toolbox, images: dict[str, torch.Tensor], groups: tuple[str, ...], max_len: int,
         train_deg: torch.Tensor, train_clean: torch.Tensor) -> dict:
    """What the searches depend on: the tools (names and weights), the test images, the groups, L and the
    training patches."""
    state = toolbox.state_dict()
    return {"images": {k: list(v.shape) for k, v in images.items()}, "groups": list(groups), "max_len": max_len,
            "patch": 63, "seed": 0, "train_sha256": _sha256([train_deg, train_clean]),
            "tools_sha256": _sha256(list(state.values()), toolbox.names + list(state))}


class _Replay:
    """Apply recorded chains, one per patch in :func:`evaluate`'s order, and report the recorded search cost."""

    tileable = False

    def __init__(self, name: str, rows: list[dict], toolbox: Toolbox) -> None:
        self.name, self.rows, self.toolbox, self.pos = name, rows, toolbox, 0
        self.params = count_params(toolbox)

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        rows = self.rows[self.pos:self.pos + degraded.shape[0]]
        self.pos += len(rows)
        chains = [list(r["chain"]) for r in rows]
        return Restored(run_chains(self.toolbox, degraded, chains), [len(c) for c in chains],
                        [r["macs"] for r in rows], chains, [r["trials"] for r in rows])


def _replayed(record: dict, toolbox: Toolbox, images: dict[str, torch.Tensor], train_deg: torch.Tensor,
              train_clean: torch.Tensor, device: torch.device | str) -> SearchBaselines | None:
    fixed = record["fixed_chain"]
    got = psnr(run_chains(toolbox, train_deg.to(device), [fixed["chain"]] * len(train_deg)),
               train_clean.to(device)).mean().item()
    if abs(got - fixed["train_psnr"]) > TOLERANCE_DB:
        return None
    results = {}
    for grp, rec in record["brute_force"].items():
        res = evaluate(_Replay(rec["method"], rec["per_image"], toolbox), images, grp, patch=63, seed=0,
                       device=device)
        if any(abs(a["psnr_out"] - b["psnr_out"]) > TOLERANCE_DB or a["image"] != b["image"]
               for a, b in zip(res["per_image"], rec["per_image"], strict=True)):
            return None
        results[grp] = res
    return SearchBaselines(fixed["chain"], got, results, "record", record)


def search_baselines(toolbox: Toolbox, images: dict[str, torch.Tensor], groups: tuple[str, ...], max_len: int,
                     train_deg: torch.Tensor, train_clean: torch.Tensor, device: torch.device | str = "cpu",
                     record: str | Path | None = RECORD,
                     progress: bool = False) -> SearchBaselines:
    """The best fixed chain of length <= ``max_len`` on the training patches (P, 3, 63, 63) and brute force's
    results on ``images`` (one 63x63 patch each, seed 0) for every group: read from ``record`` when it holds these
    very searches and every recorded chain still gives its PSNR here, else searched here (``record=None``: always).
    Chapter 4."""
    key = _key(toolbox, images, groups, max_len, train_deg, train_clean)
    path = Path(record) if record is not None else None
    if path is not None and path.is_file():
        rec = json.loads(path.read_text())
        if rec.get("key") == key:
            found = _replayed(rec, toolbox, images, train_deg, train_clean, device)
            if found is not None:
                return found
    chain, score = best_fixed_chain(toolbox, train_deg.to(device), train_clean.to(device), max_len=max_len)
    brute = SearchMethod("brute-force", device, max_length=max_len, toolbox=toolbox)
    results = {g: evaluate(brute, images, g, patch=63, seed=0, device=device, progress=progress) for g in groups}
    return SearchBaselines(chain, score, results, "searched here")


def record_of(found: SearchBaselines, toolbox: Toolbox, images: dict[str, torch.Tensor], groups: tuple[str, ...],
              max_len: int, train_deg: torch.Tensor, train_clean: torch.Tensor, command: str, seconds: float,
              device: torch.device | str) -> dict:
    """The JSON record of searches made here (see :data:`RECORD`): the key of their inputs, the fixed chain and,
    per group, brute force's chain, PSNR, trials and multiply-adds per patch, with command, hardware and time."""
    rows = {g: [{k: r[k] for k in ("image", "chain", "psnr_out", "trials", "macs")} for r in res["per_image"]]
            for g, res in found.brute_force.items()}
    return {"command": command, "date": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 1),
            "hardware": hardware(device), "device": str(device),
            "torch": torch.__version__, "key": _key(toolbox, images, groups, max_len, train_deg, train_clean),
            "fixed_chain": {"chain": found.fixed_chain, "train_psnr": found.fixed_train_psnr},
            "brute_force": {g: {"method": found.brute_force[g]["method"], "per_image": rows[g]} for g in groups}}
