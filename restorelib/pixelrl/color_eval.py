"""Evaluating local colour enhancement (chapter 7): ``python -m restorelib evaluate --style STYLE``.

Colour enhancement has no degradation and no PSNR: a method turns a photo into a retouched one, and is measured by
the mean CIELab distance of its output to the retouched target (:func:`~restorelib.pixelrl.color.mean_lab_error`,
the paper's Table 6; lower is better). :func:`color_test_pairs` gives the (photo, target) pairs by name: the
embedded styles of :func:`~restorelib.pixelrl.color_data.styled_pairs` on any colour set, or the paper's test split
(``Yan2016``, read from ``$RESTORELIB_DATA``); :func:`evaluate_color` measures any method on them.
"""
from __future__ import annotations

import time

import torch

from ..core.config import get_device
from ..core.method import Method
from .color import mean_lab_error
from .color_data import STYLES, YAN_NAME, YAN_STYLES, centre_pairs, styled_pairs, yan2016_pairs

Pairs = dict[str, tuple[torch.Tensor, torch.Tensor]]


def style_names(images: str) -> tuple[str, ...]:
    """The styles the set ``images`` can be evaluated in: Yan et al.'s three for ``Yan2016``, else :data:`STYLES`."""
    return tuple(YAN_STYLES) if images == YAN_NAME else STYLES


def color_test_pairs(images: str, style: str, limit: int | None = None, size: int = 0) -> Pairs:
    """``{name: (photo, target)}`` (3, H, W) in [0, 1] to test a colour method on: the test split of the paper's set
    when ``images`` is ``Yan2016`` (``style`` one of its three), else the colour photos of the named set with their
    embedded ``style`` edit (``popout``, ``watercolor``). At most ``limit`` pairs; ``size`` > 0 keeps centre crops of
    that size (:func:`~restorelib.pixelrl.color_data.centre_pairs`). Raises ValueError (bad style, no colour photo)
    or FileNotFoundError (a set that is not on disk, naming how to fetch it). Chapter 7."""
    if style not in style_names(images):
        raise ValueError(f"style must be one of {list(style_names(images))} for images {images!r}, got {style!r}")
    if images == YAN_NAME:
        pairs = yan2016_pairs("test", style, limit)
    else:
        pairs = styled_pairs(images, style, limit)
    return centre_pairs(pairs, size)


@torch.no_grad()
def evaluate_color(method: Method, pairs: Pairs, style: str, device: torch.device | str | None = None) -> dict:
    """Enhance every photo of ``pairs`` with ``method`` (its ``restore`` takes RGB (1, 3, H, W) in [0, 1]) and
    measure the mean CIELab error to its target before (``error_in``: the photo itself, Table 6's "original") and
    after (``error_out``). Returns a JSON-ready dict: ``method``, ``task`` (``color:STYLE``), ``images``, both means,
    ``params``, ``seconds`` and ``per_image`` rows (with the chain of most used actions for PixelRL). Chapter 7."""
    if not isinstance(pairs, dict) or not pairs:
        raise ValueError("pairs must be a non-empty dict {name: (photo, target)}")
    device = get_device(device)
    rows = []
    for name, (photo, target) in pairs.items():
        x, t = photo[None], target[None]
        t0 = time.perf_counter()
        res = method.restore(x.to(device))
        out = res.images.detach().float().cpu().clamp(0, 1)
        rows.append({"image": name, "error_in": mean_lab_error(x, t).item(), "error_out": mean_lab_error(out, t).item(),
                     "chain": res.chains[0] if res.chains else [], "seconds": time.perf_counter() - t0})
    mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {"method": method.name, "task": f"color:{style}", "images": len(rows), "error_in": mean("error_in"),
            "error_out": mean("error_out"), "params": method.params, "seconds": sum(r["seconds"] for r in rows),
            "device": str(device), "per_image": rows}


def color_summary(result: dict, images: str) -> str:
    """Two lines on an :func:`evaluate_color` result, e.g. for ``python -m restorelib evaluate --style``."""
    n, d = result["images"], result["error_out"] - result["error_in"]
    return "\n".join([
        f"{result['method']} on {n} photo{'s' * (n != 1)} of {images}, task {result['task']}",
        f"  mean CIELab error to the target {result['error_in']:.3f} -> {result['error_out']:.3f} ({d:+.3f}; "
        f"lower = better), params {result['params']:,}, {result['seconds']:.2f} s"])


__all__ = ["color_summary", "color_test_pairs", "evaluate_color", "style_names"]
