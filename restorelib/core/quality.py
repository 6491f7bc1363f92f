"""No-reference image quality (chapters 3, 4 and 8): scores that judge an image without its clean original.

A label-free agent (Restore-R1's multimodal-LLM reward, HIRL's blind IQA reward) is rewarded by a score that never
sees the ground truth. A *scorer* maps images (N, 3, H, W) in [0, 1] to scores (N,), higher = better. Registered:

* ``"niqe"``        -NIQE (Mittal, Soundararajan & Bovik 2013): how far the natural-scene statistics of an image lie
  from those of pristine photos, with the pristine model fitted by :func:`fit_niqe` on our training photos.
* ``"neg-sigma"``   minus a blind estimate of the white-noise sigma (Immerkaer 1996), 0-255 scale: noise only.
* ``"quality-net"`` :class:`~restorelib.labelfree.quality_net.QualityNet`, a small CNN trained in the book to predict the
  PSNR of a degraded image, also on outputs of random tool chains (the guard of chapter 8);
* ``"quality-net-naive"`` the same network trained on degraded images only, which an agent learns to fool.

Plug in your own (a multimodal model, any IQA network) with one function::

    def my_scorer(images):                          # (N, 3, H, W) in [0, 1] -> (N,), higher = better
        with torch.no_grad():
            return my_model(images).flatten()       # e.g. a VLM's 1-5 rating, MUSIQ, CLIP-IQA, ...
    register_scorer("mine", my_scorer)
    env = RestoreEnv(toolbox, reward="nr", scorer="mine")   # reward: score(I_t+1) - score(I_t)

:func:`rank_correlation` measures how well a scorer ranks images by their true PSNR.
"""
from __future__ import annotations

import json
import math
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage, stats
from scipy.special import gammaln

from .atomic import write_text
from .plugins import load_providers
from .validation import check_images
from .config import weights_dir
from .degradations import degrade
from .metrics import psnr

QUALITY_DIR = weights_dir() / "quality"
NIQE_FILE = QUALITY_DIR / "niqe_pristine.json"
_LUMA = (0.2989, 0.5870, 0.1140)                       # ITU-R BT.601, as MATLAB's rgb2gray


class Scorer(Protocol):
    """A no-reference score: images (N, 3, H, W) in [0, 1] -> a float tensor (N,), higher = better."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


def _luma(images: torch.Tensor) -> torch.Tensor:
    """(N, 1 or 3, H, W) -> (N, 1, H, W) luminance."""
    if images.shape[1] == 1:
        return images
    w = torch.tensor(_LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * w).sum(dim=1, keepdim=True)


# ----------------------------------------------------------------------------- natural-scene statistics
_ALPHA = np.arange(0.2, 10.0 + 5e-4, 0.001)            # the shape grid of the authors' moment matching
_RHO = np.exp(2 * gammaln(2 / _ALPHA) - gammaln(1 / _ALPHA) - gammaln(3 / _ALPHA))  # (E|x|)^2 / E[x^2] of a GGD


_GAUSS7 = np.exp(-0.5 * ((np.arange(7) - 3.0) / (7 / 6)) ** 2)
_GAUSS7 /= _GAUSS7.sum()


def _shape_from_ratio(rho: float) -> float:
    return float(_ALPHA[np.argmin(np.abs(_RHO - rho))])


def mscn(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients of a grey image (H, W) on the 0-255 scale. Chapter 8.

    (I - mu) / (sigma + 1) with mu, sigma the local mean and standard deviation under a 7x7 Gaussian window
    (sigma 7/6, replicated border). Returns (coefficients, sigma), both (H, W); in natural photos the
    coefficients are close to a unit-variance Gaussian, and distortions change that shape.
    """
    img = np.asarray(gray, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"gray must have shape (H, W), got {img.shape}")

    def filt(a: np.ndarray) -> np.ndarray:
        return ndimage.correlate1d(ndimage.correlate1d(a, _GAUSS7, 0, mode="nearest"), _GAUSS7, 1, mode="nearest")

    mu = filt(img)
    sigma = np.sqrt(np.abs(filt(img * img) - mu * mu))
    return (img - mu) / (sigma + 1.0), sigma


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """Moment-matching fit of a zero-mean generalised Gaussian (Sharifi & Leon-Garcia 1995). Chapter 8.

    Returns (shape alpha, variance sigma^2): alpha = 2 is Gaussian, 1 Laplacian; NaN shape for all-zero input."""
    x = np.asarray(x, dtype=np.float64).ravel()
    m2 = float(np.mean(x * x)) if x.size else 0.0
    if not m2 > 0:
        return math.nan, 0.0
    return _shape_from_ratio(np.mean(np.abs(x)) ** 2 / m2), m2


def fit_aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Moment-matching fit of an asymmetric generalised Gaussian (Lasmar et al. 2009), as NIQE's authors do.

    Returns (shape nu, mean eta, left variance sigma_l^2, right variance sigma_r^2); all NaN when ``x`` has no
    negative or no positive value. Chapter 8.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    left, right = x[x < 0], x[x > 0]
    if not left.size or not right.size:
        return (math.nan,) * 4
    vl, vr = float(np.mean(left ** 2)), float(np.mean(right ** 2))
    g = math.sqrt(vl / vr)
    rho = np.mean(np.abs(x)) ** 2 / np.mean(x * x)
    # Undo the asymmetry: this is the ratio a symmetric GGD of the same shape would have.
    nu = _shape_from_ratio(rho * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2)
    scale = math.exp(0.5 * (gammaln(1 / nu) - gammaln(3 / nu)))
    eta = (math.sqrt(vr) - math.sqrt(vl)) * scale * math.exp(gammaln(2 / nu) - gammaln(1 / nu))
    return nu, eta, vl, vr


_NEIGHBOURS = ((slice(None), slice(None, -1)), (slice(None), slice(1, None)),      # horizontal
               (slice(None, -1), slice(None)), (slice(1, None), slice(None)),      # vertical
               (slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None)),  # main diagonal
               (slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1)))  # secondary diagonal


def _block_features(m: np.ndarray) -> list[float]:
    """The 18 features of one block of MSCN coefficients (NIQE's Table I)."""
    feats = list(fit_ggd(m))
    for a, b in zip(_NEIGHBOURS[0::2], _NEIGHBOURS[1::2]):
        feats += fit_aggd(m[a] * m[b])
    return feats


def _half(gray: np.ndarray) -> np.ndarray:
    """Antialiased bicubic down-scaling by 2 (MATLAB's ``imresize(im, 0.5)``)."""
    t = torch.from_numpy(gray)[None, None]
    return F.interpolate(t, scale_factor=0.5, mode="bicubic", antialias=True, align_corners=False)[0, 0].numpy()


def niqe_features(gray: np.ndarray, block: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """NIQE's 36 features of every ``block`` x ``block`` block of a grey image (H, W), 0-255 scale. Chapter 8.

    18 features at full and at half resolution (blocks of block/2). An image smaller than ``block`` is one
    block of its largest even size (at least 32). Returns (features (B, 36), sharpness (B,)), the sharpness of a
    block being its mean local standard deviation at full resolution.
    """
    if not isinstance(block, int) or block < 32:
        raise ValueError(f"block must be an int >= 32, got {block!r}")
    gray = np.asarray(gray, dtype=np.float64)
    b = min(block, *gray.shape)
    b -= b % 2
    if b < 32:
        raise ValueError(f"gray must be at least 32x32 pixels for NIQE, got {gray.shape}")
    rows, cols = gray.shape[0] // b, gray.shape[1] // b
    img = gray[:rows * b, :cols * b]
    feats, sharp = [], []
    for s in (1, 2):
        m, sigma = mscn(img)
        bs = b // s
        feats.append([_block_features(m[i * bs:(i + 1) * bs, j * bs:(j + 1) * bs])
                      for i in range(rows) for j in range(cols)])
        if s == 1:
            sharp = [sigma[i * b:(i + 1) * b, j * b:(j + 1) * b].mean() for i in range(rows) for j in range(cols)]
        img = _half(img)
    return np.concatenate([np.asarray(f) for f in feats], axis=1), np.asarray(sharp)


@dataclass
class NIQEModel:
    """NIQE's pristine Gaussian: feature ``mean`` (36,) and ``cov`` (36, 36); ``info`` is its record. Chapter 8."""

    mean: np.ndarray
    cov: np.ndarray
    info: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({**self.info, "mean": self.mean.tolist(), "cov": self.cov.tolist()}, indent=1),
                   overwrite=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "NIQEModel":
        if not Path(path).is_file():
            raise FileNotFoundError(f"no NIQE pristine model at {path}; fit one with `python scripts/fit_niqe.py`")
        from .checkpoints import CheckpointError, read_json
        d = read_json(path)                                   # a file the user may give: nothing is trusted
        try:
            mean = np.asarray(d.pop("mean"), dtype=np.float64)
            cov = np.asarray(d.pop("cov"), dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            mean = cov = None
        if mean is None or mean.shape != (36,) or cov.shape != (36, 36) or not (
                np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise CheckpointError(f"{path}: must hold NIQE's 'mean' (36 finite numbers) and 'cov' (36 x 36)")
        return cls(mean, cov, d)


def fit_niqe(images: dict[str, torch.Tensor] | list[torch.Tensor], block: int = 96,
             sharpness: float = 0.75) -> NIQEModel:
    """Fit NIQE's pristine model on clean photos, each (C, H, W) in [0, 1], as Mittal et al. do. Chapter 8.

    Of every photo only the blocks sharper than ``sharpness`` x its sharpest block are kept (flat sky and
    out-of-focus background are not "pristine" structure); the 36 features of all kept blocks are summarised by
    their mean and covariance.
    """
    items = list(images.values()) if isinstance(images, dict) else list(images)
    if not items:
        raise ValueError("images must hold at least one clean photo")
    if not 0 <= sharpness < 1:
        raise ValueError(f"sharpness must be in [0, 1), got {sharpness!r}")
    kept = []
    for img in items:
        check_images(img[None], "images")
        f, s = niqe_features(255 * _luma(img[None].double())[0, 0].numpy(), block)
        kept.append(f[s > sharpness * s.max()])
    feats = np.concatenate(kept)
    feats = feats[np.isfinite(feats).all(axis=1)]
    if len(feats) < 2:
        raise ValueError(f"images gave {len(feats)} usable pristine blocks; NIQE needs at least 2")
    return NIQEModel(feats.mean(axis=0), np.cov(feats, rowvar=False),
                     {"block": block, "sharpness": sharpness, "patches": len(feats), "images": len(items)})


@lru_cache(maxsize=4)
def load_niqe_model(path: str | None = None) -> NIQEModel:
    """The pristine model shipped in ``restorelib/weights/quality`` (or the JSON at ``path``), cached."""
    return NIQEModel.load(path if path is not None else NIQE_FILE)


def niqe(images: torch.Tensor, model: NIQEModel | None = None, block: int = 96) -> torch.Tensor:
    """NIQE per image: (N, C, H, W) in [0, 1] -> (N,), lower = more natural. Chapter 8.

    A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'completely blind' image quality analyzer", IEEE Signal
    Processing Letters 20(3):209-212, 2013. The distance sqrt((m1 - m2)^T ((S1 + S2) / 2)^+ (m1 - m2)) between the pristine Gaussian
    (m1, S1) and the one fitted to the image's blocks (m2, S2); with a single block S2 is undefined and S1 stands
    in for it. Images must be at least 32x32; NaN for an image without any textured block (e.g. constant).
    Values are not comparable with published NIQE numbers (our pristine model, our 8 photos).
    """
    check_images(images, "images", min_size=32)
    model = model or load_niqe_model()
    grays = 255 * _luma(images.detach().double().cpu())[:, 0].numpy()
    out = []
    for g in grays:
        f, _ = niqe_features(g, block)
        f = f[np.isfinite(f).all(axis=1)]
        if not len(f):
            out.append(math.nan)
            continue
        d = model.mean - f.mean(axis=0)
        cov = np.cov(f, rowvar=False) if len(f) > 1 else model.cov
        out.append(math.sqrt(max(0.0, float(d @ np.linalg.pinv((model.cov + cov) / 2) @ d))))
    return torch.tensor(out, dtype=torch.float32, device=images.device)


def noise_sigma(images: torch.Tensor) -> torch.Tensor:
    """Immerkaer's blind estimate (CVIU 64(2), 1996) of white-noise sigma, 0-255 scale: (N, C, H, W) -> (N,).

    The mean absolute response of a 3x3 kernel that cancels locally planar structure, times sqrt(pi/2) / 6. It sees
    noise only: blur and JPEG smooth the image and *lower* it. Chapter 8.
    """
    check_images(images, "images", min_size=3)
    k = torch.tensor([[1.0, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=images.dtype, device=images.device)
    r = F.conv2d(_luma(images), k.view(1, 1, 3, 3)).abs().flatten(1).mean(dim=1)
    return 255 * math.sqrt(math.pi / 2) * r / 6


# ----------------------------------------------------------------------------- the registry
_SCORERS: dict[str, Scorer] = {}


def register_scorer(name: str, fn: Scorer) -> None:
    """Make ``fn`` (images (N, 3, H, W) in [0, 1] -> (N,), higher = better) available as ``name``. Chapter 8.

    Registering a name again replaces it, so a notebook cell can be re-run.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not callable(fn):
        raise ValueError(f"fn must be callable (images -> scores), got {type(fn).__name__}")
    _SCORERS[name.strip()] = fn


def get_scorer(name: str | Scorer) -> Scorer:
    """The scorer registered as ``name`` (see :func:`scorer_names`); a callable is returned as it is."""
    if callable(name):
        return name
    if name not in _SCORERS:
        load_providers()                    # chapter 8's learned scorers register when their module is imported
        raise ValueError(f"scorer must be one of {scorer_names()} or a callable, got {name!r}")
    return _SCORERS[name]


def scorer_names() -> list[str]:
    """The registered scorer names (the book's: ``niqe``, ``neg-sigma``, ``quality-net``, ``quality-net-naive``)."""
    load_providers()
    return sorted(_SCORERS)


def check_scores(scores: object, n: int, name: str = "scorer") -> torch.Tensor:
    """A scorer's output as a float tensor (n,); raises ``ValueError`` naming ``name`` on a wrong shape."""
    t = torch.as_tensor(scores).detach()
    if t.shape != (n,):
        raise ValueError(f"{name} must return one score per image, shape ({n},), got {tuple(t.shape)}")
    return t.float()


register_scorer("niqe", lambda images: -niqe(images))
register_scorer("neg-sigma", lambda images: -noise_sigma(images))


# ----------------------------------------------------------------------------- how well a score ranks quality
@torch.no_grad()
def quality_pairs(scorer: str | Scorer, clean: torch.Tensor, specs: list[str], seed: int = 0,
                  batch: int = 64) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """For each spec, degrade every clean image (N, 3, H, W) once and return ``{spec: (true PSNR (N,), scores (N,))}``.

    Each spec has its own seed (from ``seed`` and the spec text), so adding a spec changes no other. Chapter 8.
    """
    check_images(clean, "clean", channels=3)
    fn = get_scorer(scorer)
    if isinstance(specs, str) or not specs:
        raise ValueError(f"specs must be a non-empty list of distortion specs, got {specs!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    out = {}
    for spec in specs:
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(spec.encode()))
        deg, _ = degrade(clean, spec, g)
        scores = [check_scores(fn(deg[i:i + batch]), len(deg[i:i + batch])).cpu() for i in range(0, len(deg), batch)]
        out[spec] = (psnr(deg, clean).cpu(), torch.cat(scores))
    return out


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two (N,) tensors; NaN when either is constant (there is no ranking)."""
    a, b = a.double().numpy(), b.double().numpy()
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.spearmanr(a, b).statistic)


def rank_correlation(scorer: str | Scorer, clean: torch.Tensor, specs: list[str], seed: int = 0,
                     batch: int = 64) -> dict[str, float]:
    """Spearman's rho between a scorer and the true PSNR over degraded versions of ``clean`` (N, 3, H, W). Chapter 8.

    Returns ``{spec: rho}`` for every spec and ``"all"`` over the pooled images; rho lies in [-1, 1] (1: the score
    orders the images exactly as PSNR does) and is NaN where scores or PSNRs are constant.
    """
    pairs = quality_pairs(scorer, clean, specs, seed, batch)
    out = {spec: spearman(p, s) for spec, (p, s) in pairs.items()}
    out["all"] = spearman(torch.cat([p for p, _ in pairs.values()]), torch.cat([s for _, s in pairs.values()]))
    return out
