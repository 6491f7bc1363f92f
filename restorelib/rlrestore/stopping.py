"""Does an agent stop at its best step? Whole photos restored by patch voting, the PSNR after every step.

An agent that has learnt to stop ends its chain where the PSNR peaks; one that has not takes a last tool that lowers
it. :func:`stopping_study` degrades whole photos (seeded per photo), lets a restorer with ``restore_image`` (the
agents of chapters 4, 6 and 8) restore each one with a reference, and reports, per photo, the PSNR curve, the step
where it peaked and what the chain's end lost against that peak. Chapter 4 (issue "models that work": "the agent
learns to stop").
"""
from __future__ import annotations

from typing import Protocol

import torch

from ..core.data import to_rgb
from ..core.degradations import degrade, parse_spec

#: A chain ends "at its best step" when its last PSNR is within this of the peak of its curve (dB).
AT_BEST_DB = 0.01


class WholeImageRestorer(Protocol):
    """What :func:`stopping_study` needs: ``restore_image`` of the agents of chapters 4, 6 and 8 (an
    :class:`~restorelib.rlrestore.restore.ImageResult` with ``psnr`` and ``chain``)."""

    def restore_image(self, image: torch.Tensor, t_max: int | None = None,
                      reference: torch.Tensor | None = None) -> object: ...


def stopping_study(restorer: WholeImageRestorer, images: dict[str, torch.Tensor], spec: str, seed: int = 0,
                   t_max: int | None = None) -> dict:
    """Restore every photo of ``images`` ({name: (C, H, W) in [0, 1]}, gray made RGB) degraded by ``spec``
    (generator seeded by ``(seed, photo index)``, so every restorer sees the same inputs).

    Returns ``{"spec", "seed", "photos": {name: {"levels", "psnr": [input, after step 1, ...], "chain",
    "best_step", "loss_db"}}, "at_best", "photos_n", "mean_loss_db", "max_loss_db", "mean_calls",
    "mean_gain_db"}``: ``best_step`` is the step (0 = the input) where the PSNR peaked, ``loss_db`` >= 0 what
    the last step is below that peak; ``at_best`` counts photos whose chain ended within :data:`AT_BEST_DB` of it.
    """
    if not images:
        raise ValueError("images must hold at least one photo")
    parse_spec(spec)
    photos = {}
    for i, (name, img) in enumerate(images.items()):
        clean = to_rgb(img)[None].float()
        g = torch.Generator().manual_seed(seed * 100_003 + i)
        x, levels = degrade(clean, spec, g)
        res = restorer.restore_image(x[0].clamp(0, 1), t_max, reference=clean[0])
        curve = [round(float(p), 4) for p in res.psnr]
        best = max(range(len(curve)), key=curve.__getitem__)
        photos[name] = {"levels": levels[0], "psnr": curve, "chain": list(res.chain), "best_step": best,
                        "loss_db": round(curve[best] - curve[-1], 4)}
    losses = [p["loss_db"] for p in photos.values()]
    n = len(photos)
    return {"spec": spec, "seed": seed, "photos": photos, "photos_n": n,
            "at_best": sum(v <= AT_BEST_DB for v in losses),
            "mean_loss_db": round(sum(losses) / n, 4), "max_loss_db": round(max(losses), 4),
            "mean_calls": round(sum(len(p["chain"]) for p in photos.values()) / n, 3),
            "mean_gain_db": round(sum(p["psnr"][-1] - p["psnr"][0] for p in photos.values()) / n, 4)}


__all__ = ["AT_BEST_DB", "stopping_study"]
