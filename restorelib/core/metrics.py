"""Full-reference quality metrics of chapter 1: batched PSNR and SSIM on images in [0, 1], and the paired
difference of two methods measured on the same patches (chapter 4).

SSIM follows Wang et al. (2004) as scikit-image computes it with ``gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1`` (11x11 Gaussian window, the border where the window does not
fit is left out, colour channels averaged); the tests check it against ``skimage.metrics`` to 1e-3.
"""
from __future__ import annotations

import math
import statistics

import torch
import torch.nn.functional as F

from .validation import check_images

MSE_FLOOR = 1e-10
"""MSE is floored here, so identical images score 100 dB instead of infinity and means stay finite."""


def _pair(x: torch.Tensor, y: torch.Tensor, min_size: int = 1, data_range: float | None = None) -> None:
    """Check a pair of batches: finite, the same shape, and (with ``data_range``) values in [0, data_range], up to
    half the range of overshoot (unclipped network outputs may be scored; 0-255 images with range 1 may not)."""
    number = isinstance(data_range, (int, float)) and not isinstance(data_range, bool)
    if data_range is not None and not (number and 0 < data_range < math.inf):
        raise ValueError(f"data_range must be positive, got {data_range!r}")
    for t, name in ((x, "x"), (y, "y")):
        check_images(t, name, min_size=min_size, check_range=data_range is not None, high=data_range or 1.0,
                     slack=0.5)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x.float() - y.float()).pow(2).flatten(1).mean(dim=1)


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: x, y (N, C, H, W), finite, any scale -> (N,)."""
    _pair(x, y)
    return _mse(x, y)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: x, y (N, C, H, W) in [0, data_range] -> (N,).

    Identical images give 100 dB for ``data_range=1`` (MSE floored at :data:`MSE_FLOOR`), not infinity. Unclipped
    outputs may overshoot by half the range; values beyond that (e.g. 0-255 images with the default
    ``data_range=1``), NaN and inf raise ``ValueError``.
    """
    _pair(x, y, data_range=data_range)
    return 10 * torch.log10(data_range**2 / _mse(x, y).clamp_min(MSE_FLOOR * data_range**2))


def _gauss_window(sigma: float = 1.5, truncate: float = 3.5) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)           # scipy.ndimage's rule -> 11 taps for sigma 1.5
    r = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (r / sigma) ** 2)
    return w / w.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per image: x, y (N, C, H, W) in [0, data_range], both at least 11x11 -> (N,) in [-1, 1].

    Values far outside [0, data_range], NaN and inf raise ``ValueError``, as in :func:`psnr`.
    """
    _pair(x, y, min_size=11, data_range=data_range)
    n, c, h, w = x.shape
    win = _gauss_window().to(x.device)
    k = win.numel()
    # Valid convolution only: skimage filters with padding and then crops (k-1)/2 pixels per side,
    # which leaves exactly the positions where the window never touches the padding.
    def filt(t: torch.Tensor) -> torch.Tensor:
        t = F.conv2d(t, win.view(1, 1, 1, k))
        return F.conv2d(t, win.view(1, 1, k, 1))

    a = x.double().reshape(n * c, 1, h, w)
    b = y.double().reshape(n * c, 1, h, w)
    mu_a, mu_b = filt(a), filt(b)
    va = filt(a * a) - mu_a**2
    vb = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return s.reshape(n, c, -1).mean(dim=2).mean(dim=1).to(torch.float32)


def paired_difference(a: dict, b: dict, key: str = "psnr_out") -> dict:
    """Method A minus method B, patch by patch, from two :func:`restorelib.core.evaluation.evaluate` results (chapter 4).

    Both results must come from the same images, distortion, patch size, patches per image and seed, so that item i
    is the same degraded patch in both (checked through the names and the input PSNR). Returns ``mean`` (the mean
    difference of ``key``, e.g. dB for ``psnr_out``), ``se`` (its standard error, sample standard deviation over
    sqrt(n); 0 for one item), ``wins`` (items where A scores higher) and ``n``. A difference of less than about two
    standard errors is within what another draw of test patches could change.
    """
    rows_a, rows_b = a.get("per_image"), b.get("per_image")
    if not rows_a or not rows_b or len(rows_a) != len(rows_b):
        raise ValueError("a and b must be evaluate() results with the same, non-zero number of items, got "
                         f"{len(rows_a or [])} and {len(rows_b or [])}")
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b)):
        if ra["image"] != rb["image"] or abs(ra["psnr_in"] - rb["psnr_in"]) > 1e-4:
            raise ValueError(f"a and b must be measured on the same degraded patches (same images, distortion, patch, "
                             f"patches_per_image and seed); item {i} differs: {ra['image']!r} at {ra['psnr_in']:.3f} dB "
                             f"vs {rb['image']!r} at {rb['psnr_in']:.3f} dB")
    if key not in rows_a[0]:
        raise ValueError(f"key must be one of {sorted(k for k, v in rows_a[0].items() if isinstance(v, float))}, "
                         f"got {key!r}")
    d = [ra[key] - rb[key] for ra, rb in zip(rows_a, rows_b)]
    n = len(d)
    se = statistics.stdev(d) / math.sqrt(n) if n > 1 else 0.0
    return {"mean": statistics.fmean(d), "se": se, "wins": sum(x > 0 for x in d), "n": n}
