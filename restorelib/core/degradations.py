"""The degradation model of chapter 1: blur -> noise -> JPEG, RL-Restore's level grid, and one spec syntax.

Images are float tensors of shape (N, C, H, W) with values in [0, 1]; C is 1 or 3 (RGB).
Every random function takes a ``torch.Generator`` so that a seed fixes the result, and returns the
parameters it used, one value per image.

Spec syntax (see :func:`parse_spec`)::

    blur:1.5+noise:20+jpeg:40     fixed levels (noise sigma on the 0-255 scale, JPEG quality 1-100)
    noise:15..25                  a level drawn uniformly per image (LOW..HIGH, LOW <= HIGH)
    mild | moderate | severe      RL-Restore's severity groups (a level triple drawn per image)
    hirl-mild | hirl-moderate | hirl-severe   HIRL's three fixed mixtures (chapter 6, :data:`HIRL_MIXTURES`)
    saltpepper:0.5  poisson:30    salt-and-pepper density, Poisson peak (photons at white)

Whatever order they are written in, stages are applied in the physical order
blur -> poisson -> noise -> saltpepper -> jpeg.
"""
from __future__ import annotations

import io
import itertools
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .validation import check_images, per_image

BLUR_KERNEL = 21
# RL-Restore's grid: 10 sub-intervals per distortion, index 1 = mildest.
BLUR_EDGES = [0.5 * i for i in range(11)]                      # sigma 0:0.5:5
NOISE_EDGES = [5.0 * i for i in range(11)]                     # sigma 0:5:50 (0-255 scale)
JPEG_EDGES = [100, 80, 60, 50, 40, 35, 30, 25, 20, 15, 10]     # quality, mild -> severe
GROUPS = {"mild": (9, 11), "moderate": (12, 17), "severe": (18, 20)}
STAGE_ORDER = ("blur", "poisson", "noise", "saltpepper", "jpeg")
_STAGE_LIMITS = {"blur": (0.0, 20.0), "poisson": (1e-3, 1e6), "noise": (0.0, 255.0),
                 "saltpepper": (0.0, 1.0), "jpeg": (1.0, 100.0)}


# ----------------------------------------------------------------------------- the operators
def gaussian_kernel1d(sigma: torch.Tensor, size: int = BLUR_KERNEL) -> torch.Tensor:
    """Normalised 1-D Gaussian kernels, shape (N, size), for sigmas of shape (N,); sigma 0 is a delta."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    s = sigma.to(torch.float64).clamp_min(1e-8)[:, None]
    k = torch.exp(-0.5 * (r[None] / s) ** 2)
    return k / k.sum(dim=1, keepdim=True)


def gaussian_blur(x: torch.Tensor, sigma: float | torch.Tensor, size: int = BLUR_KERNEL) -> torch.Tensor:
    """Blur each image with a ``size`` x ``size`` Gaussian of its own ``sigma`` (pixels), replicate border.

    x: (N, C, H, W) in [0, 1]; sigma: a number or shape (N,). Returns the same shape. Chapter 1.
    """
    check_images(x, "x")
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd int, got {size!r}")
    n, c, h, w = x.shape
    s = per_image(sigma, n, "sigma", low=0.0)
    k = gaussian_kernel1d(s, size).to(x)                               # (N, size)
    k = k.repeat_interleave(c, dim=0)                                  # one kernel per (image, channel)
    p = size // 2
    y = F.pad(x.reshape(1, n * c, h, w), (p, p, p, p), mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)                 # separable: rows, then columns
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w).clamp(0, 1)


def add_gaussian_noise(x: torch.Tensor, sigma: float | torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Add white Gaussian noise of standard deviation ``sigma`` on the 0-255 scale, then clip to [0, 1]."""
    check_images(x, "x")
    s = per_image(sigma, x.shape[0], "sigma", low=0.0).to(x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + noise * (s / 255.0).view(-1, 1, 1, 1)).clamp(0, 1)


def add_poisson_noise(x: torch.Tensor, peak: float | torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Shot noise: ``Poisson(x * peak) / peak`` with ``peak`` photons at white (lower = noisier)."""
    check_images(x, "x")
    pk = per_image(peak, x.shape[0], "peak", low=1e-3).to(x).view(-1, 1, 1, 1)
    counts = torch.poisson((x * pk).cpu(), generator=generator).to(x.device)
    return (counts / pk).clamp(0, 1)


def add_salt_pepper(x: torch.Tensor, density: float | torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a fraction ``density`` of pixel positions to black or white (half each), all channels alike."""
    check_images(x, "x")
    n, _, h, w = x.shape
    d = per_image(density, n, "density", low=0.0, high=1.0).to(x).view(-1, 1, 1, 1)
    u = torch.rand((n, 1, h, w), generator=generator, dtype=x.dtype).to(x.device)
    salt = torch.rand((n, 1, h, w), generator=generator, dtype=x.dtype).to(x.device) < 0.5
    hit = u < d
    return torch.where(hit, salt.to(x.dtype).expand_as(x), x)


def jpeg(x: torch.Tensor, quality: float | torch.Tensor) -> torch.Tensor:
    """Compress and decompress each image with the real JPEG encoder (Pillow, 4:2:0 chroma for RGB).

    ``quality`` (1-100) is rounded to an integer per image. The image is quantised to 8 bits first.
    """
    check_images(x, "x")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels for JPEG, got shape {tuple(x.shape)}")
    q = per_image(quality, x.shape[0], "quality", low=1, high=100).round().int().tolist()
    arr = (x.detach().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    out = np.empty_like(arr)
    for i, (img, qi) in enumerate(zip(arr, q)):
        buf = io.BytesIO()
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, format="JPEG", quality=int(qi))
        dec = np.asarray(Image.open(buf))
        out[i] = dec[..., None] if dec.ndim == 2 else dec
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, x.dtype) / 255.0


_APPLY: dict[str, Callable[..., torch.Tensor]] = {
    "blur": lambda x, v, g: gaussian_blur(x, v),
    "poisson": lambda x, v, g: add_poisson_noise(x, v, g),
    "noise": lambda x, v, g: add_gaussian_noise(x, v, g),
    "saltpepper": lambda x, v, g: add_salt_pepper(x, v, g),
    "jpeg": lambda x, v, g: jpeg(x, v),
}


# ----------------------------------------------------------------------------- RL-Restore's level grid
def interval(kind: str, index: int) -> tuple[float, float]:
    """The ``index``-th (1..10) sub-interval of RL-Restore's grid for ``kind`` in blur/noise/jpeg, as (low, high)."""
    edges = {"blur": BLUR_EDGES, "noise": NOISE_EDGES, "jpeg": JPEG_EDGES}.get(kind)
    if edges is None:
        raise ValueError(f"kind must be 'blur', 'noise' or 'jpeg', got {kind!r}")
    if not isinstance(index, int) or not 1 <= index <= 10:
        raise ValueError(f"index must be an int in 1..10, got {index!r}")
    a, b = edges[index - 1], edges[index]
    return (float(min(a, b)), float(max(a, b)))


def severity(k: int, m: int, n: int) -> int:
    """RL-Restore's severity of the interval triple (blur k, noise m, JPEG n): s = k + m + n - 2 (1..28)."""
    return k + m + n - 2


def group_triples(group: str) -> list[tuple[int, int, int]]:
    """All ordered triples (k, m, n) in 1..10 whose severity falls in ``group`` (mild 163, moderate 434, severe 163)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, got {group!r}")
    lo, hi = GROUPS[group]
    return [t for t in itertools.product(range(1, 11), repeat=3) if lo <= severity(*t) <= hi]


# ----------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class Stage:
    """One distortion stage: ``kind`` in :data:`STAGE_ORDER`, level range [low, high] (low == high: fixed)."""

    kind: str
    low: float
    high: float


@dataclass(frozen=True)
class Spec:
    """A parsed distortion spec: fixed/ranged stages, or a severity ``group`` of RL-Restore's grid."""

    text: str
    stages: tuple[Stage, ...] = ()
    group: str | None = None

    def sample(self, n: int, generator: torch.Generator | None = None) -> list[dict[str, float]]:
        """Draw the levels for ``n`` images: a list of ``{kind: level}`` dicts, in application order."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        out = []
        triples = group_triples(self.group) if self.group else None
        for _ in range(n):
            if triples is not None:
                t = triples[int(torch.randint(len(triples), (1,), generator=generator))]
                stages = [Stage(kind, *interval(kind, i)) for kind, i in zip(("blur", "noise", "jpeg"), t)]
            else:
                stages = list(self.stages)
            levels = {}
            for st in stages:
                u = float(torch.rand((), generator=generator, dtype=torch.float64))
                v = st.low + (st.high - st.low) * u
                levels[st.kind] = float(round(v)) if st.kind == "jpeg" else v
            out.append({k: levels[k] for k in STAGE_ORDER if k in levels})
        return out


NAMED_SPECS: dict[str, str] = {}
"""Named specs beyond the severity groups, ``name -> spec text`` (later chapters register theirs here)."""


def register_spec(name: str, text: str) -> None:
    """Give the spec ``text`` a ``name`` usable wherever a spec is (e.g. ``hirl-moderate``)."""
    if not isinstance(name, str) or not name.strip() or ":" in name or "+" in name:
        raise ValueError(f"name must be a non-empty string without ':' or '+', got {name!r}")
    parse_spec(text)
    NAMED_SPECS[name.strip().lower()] = text


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?")   # ASCII digits only


def _parse_level(text: str, kind: str, value: str) -> tuple[float, float]:
    """``LEVEL`` or ``LOW..HIGH`` of a stage -> (low, high), checked against the stage's limits."""
    parts = [v.strip() for v in value.split("..")]
    if len(parts) > 2 or not all(_NUMBER.fullmatch(v) for v in parts):
        raise ValueError(f"spec {text!r}: level {value.strip()!r} of {kind!r} is not a number or a range LOW..HIGH "
                         "(plain digits, e.g. 20 or 15..25)")
    low, high = float(parts[0]), float(parts[-1])
    a, b = _STAGE_LIMITS[kind]
    if not (a <= low <= b and a <= high <= b) or not all(map(math.isfinite, (low, high))):
        raise ValueError(f"spec {text!r}: level of {kind!r} must lie in [{a:g}, {b:g}], got {value.strip()!r}")
    if low > high:
        raise ValueError(f"spec {text!r}: range {value.strip()!r} of {kind!r} must be LOW..HIGH with LOW <= HIGH")
    return low, high


def parse_spec(text: str) -> Spec:
    """Parse a distortion spec (module docstring). Raises ``ValueError`` naming ``spec`` on bad input.

    A level is a plain ASCII number (``20``, ``1.5``, ``.5``, ``1e3``) and a range ``LOW..HIGH`` needs both ends
    in that order; anything else (``5..``, ``25..15``, ``1_0``, full-width digits, ``nan``) is refused.
    """
    if isinstance(text, Spec):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"spec must be a non-empty string such as 'blur:1.5+noise:20+jpeg:40', got {text!r}")
    s = text.strip().lower()
    if s in GROUPS:
        return Spec(text=s, group=s)
    if s in NAMED_SPECS:
        return Spec(text=s, stages=parse_spec(NAMED_SPECS[s]).stages)
    if s in ("none", "clean"):
        return Spec(text=s)
    stages: dict[str, Stage] = {}
    for part in s.split("+"):
        kind, sep, value = part.partition(":")
        kind = kind.strip()
        if kind not in _STAGE_LIMITS or not sep:
            raise ValueError(f"spec {text!r}: bad stage {part!r}; expected KIND:LEVEL with KIND in "
                             f"{list(STAGE_ORDER)}, or one of {sorted(GROUPS) + sorted(NAMED_SPECS)}")
        if kind in stages:
            raise ValueError(f"spec {text!r}: stage {kind!r} given twice")
        low, high = _parse_level(text, kind, value)
        stages[kind] = Stage(kind, low, high)
    return Spec(text=s, stages=tuple(stages[k] for k in STAGE_ORDER if k in stages))


# ----------------------------------------------------------------------------- HIRL's mixtures (chapter 6)
#: HIRL's "Gaussian blur with kernel of 5 / 10 / 15" as the sigma (pixels) of our 21x21 Gaussian: sigma = k / 5.
HIRL_BLUR_SIGMA: dict[int, float] = {5: 1.0, 10: 2.0, 15: 3.0}


def hirl_blur_sigma(kernel: int) -> float:
    """The Gaussian sigma (pixels) we read into HIRL's blur "kernel" ``kernel`` (5, 10 or 15): ``kernel / 5``.

    The paper gives only a "kernel" number, and 10 cannot be the size of a centred (odd) kernel, nor is any
    sigma stated. We read the number as the *effective width* of the Gaussian: 98.8% of a Gaussian's mass lies
    within +-2.5 sigma, i.e. in a window of 5 sigma pixels, so kernel k -> sigma = k / 5 = 1, 2, 3. The blur is
    then the module's one operator (a 21x21 kernel, which holds +-3.3 sigma even at sigma 3), the levels stay in
    RL-Restore's sigma grid 0..5 (so the chapter-4 tools and agent can be compared on the same mixtures), and
    every HIRL spec is an ordinary ``blur:SIGMA`` stage. Chapter 6.
    """
    if kernel not in HIRL_BLUR_SIGMA:
        raise ValueError(f"kernel must be one of {sorted(HIRL_BLUR_SIGMA)}, got {kernel!r}")
    return HIRL_BLUR_SIGMA[kernel]


#: HIRL's test mixtures (Sec. 3.1): Gaussian noise sigma (0-255), JPEG quality, blur "kernel" -> our spec text,
#: applied in this module's order blur -> noise -> JPEG. The ``hirl-awgn/jpeg/blur`` specs are the single-distortion
#: cases over the same levels (a level drawn uniformly per image between the mildest and the most severe).
HIRL_MIXTURES: dict[str, str] = {
    "hirl-mild": f"blur:{hirl_blur_sigma(5):g}+noise:15+jpeg:30",
    "hirl-moderate": f"blur:{hirl_blur_sigma(10):g}+noise:25+jpeg:20",
    "hirl-severe": f"blur:{hirl_blur_sigma(15):g}+noise:35+jpeg:10",
}
HIRL_SINGLE: dict[str, str] = {"hirl-awgn": "noise:15..35", "hirl-jpeg": "jpeg:10..30",
                               "hirl-blur": f"blur:{hirl_blur_sigma(5):g}..{hirl_blur_sigma(15):g}"}
for _name, _text in {**HIRL_MIXTURES, **HIRL_SINGLE}.items():
    register_spec(_name, _text)


def apply_levels(x: torch.Tensor, levels: list[dict[str, float]],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply per-image levels (as returned by :meth:`Spec.sample`) to ``x`` of shape (N, C, H, W)."""
    check_images(x, "x")
    if len(levels) != x.shape[0]:
        raise ValueError(f"levels must have one dict per image ({x.shape[0]}), got {len(levels)}")
    y = x
    for kind in STAGE_ORDER:
        idx = [i for i, lv in enumerate(levels) if kind in lv]
        if not idx:
            continue
        vals = [levels[i][kind] for i in idx]
        if len(idx) == y.shape[0]:
            y = _APPLY[kind](y, vals, generator)
        else:
            sel = torch.tensor(idx, device=y.device)
            y = y.clone()
            y[sel] = _APPLY[kind](y[sel], vals, generator)
    return y


def degrade(x: torch.Tensor, spec: str | Spec,
            generator: torch.Generator | None = None) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Degrade a batch by ``spec``; returns ``(degraded, levels)`` with one ``{kind: level}`` dict per image.

    x: (N, C, H, W) in [0, 1]. Chapter 1. Example: ``degrade(x, "moderate", torch.Generator().manual_seed(0))``.
    """
    check_images(x, "x")
    sp = parse_spec(spec)
    levels = sp.sample(x.shape[0], generator)
    return apply_levels(x, levels, generator), levels
