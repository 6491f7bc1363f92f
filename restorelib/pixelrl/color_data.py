"""Photo + retouched-target pairs for chapter 7's local colour enhancement.

Two sources give ``{name: (input (3, H, W), target (3, H, W))}`` pairs in [0, 1]:

* :func:`styled_pairs` -- the offline default: any colour set of :func:`restorelib.core.data.load_set` (the embedded
  photos, CBSD398 from ``$RESTORELIB_DATA`` for training) and a target made by one of two fixed local edits
  (:data:`STYLES`) that the agent never sees, only their results:

  - ``popout``: a subject mask (:func:`subject_mask`: the frequency-tuned saliency of Achanta et al. 2009 times a
    centre prior) gets contrast x1.15 and saturation x1.25, the rest saturation x0.7;
  - ``watercolor``: a light wash -- brightness up to x1.25 where the smoothed luma is dark, saturation up to x1.25
    where the photo is flat (little gradient energy), less at edges.

  Both are point edits whose strength varies smoothly over the image, reachable by the 13 actions within the 10 steps
  (the largest needs about 9.2 steps of x1.05), so the agent's task is to infer from the content where to do what.
* :func:`yan2016_pairs` -- the paper's set (Yan et al. 2016, "Automatic photo adjustment using deep neural networks":
  70 train / 45 test Flickr photos retouched in three styles, :data:`YAN_STYLES`). It cannot be downloaded here:
  copy ``data/uniform_set/`` of the GitHub repository ``stephenyan1231/dl-image-enhance`` (about 540 MB) to
  ``$RESTORELIB_DATA/Yan2016/``; :func:`check_yan2016` checks the split lists, the file names and the pairs first.
  Its licence is not stated: keep it out of any repository.

:class:`PairSampler` cuts the training crops of :func:`restorelib.pixelrl.a2c.train_pixelrl`: input and target cut at
the same place, as one (N, 6, S, S) batch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core import data
from ..core.validation import check_image
from ..core.config import data_dir
from ..core.patches import CropSampler, rescale

STYLES = ("popout", "watercolor")
YAN_NAME = "Yan2016"
YAN_STYLES = {"foregroundpopout": "uniform_set_foregroundpopout_tif", "xpro": "uniform_set_xpro_tif",
              "watercolor": "uniform_set_watercolor_tif"}
YAN_INPUT = "uniform_set_autotone_tif"
YAN_SPLITS = {"train": "uniform_set_train_id.txt", "test": "uniform_set_test_id.txt"}
YAN_FETCH = ("copy the folder data/uniform_set of https://github.com/stephenyan1231/dl-image-enhance (git clone it, "
             "about 540 MB) to $RESTORELIB_DATA/Yan2016")
_LUMA = np.array([0.299, 0.587, 0.114])


# ----------------------------------------------------------------------------- the two fixed edits
def _hwc(image: torch.Tensor) -> np.ndarray:
    check_image(image, "image", channels=3, min_size=2)      # finite, in [0, 1], RGB (3, H, W)
    return image.permute(1, 2, 0).double().clamp(0, 1).numpy()


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(a, 0, 1)).permute(2, 0, 1).float().contiguous()


def _saturate(x: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    luma = (x @ _LUMA)[..., None]
    return luma + np.asarray(f)[..., None] * (x - luma) if np.ndim(f) else luma + f * (x - luma)


def subject_mask(image: torch.Tensor) -> torch.Tensor:
    """The pop-out edit's soft subject mask of RGB image (3, H, W) in [0, 1] -> (H, W) in [0, 1]. Chapter 7.

    Frequency-tuned saliency (Achanta et al. 2009: the CIELab distance of the slightly blurred photo to its mean
    colour) times a centre prior (a Gaussian of 0.3 x the side), smoothed (sigma 3 % of the shorter side), then
    mapped linearly from [0.2, 0.6] x its maximum onto [0, 1].
    """
    from skimage.color import rgb2lab
    from skimage.filters import gaussian
    x = _hwc(image)
    h, w, _ = x.shape
    lab = rgb2lab(gaussian(x, sigma=1, channel_axis=-1))
    sal = np.linalg.norm(lab - lab.reshape(-1, 3).mean(0), axis=-1)
    yy, xx = np.meshgrid(np.linspace(-0.5, 0.5, h), np.linspace(-0.5, 0.5, w), indexing="ij")
    m = gaussian(sal * np.exp(-(yy ** 2 + xx ** 2) / (2 * 0.3 ** 2)), sigma=0.03 * min(h, w))
    m = m / max(m.max(), 1e-12)
    return torch.from_numpy(np.clip((m - 0.2) / 0.4, 0, 1)).float()


def popout(image: torch.Tensor) -> torch.Tensor:
    """The ``popout`` target of RGB image (3, H, W) in [0, 1]: inside :func:`subject_mask` contrast x1.15 (about the
    image's mean luma) then saturation x1.25, outside saturation x0.7, blended by the mask -> (3, H, W). Chapter 7."""
    x = _hwc(image)
    m = subject_mask(image).double().numpy()[..., None]
    mean = (x @ _LUMA).mean()
    inside = _saturate(mean + 1.15 * (x - mean), 1.25)
    return _chw(m * inside + (1 - m) * _saturate(x, 0.7))


def watercolor(image: torch.Tensor) -> torch.Tensor:
    """The ``watercolor`` target of RGB image (3, H, W) in [0, 1]: brightness x(1 + 0.25 (1 - smoothed luma)), then
    saturation x(1 + 0.25 flatness), flatness = 1 - the smoothed gradient magnitude over its 90th percentile
    (clipped); both smoothings sigma 3 % of the shorter side -> (3, H, W). Chapter 7."""
    from skimage.filters import gaussian, sobel
    x = _hwc(image)
    sigma = 0.03 * min(x.shape[:2])
    luma = x @ _LUMA
    y = x * (1 + 0.25 * (1 - gaussian(luma, sigma=sigma)))[..., None]
    edges = gaussian(sobel(luma), sigma=sigma)
    flat = 1 - np.clip(edges / max(np.percentile(edges, 90), 1e-12), 0, 1)
    return _chw(_saturate(np.clip(y, 0, 1), 1 + 0.25 * flat))


def style_target(image: torch.Tensor, style: str) -> torch.Tensor:
    """The target of ``image`` (3, H, W) in one of :data:`STYLES` -> (3, H, W) in [0, 1]."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {list(STYLES)}, got {style!r}")
    return (popout if style == "popout" else watercolor)(image)


def is_colour(image: torch.Tensor) -> bool:
    """True for a (3, H, W) image whose channels differ somewhere (a gray photo stored as RGB is not colour)."""
    check_image(image, "image")
    return image.shape[0] == 3 and bool((image[0] != image[1]).any() or (image[1] != image[2]).any())


def styled_pairs(source: str, style: str, limit: int | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (photo, its style_target)}`` for the colour photos of the named set ``source`` (see
    :func:`restorelib.core.data.load_set`: ``embedded-train``, ``embedded-test``, ``CBSD398``...), at most ``limit``
    pairs; each (3, H, W) in [0, 1]. Deterministic. Chapter 7."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {list(STYLES)}, got {style!r}")
    photos = {k: v for k, v in data.load_set(source).items() if is_colour(v)}
    if not photos:
        raise ValueError(f"source {source!r} holds no colour photo")
    return {k: (v, style_target(v, style)) for k, v in list(photos.items())[:limit]}


def centre_pairs(pairs: dict[str, tuple[torch.Tensor, torch.Tensor]], size: int
                 ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The ``size`` x ``size`` centre crops of every (input, target) pair (3, H, W) (a side shorter than ``size`` is
    kept whole); ``size`` 0 returns the pairs as they are. Chapter 7's CI scale and the scripts' ``--eval-size``."""
    if not size:
        return pairs
    out = {}
    for k, (a, b) in pairs.items():
        h, w = a.shape[-2:]
        y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
        out[k] = (a[:, y:y + size, x:x + size], b[:, y:y + size, x:x + size])
    return out


# ----------------------------------------------------------------------------- the paper's set
def yan2016_root(root: str | Path | None = None) -> Path:
    """``root/Yan2016`` (default ``$RESTORELIB_DATA/Yan2016``); FileNotFoundError saying how to fetch it."""
    base = Path(root) if root is not None else data_dir()
    if base is None or not (base / YAN_NAME).is_dir():
        where = f"{base / YAN_NAME}" if base is not None else "$RESTORELIB_DATA/Yan2016 ($RESTORELIB_DATA is not set)"
        raise FileNotFoundError(f"the set {YAN_NAME} is missing at {where}: {YAN_FETCH}")
    return base / YAN_NAME


def _split_ids(folder: Path, split: str) -> list[str]:
    path = folder / YAN_SPLITS[split]
    if not path.is_file():
        raise FileNotFoundError(f"{YAN_NAME}: the split list {path} is missing: {YAN_FETCH}")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    bad = [i for i in ids if Path(i).name != i or i in (".", "..")]
    if not ids or bad or len(set(ids)) != len(ids):
        why = "is empty" if not ids else f"has a bad id {bad[0]!r}" if bad else "repeats an id"
        raise ValueError(f"{YAN_NAME}: the split list {path} {why}: {YAN_FETCH}")
    return ids


def check_yan2016(style: str = "watercolor", root: str | Path | None = None) -> dict[str, list[str]]:
    """Check the paper's set before any work: both split lists (non-empty, disjoint), every input and ``style``
    target file ``<id>.tif`` of both splits, and that each pair has one size (read from the file headers).

    Returns ``{"train": ids, "test": ids}``. Raises FileNotFoundError (a missing folder, list or file: it names the
    first, counts the rest and says how to fetch the set) or ValueError (a bad list, a pair of two sizes).
    """
    if style not in YAN_STYLES:
        raise ValueError(f"style must be one of {list(YAN_STYLES)}, got {style!r}")
    folder = yan2016_root(root)
    splits = {s: _split_ids(folder, s) for s in YAN_SPLITS}
    both = set(splits["train"]) & set(splits["test"])
    if both:
        raise ValueError(f"{YAN_NAME}: {len(both)} id(s) in both split lists, e.g. {sorted(both)[0]!r}")
    files = [folder / d / f"{i}.tif" for i in splits["train"] + splits["test"] for d in (YAN_INPUT, YAN_STYLES[style])]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"{YAN_NAME}: {missing[0]} is missing ({len(missing)} of {len(files)} files): "
                                f"{YAN_FETCH}")
    for inp, tgt in zip(files[::2], files[1::2]):
        with Image.open(inp) as a, Image.open(tgt) as b:
            if a.size != b.size:
                raise ValueError(f"{YAN_NAME}: {tgt.name} is {b.size[0]}x{b.size[1]} in {tgt.parent.name} but "
                                 f"{a.size[0]}x{a.size[1]} in {inp.parent.name}; expected one size per pair")
    return splits


def yan2016_pairs(split: str = "test", style: str = "watercolor", limit: int | None = None,
                  root: str | Path | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{id: (input, target)}`` of the paper's set, in the order of the split list, each (3, H, W) in [0, 1]: the
    ``autotone`` input and the ``style`` target (:data:`YAN_STYLES`). Checked first (:func:`check_yan2016`)."""
    if split not in YAN_SPLITS:
        raise ValueError(f"split must be one of {list(YAN_SPLITS)}, got {split!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    ids = check_yan2016(style, root)[split][:limit]
    folder = yan2016_root(root)
    return {i: (data.to_rgb(data.read_image(folder / YAN_INPUT / f"{i}.tif")),
                data.to_rgb(data.read_image(folder / YAN_STYLES[style] / f"{i}.tif"))) for i in ids}


# ----------------------------------------------------------------------------- training crops
class PairSampler(CropSampler):
    """Random ``size`` x ``size`` crops of (input, target) pairs cut at the same place: ``sample(n)`` ->
    (n, 6, size, size) in [0, 1], input channels first. Pairs are kept as uint8 at each of ``scales`` (default
    x1 only: a retouch is not scale-invariant). Chapter 7."""

    def __init__(self, pairs: dict[str, tuple[torch.Tensor, torch.Tensor]], size: int,
                 scales: tuple[float, ...] = (1.0,)) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        if not isinstance(pairs, dict) or not pairs:
            raise ValueError("pairs must be a non-empty dict {name: (input, target)}")
        self.size, self.images = size, []
        for name, (inp, tgt) in pairs.items():
            if inp.dim() != 3 or inp.shape[0] != 3 or inp.shape != tgt.shape:
                raise ValueError(f"pairs[{name!r}] must be two RGB tensors (3, H, W) of one size, got "
                                 f"{tuple(inp.shape)} and {tuple(tgt.shape)}")
            for s in scales:
                r = rescale(torch.cat((inp, tgt)), s)
                if min(r.shape[-2:]) >= size:
                    self.images.append((r.clamp(0, 1) * 255).round().to(torch.uint8))
        if not self.images:
            raise ValueError(f"no pair is at least {size}x{size} pixels at any scale")
        self.weights = torch.tensor([float((im.shape[1] - size + 1) * (im.shape[2] - size + 1))
                                     for im in self.images], dtype=torch.float64)


__all__ = ["STYLES", "YAN_NAME", "YAN_STYLES", "PairSampler", "centre_pairs", "check_yan2016", "is_colour", "popout",
           "style_target", "styled_pairs", "subject_mask", "watercolor", "yan2016_pairs", "yan2016_root"]
