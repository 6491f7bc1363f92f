"""Does an agent stop at its best step? Whole photos restored by patch voting, the PSNR after every step.

An agent that has learnt to stop ends its chain where the PSNR peaks; one that has not takes a last tool that lowers
it. :func:`stopping_study` degrades whole photos (seeded per photo), lets a restorer with ``restore_image`` (the
agents of chapters 4, 6 and 8) restore each one with a reference, and reports, per photo, the PSNR curve, the step
where it peaked and what the chain's end lost against that peak. Chapter 4 (issue "models that work": "the agent
learns to stop").

It also measures the cautious vote of :func:`~restorelib.rlrestore.restore.restore_by_votes` (``stop_share``: end the
chain when at least that share of the patches votes stop) for several shares at once, without restoring again: that
rule ends a chain at the majority's stop or earlier, so its chain is a prefix of the majority's, read from the votes
of every step.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import torch

from ..core.data import to_rgb
from ..core.degradations import degrade, parse_spec
from .restore import check_stop_share

#: A chain ends "at its best step" when its last PSNR is within this of the peak of its curve (dB).
AT_BEST_DB = 0.01


class WholeImageRestorer(Protocol):
    """What :func:`stopping_study` needs: ``restore_image`` of the agents of chapters 4, 6 and 8 (an
    :class:`~restorelib.rlrestore.restore.ImageResult` with ``psnr`` and ``chain``)."""

    def restore_image(self, image: torch.Tensor, t_max: int | None = None,
                      reference: torch.Tensor | None = None) -> object: ...


def _summary(photos: dict, ends: dict[str, int] | None = None) -> dict:
    """The study's figures over ``photos``, each chain ended after ``ends[name]`` steps (default: all of them)."""
    loss, calls, gain = [], [], []
    for name, p in photos.items():
        curve = p["psnr"]
        end = len(p["chain"]) if ends is None else ends[name]
        loss.append(round(max(curve) - curve[end], 4))
        calls.append(end)
        gain.append(curve[end] - curve[0])
    n = len(photos)
    return {"at_best": sum(v <= AT_BEST_DB for v in loss), "mean_loss_db": round(sum(loss) / n, 4),
            "max_loss_db": round(max(loss), 4), "mean_calls": round(sum(calls) / n, 3),
            "mean_gain_db": round(sum(gain) / n, 4)}


def cautious_end(votes: list[list[int]], steps: int, stop_share: float) -> int:
    """How many of a chain's ``steps`` the cautious vote keeps: the first step whose votes ((A,) each, stop last)
    give stop at least ``stop_share`` of them, else all ``steps``."""
    for t, v in enumerate(votes[:steps]):
        if v[-1] >= stop_share * sum(v):
            return t
    return steps


def stopping_study(restorer: WholeImageRestorer, images: dict[str, torch.Tensor], spec: str, seed: int = 0,
                   t_max: int | None = None, stop_shares: Sequence[float] = ()) -> dict:
    """Restore every photo of ``images`` ({name: (C, H, W) in [0, 1]}, gray made RGB) degraded by ``spec``
    (generator seeded by ``(seed, photo index)``, so every restorer sees the same inputs).

    Returns ``{"spec", "seed", "photos": {name: {"levels", "psnr": [input, after step 1, ...], "chain", "votes",
    "best_step", "loss_db"}}, "at_best", "photos_n", "mean_loss_db", "max_loss_db", "mean_calls",
    "mean_gain_db", "cautious"}``: ``best_step`` is the step (0 = the input) where the PSNR peaked, ``loss_db`` >= 0
    what the last step is below that peak; ``at_best`` counts photos whose chain ended within :data:`AT_BEST_DB` of
    it. ``cautious`` holds the same figures for each share of ``stop_shares`` (in (0, 1]) under the cautious vote.
    """
    if not images:
        raise ValueError("images must hold at least one photo")
    parse_spec(spec)
    for share in stop_shares:
        check_stop_share(share)
    photos = {}
    for i, (name, img) in enumerate(images.items()):
        clean = to_rgb(img)[None].float()
        g = torch.Generator().manual_seed(seed * 100_003 + i)
        x, levels = degrade(clean, spec, g)
        res = restorer.restore_image(x[0].clamp(0, 1), t_max, reference=clean[0])
        curve = [round(float(p), 4) for p in res.psnr]
        best = max(range(len(curve)), key=curve.__getitem__)
        photos[name] = {"levels": levels[0], "psnr": curve, "chain": list(res.chain),
                        "votes": [[int(c) for c in v] for v in res.votes], "best_step": best,
                        "loss_db": round(curve[best] - curve[-1], 4)}
    cautious = {f"{share:g}": _summary(photos, {k: cautious_end(p["votes"], len(p["chain"]), share)
                                                for k, p in photos.items()}) for share in stop_shares}
    return {"spec": spec, "seed": seed, "photos": photos, "photos_n": len(photos), **_summary(photos),
            "cautious": cautious}


def choose_stop_share(study: dict) -> float | None:
    """The share of :func:`stopping_study`'s ``cautious`` figures (measured on *training* photos) whose chains end
    closest to their peak: the smallest mean loss, ties to the larger share (the rule that changes the fewest
    chains); None when no share beats the majority vote alone."""
    best, best_loss = None, study["mean_loss_db"]
    for key, f in sorted(study.get("cautious", {}).items(), key=lambda kv: -float(kv[0])):
        if f["mean_loss_db"] < best_loss - 1e-9:
            best, best_loss = float(key), f["mean_loss_db"]
    return best


__all__ = ["AT_BEST_DB", "cautious_end", "choose_stop_share", "stopping_study"]
