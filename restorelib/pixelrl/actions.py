"""The environment of PixelRL (chapter 7): the nine per-pixel actions, the per-pixel reward, the training tasks.

Every step the agent picks one action per pixel. All nine candidate images are computed once per step
(:func:`filter_bank`, shape (N, 9, C, H, W)) and the chosen one is gathered per pixel (:func:`apply_actions`).

The order is the authors' (``denoise/State.py`` of rfuruta/pixelRL); the paper's Table 1 lists them differently::

    0 pixel -1/255   1 do nothing   2 pixel +1/255   3 Gaussian 5x5 sigma 0.5   4 bilateral 5x5 sigma_color 0.1
    5 median 5x5     6 Gaussian 5x5 sigma 1.5        7 bilateral 5x5 sigma_color 1.0            8 box 5x5

The filters follow OpenCV on float32 images in [0, 1], as the authors call it: border BORDER_REFLECT_101 (OpenCV's
default) for box, Gaussian and bilateral, a replicated border for the median; the bilateral filter averages over a
disc of radius 2 (13 pixels) with sigma_space 5 and sigma_color on the [0, 1] scale of the image. Each channel is
filtered on its own (a colour image is three grayscale planes). Two backends give the same numbers (tests: within
2e-6 of OpenCV): ``"cv2"`` calls OpenCV per plane (a runtime dependency, ``opencv-python-headless``; the
fastest on a CPU, see ``scripts/bench_pixelrl.py``), ``"torch"`` is vectorised (GPU tensors,
and the fallback should OpenCV be missing). ``"auto"`` takes cv2 for CPU tensors when OpenCV is installed. Where
they differ: the borders agree by construction (torch pads as OpenCV does: reflect-101, replicate for the median),
so the differences are rounding -- OpenCV computes in float32 whatever the input (a float64 image is rounded to
float32 and back) and takes the bilateral's colour weights from an interpolated table of exp.

Tasks (:func:`make_task`) degrade clean crops on the fly: a spec of :mod:`restorelib.core.degradations` (``noise:25``,
``saltpepper:0.5``) or ``text``, the blind inpainting of random text (:func:`draw_text_mask`).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.validation import check_image, check_images
from ..core.degradations import degrade, parse_spec

ACTIONS = ("pixel -1", "do nothing", "pixel +1", "gaussian 0.5", "bilateral 0.1", "median", "gaussian 1.5",
           "bilateral 1.0", "box")
N_ACTIONS = len(ACTIONS)
DO_NOTHING = 1
#: The action sets of the paper's supplementary Table 8 (its study of which actions matter, Gaussian denoising), each
#: a tuple of ids of :data:`ACTIONS`: the basic filters ([1] box, [4] median, [5] Gaussian 1.5, [9] do nothing in the
#: paper's numbering), then + the bilateral filter with sigma_c = 1.0, then + pixel value +-1, then all nine.
ACTION_SETS: dict[str, tuple[int, ...]] = {
    "basic": tuple(ACTIONS.index(a) for a in ("do nothing", "median", "gaussian 1.5", "box")),
    "bilateral": tuple(ACTIONS.index(a) for a in ("do nothing", "median", "gaussian 1.5", "bilateral 1.0", "box")),
    "pixel": tuple(ACTIONS.index(a) for a in ("pixel -1", "do nothing", "pixel +1", "median", "gaussian 1.5",
                                              "bilateral 1.0", "box")),
    "all": tuple(range(N_ACTIONS)),
}
BACKENDS = ("auto", "cv2", "torch")
SIGMA_SPACE = 5.0
TEXT_SIZES = (10, 30)         # font sizes of the inpainting task (paper)
Task = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
_R = 2                                                    # every window is 5x5 (radius 2)
_DISC = [(dy, dx) for dy in range(-_R, _R + 1) for dx in range(-_R, _R + 1) if 0 < dy * dy + dx * dx <= _R * _R]

# Devillard's 99 compare-exchanges whose wire 12 ends as the median of 25 (checked with the 0-1 principle:
# right on all 2^25 binary inputs, hence on all inputs). 30x faster than Tensor.median over unfolded windows.
_MEDIAN25 = [(0, 1), (3, 4), (2, 4), (2, 3), (6, 7), (5, 7), (5, 6), (9, 10), (8, 10), (8, 9), (12, 13), (11, 13),
             (11, 12), (15, 16), (14, 16), (14, 15), (18, 19), (17, 19), (17, 18), (21, 22), (20, 22), (20, 21),
             (23, 24), (2, 5), (3, 6), (0, 6), (0, 3), (4, 7), (1, 7), (1, 4), (11, 14), (8, 14), (8, 11), (12, 15),
             (9, 15), (9, 12), (13, 16), (10, 16), (10, 13), (20, 23), (17, 23), (17, 20), (21, 24), (18, 24),
             (18, 21), (19, 22), (8, 17), (9, 18), (0, 18), (0, 9), (10, 19), (1, 19), (1, 10), (11, 20), (2, 20),
             (2, 11), (12, 21), (3, 21), (3, 12), (13, 22), (4, 22), (4, 13), (14, 23), (5, 23), (5, 14), (15, 24),
             (6, 24), (6, 15), (7, 16), (7, 19), (13, 21), (15, 23), (7, 13), (7, 15), (1, 9), (3, 11), (5, 17),
             (11, 17), (9, 17), (4, 10), (6, 12), (7, 14), (4, 6), (4, 7), (12, 14), (10, 14), (6, 7), (10, 12),
             (6, 10), (6, 17), (12, 17), (7, 17), (7, 10), (12, 18), (7, 12), (10, 18), (12, 20), (10, 20), (10, 12)]


def _check(x: object, name: str = "x") -> torch.Tensor:
    return check_images(x, name, min_size=_R + 1)      # reflect-101 padding by 2 needs 3 pixels per side


def _planes(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.reshape(n * c, 1, h, w)


def _gaussian_1d(sigma: float) -> torch.Tensor:
    """OpenCV's getGaussianKernel(5, sigma) for sigma > 0: computed in float64, normalised to sum 1."""
    r = torch.arange(-_R, _R + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (r / sigma) ** 2)
    return k / k.sum()


def _linear(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate every plane with K 5x5 ``kernels`` (K, 5, 5), reflect-101 border -> (N, K, C, H, W)."""
    n, c, h, w = x.shape
    p = F.pad(_planes(x), (_R,) * 4, mode="reflect")    # torch's "reflect" is OpenCV's BORDER_REFLECT_101
    y = F.conv2d(p, kernels[:, None].to(x))
    return y.reshape(n, c, -1, h, w).transpose(1, 2)


def box_filter(x: torch.Tensor) -> torch.Tensor:
    """5x5 mean filter (``cv2.blur``); x (N, C, H, W) in [0, 1], H, W >= 3 -> same shape. Chapter 7."""
    return _linear(_check(x), torch.full((1, 5, 5), 1 / 25, dtype=torch.float64))[:, 0]


def gaussian_filter(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """5x5 Gaussian filter of ``sigma`` pixels (``cv2.GaussianBlur(x, (5, 5), sigma)``); (N, C, H, W) -> same. Chapter 7."""
    if not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    k = _gaussian_1d(float(sigma))
    return _linear(_check(x), torch.outer(k, k)[None])[:, 0]


def bilateral_filter(x: torch.Tensor, sigma_color: float | tuple[float, ...], sigma_space: float = SIGMA_SPACE
                     ) -> torch.Tensor:
    """Bilateral filter as ``cv2.bilateralFilter(x, 5, sigma_color, sigma_space)`` on float images. Chapter 7.

    x: (N, C, H, W) in [0, 1]; ``sigma_color`` on the [0, 1] scale of x. Each output pixel is the weighted mean of
    the disc of radius 2 around it, weight exp(-d^2 / (2 sigma_space^2)) * exp(-(x_j - x_i)^2 / (2 sigma_color^2)).
    A tuple of sigmas gives a stacked result (N, len, C, H, W), sharing the work.
    """
    sigmas = tuple(sigma_color) if isinstance(sigma_color, (tuple, list)) else (sigma_color,)
    for s in (*sigmas, sigma_space):
        if not isinstance(s, (int, float)) or not s > 0:
            raise ValueError(f"sigma_color and sigma_space must be positive numbers, got {s!r}")
    n, c, h, w = _check(x).shape
    centre = _planes(x)
    p = F.pad(centre, (_R,) * 4, mode="reflect")
    num = [centre.clone() for _ in sigmas]                # the centre pixel has weight exp(0) * exp(0) = 1
    den = [torch.ones_like(centre) for _ in sigmas]
    for dy, dx in _DISC:
        v = p[..., _R + dy:_R + dy + h, _R + dx:_R + dx + w]
        d2 = (v - centre).square()
        log_space = -(dy * dy + dx * dx) / (2 * sigma_space**2)
        for j, s in enumerate(sigmas):
            wgt = torch.exp(d2 * (-0.5 / s**2) + log_space)
            num[j].addcmul_(wgt, v)
            den[j].add_(wgt)
    out = torch.cat([a / b for a, b in zip(num, den)], dim=1).reshape(n, c, len(sigmas), h, w).transpose(1, 2)
    return out if isinstance(sigma_color, (tuple, list)) else out[:, 0]


def median_filter(x: torch.Tensor) -> torch.Tensor:
    """5x5 median filter (``cv2.medianBlur(x, 5)``, replicated border); x (N, C, H, W) -> same shape. Chapter 7."""
    n, c, h, w = _check(x).shape
    p = F.pad(_planes(x), (_R,) * 4, mode="replicate")
    v = [p[..., i:i + h, j:j + w] for i in range(5) for j in range(5)]
    for a, b in _MEDIAN25:
        v[a], v[b] = torch.minimum(v[a], v[b]), torch.maximum(v[a], v[b])
    return v[12].reshape(n, c, h, w)


@lru_cache(maxsize=1)
def _cv2():
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def _filters_cv2(x: torch.Tensor, out: torch.Tensor) -> None:
    """Write actions 3..8 into out (N, 9, C, H, W) with OpenCV, one call per image plane."""
    cv2 = _cv2()
    planes = x.detach().to("cpu", torch.float32).contiguous().numpy()
    shared = out.dtype == torch.float32 and out.device.type == "cpu"
    res = out[:, 3:].numpy() if shared else np.empty((x.shape[0], 6, *x.shape[1:]), np.float32)
    for img, o in zip(planes, res):
        for ch, im in enumerate(img):
            o[0, ch] = cv2.GaussianBlur(im, (5, 5), 0.5)
            o[1, ch] = cv2.bilateralFilter(im, 5, 0.1, SIGMA_SPACE)
            o[2, ch] = cv2.medianBlur(im, 5)
            o[3, ch] = cv2.GaussianBlur(im, (5, 5), 1.5)
            o[4, ch] = cv2.bilateralFilter(im, 5, 1.0, SIGMA_SPACE)
            o[5, ch] = cv2.blur(im, (5, 5))
    if not shared:
        out[:, 3:] = torch.from_numpy(res).to(out)


def _filters_torch(x: torch.Tensor, out: torch.Tensor) -> None:
    """Write actions 3..8 into out (N, 9, C, H, W), vectorised; the three linear filters are one convolution."""
    g05, g15 = _gaussian_1d(0.5), _gaussian_1d(1.5)
    box = torch.full((5, 5), 1 / 25, dtype=torch.float64)
    out[:, [3, 6, 8]] = _linear(x, torch.stack([torch.outer(g05, g05), torch.outer(g15, g15), box]))
    out[:, [4, 7]] = bilateral_filter(x, (0.1, 1.0))
    out[:, 5] = median_filter(x)


def resolve_backend(backend: str, x: torch.Tensor) -> str:
    """``"cv2"`` or ``"torch"``: what ``backend`` ("auto", "cv2", "torch") means for a tensor on ``x.device``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "cv2" and _cv2() is None:
        raise ValueError("backend 'cv2' needs OpenCV (pip install opencv-python-headless); use 'torch' or 'auto'")
    if backend == "auto":
        return "cv2" if x.device.type == "cpu" and _cv2() is not None else "torch"
    return backend


@torch.no_grad()
def filter_bank(x: torch.Tensor, backend: str = "auto") -> torch.Tensor:
    """All nine action results for a batch: x (N, C, H, W) in [0, 1], H, W >= 3 -> (N, 9, C, H, W) in [0, 1].

    Index ``k`` along dim 1 is what action ``k`` (see :data:`ACTIONS`) makes of every pixel. Chapter 7.
    """
    n, c, h, w = _check(x).shape
    out = torch.empty((n, N_ACTIONS, c, h, w), dtype=x.dtype, device=x.device)
    out[:, 0], out[:, 1], out[:, 2] = (x - 1 / 255).clamp(0, 1), x, (x + 1 / 255).clamp(0, 1)
    (_filters_cv2 if resolve_backend(backend, x) == "cv2" else _filters_torch)(x, out)
    return out


def check_actions(actions: object, shape: tuple[int, ...], name: str = "actions") -> torch.Tensor:
    """Check an action map: an integer tensor of shape (N, H, W) (``shape``) with values in 0..8."""
    if not isinstance(actions, torch.Tensor) or actions.is_floating_point() or actions.is_complex():
        raise ValueError(f"{name} must be an integer tensor of shape (N, H, W), got "
                         f"{getattr(actions, 'dtype', type(actions).__name__)}")
    if tuple(actions.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape (N, H, W) = {tuple(shape)}, got {tuple(actions.shape)}")
    if actions.numel() and (actions.min() < 0 or actions.max() >= N_ACTIONS):
        raise ValueError(f"{name} must hold action ids in 0..{N_ACTIONS - 1}, got "
                         f"[{actions.min().item()}, {actions.max().item()}]")
    return actions


@torch.no_grad()
def apply_actions(x: torch.Tensor, actions: torch.Tensor, candidates: torch.Tensor | None = None,
                  backend: str = "auto") -> torch.Tensor:
    """Apply one action per pixel: x (N, C, H, W) in [0, 1], actions (N, H, W) ints in 0..8 -> (N, C, H, W).

    A colour pixel's action acts on all its channels. ``candidates`` (from :func:`filter_bank`) saves recomputing
    the filters. Chapter 7.
    """
    n, c, h, w = _check(x).shape
    actions = check_actions(actions, (n, h, w)).to(x.device, torch.long)
    cand = filter_bank(x, backend) if candidates is None else candidates
    if tuple(cand.shape) != (n, N_ACTIONS, c, h, w):
        raise ValueError(f"candidates must have shape {(n, N_ACTIONS, c, h, w)}, got {tuple(cand.shape)}")
    return cand.gather(1, actions[:, None, None].expand(n, 1, c, h, w))[:, 0]


# ----------------------------------------------------------------------------- rewards
def pixel_reward(clean: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """r_i = (I_i - s_i^(t))^2 - (I_i - s_i^(t+1))^2 on the 0-255 scale, summed over channels -> (N, 1, H, W).

    clean, before, after: (N, C, H, W) in [0, 1]. Positive where the step moved a pixel toward the clean image.
    """
    if not (clean.shape == before.shape == after.shape):
        raise ValueError(f"clean, before and after must have the same shape, got {tuple(clean.shape)}, "
                         f"{tuple(before.shape)} and {tuple(after.shape)}")
    gain = (clean - before).square() - (clean - after).square()
    return 255.0**2 * gain.sum(dim=1, keepdim=True)


# ----------------------------------------------------------------------------- tasks
def to_gray(x: torch.Tensor) -> torch.Tensor:
    """RGB (..., 3, H, W) -> luma (..., 1, H, W) with the ITU-R 601 weights of OpenCV and Pillow; 1 channel: as is."""
    dims = x.dim() if isinstance(x, torch.Tensor) else 0
    check_image(x, "x") if dims == 3 else check_images(x.flatten(0, -4) if dims > 4 else x, "x")
    if x.shape[-3] not in (1, 3):
        raise ValueError(f"x must have shape (..., 1 or 3, H, W), got {tuple(x.shape)}")
    if x.shape[-3] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True).clamp(0, 1)


def _font_files() -> list[str]:
    """Offline stand-ins for the paper's Arial / Times New Roman, bold and italic: matplotlib's DejaVu fonts."""
    import matplotlib
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    names = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique",
             "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSerif-BoldItalic")
    return [str(p) for p in (folder / f"{n}.ttf" for n in names) if p.is_file()]


@lru_cache(maxsize=None)
def _font(index: int, size: int):
    from PIL import ImageFont
    files = _font_files()
    try:
        if files:
            return ImageFont.truetype(files[index % len(files)], size)
        return ImageFont.load_default(size=size)       # Pillow >= 10.1 with FreeType: a scalable font
    except (OSError, TypeError, ImportError):
        return ImageFont.load_default()                 # last resort: Pillow's fixed bitmap font (about 11 px)


def draw_text_mask(n: int, height: int, width: int, generator: torch.Generator | None = None,
                   sizes: tuple[int, int] = TEXT_SIZES) -> torch.Tensor:
    """Masks of random text, as the paper's inpainting task overlays documents: (n, 1, height, width) bool. Chapter 7.

    Per image a font (DejaVu Sans / Serif, regular, bold, italic, bold italic; see ``_font_files()``) and a size
    in ``sizes`` are drawn, and the image is filled with lines of random lowercase words (letters a-z, 1-9 long).
    Without those fonts Pillow's scalable default font is used, and without FreeType its fixed bitmap font.
    """
    for name, v in (("n", n), ("height", height), ("width", width)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if len(sizes) != 2 or not 1 <= sizes[0] <= sizes[1]:
        raise ValueError(f"sizes must be (low, high) with 1 <= low <= high, got {sizes!r}")
    from PIL import Image, ImageDraw

    def randint(lo: int, hi: int) -> int:                # inclusive
        return int(torch.randint(lo, hi + 1, (1,), generator=generator))

    masks = []
    for _ in range(n):
        size = randint(*sizes)
        font = _font(randint(0, 7), size)
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        y = -randint(0, size // 2)
        while y < height:
            words = ["".join(chr(97 + randint(0, 25)) for _ in range(randint(1, 9))) for _ in range(width // 10 + 2)]
            draw.text((-randint(0, size), y), " ".join(words), fill=255, font=font)
            y += int(size * 1.25)
        masks.append(torch.from_numpy(np.asarray(canvas) > 127))
    return torch.stack(masks)[:, None]


def overlay_text(clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Blind inpainting input: random text (:func:`draw_text_mask`) drawn in black or white (one draw per image)."""
    check_images(clean, "clean")
    n, _, h, w = clean.shape
    mask = draw_text_mask(n, h, w, generator).to(clean.device)
    ink = (torch.rand((n, 1, 1, 1), generator=generator) < 0.5).to(clean)
    return torch.where(mask, ink.expand_as(clean), clean)


def make_task(task: str | Task) -> Task:
    """A degradation ``(clean, generator) -> degraded``: a spec of :mod:`restorelib.core.degradations` such as
    ``"noise:25"`` or ``"saltpepper:0.5"``, ``"text"`` (blind inpainting), or a callable, returned as is."""
    if callable(task):
        return task
    if task == "text":
        return overlay_text
    try:
        spec = parse_spec(task)
    except ValueError as e:
        raise ValueError(f"task must be a degradation spec such as 'noise:25' or 'saltpepper:0.5', 'text', or a "
                         f"callable; got {task!r} ({e})") from None
    return lambda clean, g: degrade(clean, spec, g)[0]
