"""The oracle searches of chapters 3 and 4 (brute force, greedy, the best fixed chain), searched once and shipped
with a record.

Brute force over every chain of up to 3 of the 12 tools tries 1,884 chains per patch: at book scale (12 test patches
in each of 3 groups for chapter 3, 20 for chapter 4, and 16 training patches to fit the best fixed chain) it was
most of these chapters' build time on a 2-core CPU. ``scripts/record_search.py`` runs a chapter's searches and
writes its record (:data:`RECORDS`): per search, group and patch the chain the search chose, its PSNR and its cost,
with the command, hardware and time. :func:`search_baselines` uses a record only after checking it: the same
searches on the same patches (names, sizes, and a hash of the test images and of the training patches) with the
same tools (a hash of their weights), and every recorded chain re-applied here (at most L tools a patch) giving the
recorded PSNR to :data:`TOLERANCE_DB`. A record made with other tools or other patches is never used: the searches
then run here, and ``source`` and ``reason`` say which happened and why.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core import data
from ..core.config import Profile, hardware, weights_dir
from ..core.degradations import degrade
from ..core.evaluation import evaluate
from ..core.method import Restored
from ..core.metrics import psnr
from ..core.patches import random_patches
from .chains import best_fixed_chain, run_chains
from .method import SearchMethod
from ..toolbox.tools import Toolbox, count_params

RECORD = weights_dir() / "agents" / "search-baselines.json"
"""Chapter 4's record (brute force per test patch and group, the best fixed chain)."""
RECORDS = {3: weights_dir() / "agents" / "search-baselines-ch3.json", 4: RECORD}
"""The shipped record of each chapter's searches."""
KINDS = {3: ("brute-force", "greedy"), 4: ("brute-force",)}
"""The per-patch searches each chapter reads from its record (chapter 4 runs its greedy search itself)."""
TEST_IMAGES = {3: {"ci": 3, "book": 12, "paper": 68}, 4: {"ci": 3, "book": 20, "paper": 68}}
"""How many test images (one 63x63 patch each) each chapter searches at each scale."""
TOLERANCE_DB = 1e-3
"""A recorded chain is trusted when, re-applied here, it gives the recorded PSNR to this many dB."""


@dataclass
class SearchBaselines:
    """The best fixed chain (fitted on the training patches, with their mean PSNR), each per-patch search's
    :func:`~restorelib.core.evaluation.evaluate` result per group (``searches[kind][group]``), ``source``
    (``"record"`` or ``"searched here"``), ``reason`` (why no record was used; empty when one was) and the record."""

    fixed_chain: list[str]
    fixed_train_psnr: float
    searches: dict[str, dict[str, dict]]
    source: str
    record: dict | None = None
    reason: str = ""

    @property
    def brute_force(self) -> dict[str, dict]:
        """Brute force's result per group (chapter 4's name for ``searches["brute-force"]``)."""
        return self.searches["brute-force"]


def search_inputs(profile: Profile, test_all: dict[str, torch.Tensor], t_max: int, chapter: int = 4
                  ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, int]:
    """Chapter ``chapter``'s search inputs (3 or 4) at ``profile``'s scale: (test images, degraded and clean
    training patches (P, 3, 63, 63), the longest chain L). The training patches are random crops of the embedded
    training photos (4 / 2 / 16 per photo at ci / book / paper scale), degraded by the moderate group, seed 0; L is
    ``t_max`` (2 at CI scale); the test images are the first :data:`TEST_IMAGES` of ``test_all``."""
    if chapter not in TEST_IMAGES:
        raise ValueError(f"chapter must be one of {sorted(TEST_IMAGES)}, got {chapter!r}")
    n_test = profile.pick(**TEST_IMAGES[chapter])
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
         train_deg: torch.Tensor, train_clean: torch.Tensor, kinds: tuple[str, ...]) -> dict:
    """What the searches depend on: the tools (names and weights), the test images (names, sizes, pixels), the
    groups, the searches, L and the training patches."""
    state = toolbox.state_dict()
    return {"images": {k: list(v.shape) for k, v in images.items()}, "groups": list(groups), "max_len": max_len,
            "kinds": list(kinds), "patch": 63, "seed": 0,
            "images_sha256": _sha256(list(images.values()), list(images)),
            "train_sha256": _sha256([train_deg, train_clean]),
            "tools_sha256": _sha256(list(state.values()), toolbox.names + list(state))}


_WHAT = {"tools_sha256": "other tools (their weights differ)", "images": "other test images",
         "images_sha256": "other test images (their pixels differ)", "train_sha256": "other training patches",
         "groups": "other groups", "max_len": "another longest chain", "kinds": "other searches"}


def _key_differs(recorded: object, key: dict) -> str:
    """'' when the record's key is ``key``, else what differs, in words."""
    if not isinstance(recorded, dict):
        return "the record has no key"
    return ", ".join(_WHAT.get(k, k) for k in key if recorded.get(k) != key[k])


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
              train_clean: torch.Tensor, device: torch.device | str) -> tuple[SearchBaselines | None, str]:
    """The record's searches re-applied here, or (None, the first recorded PSNR not found again)."""
    fixed = record["fixed_chain"]
    got = psnr(run_chains(toolbox, train_deg.to(device), [fixed["chain"]] * len(train_deg)),
               train_clean.to(device)).mean().item()
    if abs(got - fixed["train_psnr"]) > TOLERANCE_DB:
        return None, f"the best fixed chain gives {got:.4f} dB here, {fixed['train_psnr']:.4f} dB in the record"
    searches: dict[str, dict[str, dict]] = {}
    for kind in record["key"]["kinds"]:                 # the key's searches and groups, every one of them
        for grp in record["key"]["groups"]:
            rec = record["searches"][kind][grp]
            res = evaluate(_Replay(rec["method"], rec["per_image"], toolbox), images, grp, patch=63, seed=0,
                           device=device)
            if len(res["per_image"]) != len(rec["per_image"]):
                return None, f"{kind} on {grp} has {len(rec['per_image'])} patches in the record"
            for a, b in zip(res["per_image"], rec["per_image"]):
                if a["image"] != b["image"] or abs(a["psnr_out"] - b["psnr_out"]) > TOLERANCE_DB:
                    return None, (f"{kind}'s chain for {b['image']} ({grp}) gives {a['psnr_out']:.4f} dB here, "
                                  f"{b['psnr_out']:.4f} dB in the record")
            searches.setdefault(kind, {})[grp] = res
    return SearchBaselines(fixed["chain"], got, searches, "record", record), ""


def _read(path: Path | dict | None) -> tuple[dict | None, str]:
    if path is None:
        return None, "no record was asked for"
    if isinstance(path, dict):
        return path, ""
    if not path.is_file():
        return None, f"no record {path.name} is shipped"
    try:
        rec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"the record {path.name} cannot be read ({e})"
    return (rec, "") if isinstance(rec, dict) else (None, f"the record {path.name} is not a JSON object")


def search_baselines(toolbox: Toolbox, images: dict[str, torch.Tensor], groups: tuple[str, ...], max_len: int,
                     train_deg: torch.Tensor, train_clean: torch.Tensor, device: torch.device | str = "cpu",
                     record: str | Path | dict | None = RECORD, progress: bool = False,
                     kinds: tuple[str, ...] = KINDS[4]) -> SearchBaselines:
    """The best fixed chain of length <= ``max_len`` on the training patches (P, 3, 63, 63) and the per-patch
    searches ``kinds`` (``brute-force``, ``greedy``; L = ``max_len``) on ``images`` (one 63x63 patch each, seed 0)
    for every group: read from ``record`` when it holds these very searches and every recorded chain still gives its
    PSNR here, else searched here (``record=None``: always; a dict is a record already read). ``reason`` says why
    no record was used. Chapters 3 (``record=RECORDS[3], kinds=KINDS[3]``) and 4 (the defaults)."""
    kinds = tuple(kinds)
    if not kinds or len(set(kinds)) != len(kinds) or not set(kinds) <= {"brute-force", "greedy"}:
        raise ValueError(f"kinds must be distinct searches among 'brute-force' and 'greedy', got {kinds!r}")
    key = _key(toolbox, images, groups, max_len, train_deg, train_clean, kinds)
    rec, reason = _read(Path(record) if isinstance(record, (str, Path)) else record)
    if rec is not None:
        differs = _key_differs(rec.get("key"), key)
        if differs:
            reason = f"the record was made with {differs}"
        else:
            try:
                found, reason = _replayed(rec, toolbox, images, train_deg, train_clean, device)
            except (KeyError, TypeError, ValueError) as e:        # a record edited by hand, or cut short
                found, reason = None, f"the record is malformed ({type(e).__name__}: {e})"
            if found is not None:
                return found
    chain, score = best_fixed_chain(toolbox, train_deg.to(device), train_clean.to(device), max_len=max_len)
    searches = {}
    for kind in kinds:
        method = SearchMethod(kind, device, max_length=max_len, toolbox=toolbox)
        searches[kind] = {g: evaluate(method, images, g, patch=63, seed=0, device=device, progress=progress)
                          for g in groups}
    return SearchBaselines(chain, score, searches, "searched here", reason=reason)


def record_of(found: SearchBaselines, toolbox: Toolbox, images: dict[str, torch.Tensor], groups: tuple[str, ...],
              max_len: int, train_deg: torch.Tensor, train_clean: torch.Tensor, command: str, seconds: float,
              device: torch.device | str) -> dict:
    """The JSON record of searches made here (see :data:`RECORDS`): the key of their inputs, the fixed chain and,
    per search and group, the chain, PSNR, trials and multiply-adds per patch, with command, hardware and time."""
    kinds = tuple(found.searches)
    return {"command": command, "date": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 1),
            "hardware": hardware(device), "device": str(device), "torch": torch.__version__,
            "key": _key(toolbox, images, groups, max_len, train_deg, train_clean, kinds),
            "fixed_chain": {"chain": found.fixed_chain, "train_psnr": found.fixed_train_psnr},
            "searches": {kind: {g: {"method": res["method"],
                                    "per_image": [{k: r[k] for k in ("image", "chain", "psnr_out", "trials", "macs")}
                                                  for r in res["per_image"]]}
                                for g, res in found.searches[kind].items()} for kind in kinds}}
