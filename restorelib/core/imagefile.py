"""Image files and arrays <-> tensors (chapter 1): every supported pixel format read faithfully, or refused by name.

Images come back as float32 tensors of shape (C, H, W) in [0, 1], C = 3 (RGB) or 1 (grayscale). The formats:

* 8-bit gray, RGB, with or without alpha, and palette images (converted to RGB or RGBA); 1-bit images as 8-bit gray;
  CMYK, YCbCr, LAB, HSV as converted to RGB by Pillow;
* 16-bit gray (PNG, TIFF) at full precision; 16-bit colour at full precision too, though Pillow reads it at 8 bits:
  PNG through OpenCV (``opencv-python-headless``; without it such a file is refused), TIFF through ``tifffile``;
* 32-bit float gray (TIFF mode F) when its values lie in [0, 1]; 32-bit integer gray (TIFF mode I) when its values
  fit in 16 bits (read as 16-bit samples). Anything else is refused with an error that names the file and its mode.

A file of more than ``max_pixels`` pixels (default :data:`DEFAULT_MAX_PIXELS`, or ``$RESTORELIB_MAX_PIXELS``) is
refused before it is decoded: a small file can hold a huge image (a decompression bomb).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import atomic
from .validation import check_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 50_000_000
"""The largest image read by default, in pixels (a 48-megapixel photo fits); raise it with ``max_pixels`` or
``$RESTORELIB_MAX_PIXELS``."""
_CONVERTED = ("CMYK", "YCbCr", "LAB", "HSV", "RGBX")


def pixel_limit(value: int | None = None) -> int:
    """The pixel limit of the readers: ``value`` when given, else ``$RESTORELIB_MAX_PIXELS``, else the default."""
    if value is None:
        env = os.environ.get("RESTORELIB_MAX_PIXELS", "").strip()
        if not env:
            return DEFAULT_MAX_PIXELS
        if not env.isdecimal() or not env.isascii():
            raise ValueError(f"RESTORELIB_MAX_PIXELS must be a positive int, got {env!r}")
        value = int(env)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"max_pixels must be a positive int, got {value!r}")
    return value


# ----------------------------------------------------------------------------- arrays <-> tensors
def to_tensor(array: np.ndarray) -> torch.Tensor:
    """uint8/uint16/float (H, W) or (H, W, C) array -> float32 (C, H, W) in [0, 1]; alpha is dropped."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"array must have shape (H, W) or (H, W, C) with C in 1..4, got {a.shape}")
    if a.shape[-1] in (2, 4):                    # grayscale+alpha or RGBA: drop alpha
        a = a[..., :-1]
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        if not np.isfinite(f).all():
            raise ValueError(f"a float array must be finite, got {int((~np.isfinite(f)).sum())} NaN or inf values")
        if f.size and (f.min() < 0 or f.max() > 1):
            raise ValueError(f"a float array must have values in [0, 1], got [{f.min():.3g}, {f.max():.3g}]")
    else:
        raise TypeError(f"array must be uint8, uint16 or float, got dtype {a.dtype}")
    return torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """float (C, H, W) in [0, 1] -> uint8 (H, W, C), or (H, W) for one channel, ready for saving or plotting.

    Values outside [0, 1] are clipped; NaN, inf and integer tensors (whose scale is unknown) are refused.
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor of shape (C, H, W), got {type(image).__name__}")
    if image.dim() != 3:
        raise ValueError(f"image must be a tensor of shape (C, H, W), got {tuple(image.shape)}")
    if not (image.is_floating_point() or image.dtype == torch.bool):
        raise TypeError(f"image must be a floating-point tensor with values in [0, 1], got dtype {image.dtype}")
    if image.is_floating_point() and not torch.isfinite(image).all():
        raise ValueError(f"image must be finite, got {int((~torch.isfinite(image)).sum())} NaN or inf values")
    a = (image.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(1 or 3, H, W) -> (3, H, W): grayscale is replicated, so every tool sees three channels."""
    check_image(image, "image", min_size=0)
    if image.shape[0] not in (1, 3):
        raise ValueError(f"image must have shape (1 or 3, H, W), got {tuple(image.shape)}")
    return image.expand(3, -1, -1).clone() if image.shape[0] == 1 else image


# ----------------------------------------------------------------------------- decoding files
def _open(path: Path, limit: int) -> Image.Image:
    """Open (the header only) and refuse more than ``limit`` pixels before anything is decoded."""
    too_big = (f"{str(path)!r} has {{}} pixels, more than the limit of {limit:,}; raise it with --max-pixels or "
               "RESTORELIB_MAX_PIXELS if the file is trusted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError:
        raise ValueError(too_big.format("too many")) from None
    except Exception as e:                                         # Pillow raises several kinds on a non-image
        raise ValueError(f"{str(path)!r} is not an image Pillow can read ({type(e).__name__})") from None
    w, h = im.size
    if w * h > limit:
        im.close()
        raise ValueError(too_big.format(f"{w}x{h} = {w * h:,}"))
    return im


def _rawmode(im: Image.Image) -> str:
    """How the file stores its samples (e.g. ``RGB;16B``), as Pillow's decoder is told."""
    if not im.tile:
        return ""
    args = im.tile[0][3]
    return args if isinstance(args, str) else next((a for a in args if isinstance(a, str)), "") if args else ""


def _colour16(path: Path, im: Image.Image) -> np.ndarray:
    """A 16-bit colour (or gray+alpha) file that Pillow would read at 8 bits, at full precision."""
    what = f"{str(path)!r}: 16-bit {im.mode} {im.format}"
    if im.format == "TIFF":
        import tifffile
        try:
            a = tifffile.imread(path)
        except Exception as e:
            raise ValueError(f"{what} cannot be decoded at 16 bits ({type(e).__name__}: {e})") from None
    elif im.format == "PNG":
        try:
            import cv2
        except ImportError:
            raise ValueError(f"{what}: Pillow reads it at 8 bits only; install opencv-python-headless to read it at "
                             "full precision, or convert it to 8 bits") from None
        a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if a is None:
            raise ValueError(f"{what} cannot be decoded by OpenCV")
        if a.ndim == 3:
            a = a[..., [2, 1, 0, 3][:a.shape[-1]]]               # BGR(A) -> RGB(A)
    else:
        raise ValueError(f"{what} is not supported (only 16-bit colour PNG and TIFF are)")
    if a.dtype != np.uint16 or a.shape[:2] != im.size[::-1]:
        raise ValueError(f"{what} decoded as {a.dtype} {a.shape}, not 16-bit {im.size[1]}x{im.size[0]}")
    if im.mode == "LA" and a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., [0, 3]]
    return a


def _decode(path: Path, im: Image.Image) -> tuple[np.ndarray, int, list[str]]:
    """Pixels (H, W) or (H, W, C) uint8/uint16/float32 in [0, 1], bits per sample of the file, notes."""
    mode, notes = im.mode, []
    if mode in ("L", "LA", "RGB", "RGBA") and ";16" in _rawmode(im):
        return _colour16(path, im), 16, notes
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im), 8, notes
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info
        notes.append(f"palette image: converted to {'RGBA' if alpha else 'RGB'}")
        return np.asarray(im.convert("RGBA" if alpha else "RGB")), 8, notes
    if mode == "1":
        notes.append("1-bit (black and white) image: read as 8-bit grayscale")
        return np.asarray(im.convert("L")), 1, notes
    if mode in _CONVERTED:
        notes.append(f"{mode} image: converted to RGB by Pillow")
        return np.asarray(im.convert("RGB")), 8, notes
    if mode.startswith("I;16") and mode[4:] in ("", "B", "L", "N"):
        return np.asarray(im).astype(np.uint16), 16, notes
    if mode == "I":
        a = np.asarray(im)
        if im.format == "PNG":                                      # older Pillows open 16-bit gray PNG as I
            return a.astype(np.uint16), 16, notes
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo < 0 or hi > 65535:
            raise ValueError(f"{str(path)!r}: 32-bit integer samples (mode I) in [{lo}, {hi}] do not fit 16 bits; "
                             "only 8- and 16-bit integer images are supported: convert it")
        notes.append("32-bit integer samples, all within 0..65535: read as 16-bit samples (value / 65535)")
        return a.astype(np.uint16), 32, notes
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all():
            raise ValueError(f"{str(path)!r}: 32-bit float samples (mode F) hold NaN or inf")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo < 0 or hi > 1:
            raise ValueError(f"{str(path)!r}: 32-bit float samples (mode F) must lie in [0, 1], got [{lo:.4g}, "
                             f"{hi:.4g}]: scale it to [0, 1]")
        notes.append("32-bit float samples in [0, 1]: read as they are")
        return a, 32, notes
    raise ValueError(f"{str(path)!r}: image mode {mode!r} is not supported (gray, RGB, RGBA, palette, 16-bit, "
                     "float in [0, 1])")


def read_pixels(path: str | Path, *, max_pixels: int | None = None) -> tuple[np.ndarray, dict]:
    """Decode an image file: (pixels (H, W) or (H, W, C) uint8, uint16 or float32, ``{"mode", "bits", "notes"}``).

    Raises ``ValueError`` naming the file for a missing or unreadable file, an unsupported mode, or more than
    ``max_pixels`` pixels (see :func:`pixel_limit`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a readable file")
    with _open(path, pixel_limit(max_pixels)) as im:
        mode = im.mode
        try:
            a, bits, notes = _decode(path, im)
        except ValueError:
            raise
        except Exception as e:                                     # truncated or corrupt data
            raise ValueError(f"{str(path)!r} cannot be decoded ({type(e).__name__}: {e})") from None
    return a, {"mode": mode, "bits": bits, "notes": notes}


def read_image(path: str | Path, *, max_pixels: int | None = None) -> torch.Tensor:
    """Read an image file as float32 (C, H, W) in [0, 1] (module docstring: formats, pixel limit); alpha dropped."""
    return to_tensor(read_pixels(path, max_pixels=max_pixels)[0])


def image_format(path: str | Path) -> str:
    """Pillow's format name for a file name's suffix (``.png`` -> ``PNG``); ``ValueError`` for an unknown one."""
    suffix = Path(path).suffix.lower()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{str(path)!r}: no image format saves files ending in {suffix!r}")
    return fmt


def save_image(image: torch.Tensor, path: str | Path) -> None:
    """Save float (C, H, W) in [0, 1] as an 8-bit image (format from the suffix), atomically, replacing ``path``."""
    im = Image.fromarray(to_uint8(image))
    fmt = image_format(path)
    with atomic.atomic_open(path, overwrite=True) as f:
        im.save(f, format=fmt)


# ----------------------------------------------------------------------------- the photos of ``restore``
def read_for_restore(path: str | Path, *, max_pixels: int | None = None) -> tuple[torch.Tensor, dict]:
    """Read a photo to restore: (3, H, W) in [0, 1] plus what :func:`write_restored` needs to give it back in kind.

    Grayscale is replicated to RGB (the tools are colour networks) and written back as grayscale; an alpha channel
    is set aside and re-attached; 16-bit and float samples are read at full precision, and the output is written
    as 8-bit. ``info`` holds ``mode``, ``size`` (H, W), ``bits``, ``gray``, ``alpha`` ((H, W) uint8 array or None),
    ``notes``. Raises ``ValueError`` naming the file (see :func:`read_pixels`).
    """
    a, info = read_pixels(path, max_pixels=max_pixels)
    alpha = a[..., -1] if a.ndim == 3 and a.shape[-1] in (2, 4) else None
    if alpha is not None:
        alpha = alpha if alpha.dtype == np.uint8 else (alpha.astype(np.float64) / 257).round().astype(np.uint8)
        if alpha.min() == 255:
            alpha = None                                           # an opaque alpha carries nothing
    x = to_tensor(a)
    gray = x.shape[0] == 1
    notes = list(info["notes"])
    if gray:
        notes.append("grayscale: replicated to RGB for the method (the tools and baselines are colour networks) and "
                     "saved as grayscale")
    if alpha is not None:
        notes.append("alpha channel: set aside, re-attached to the output where its format allows")
    if info["bits"] == 16:
        notes.append("16-bit input: read at full precision; the output is saved with 8 bits per sample")
    elif info["bits"] == 32:
        notes.append("32-bit input: the output is saved with 8 bits per sample")
    return to_rgb(x), {"mode": info["mode"], "size": tuple(x.shape[-2:]), "bits": info["bits"], "gray": gray,
                       "alpha": alpha, "notes": notes}


def describe(info: dict) -> str:
    """One line on an image read by :func:`read_for_restore`, e.g. ``481x321, RGBA, 8-bit``."""
    h, w = info["size"]
    return f"{w}x{h}, {info['mode']}, {info['bits']}-bit"


def write_restored(image: torch.Tensor, info: dict, path: str | Path, *, overwrite: bool = False) -> None:
    """Write a restored (3, H, W) image like its input (``info`` from :func:`read_for_restore`), atomically.

    Without ``overwrite``, an existing ``path`` (even one created while this ran) is left alone:
    :class:`FileExistsError`. See :func:`restorelib.core.atomic.atomic_open`.
    """
    path = Path(path)
    fmt = image_format(path)
    a = to_uint8(image)
    im = Image.fromarray(a).convert("L") if info["gray"] else Image.fromarray(a)
    if info["alpha"] is not None and path.suffix.lower() in (".png", ".tif", ".tiff", ".webp"):
        im.putalpha(Image.fromarray(info["alpha"]))
    with atomic.atomic_open(path, overwrite=overwrite) as f:
        im.save(f, format=fmt)
