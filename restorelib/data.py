"""Images for the book (chapter 1): embedded photos, named benchmark sets, and a checked downloader.

* :func:`embedded` -- natural photos bundled with scikit-image and matplotlib; offline, no download.
* :func:`load_set` -- a named set (BSD68, CBSD68, Set12, Train400, LIVE1, Set14, classic5, Kodak24, McMaster,
  RNI15, RNI6): read from ``$RESTORELIB_DATA/<name>/`` when that folder exists, else downloaded into the cache
  from the addresses pinned in ``registry.tsv``, each file's sha256 checked and written atomically.

Images come back as float32 tensors of shape (C, H, W) in [0, 1], C = 3 (RGB) or 1 (grayscale).
"""
from __future__ import annotations

import csv
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import cache_dir, data_dir

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
EMBEDDED = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "camera", "moon", "coins", "brick",
            "grass", "gravel", "grace_hopper")
# A fixed split of the embedded photos: tools and agents train on EMBEDDED_TRAIN; chapters test on the rest.
EMBEDDED_TEST = ("chelsea", "grace_hopper", "camera", "coins")
EMBEDDED_TRAIN = tuple(n for n in EMBEDDED if n not in EMBEDDED_TEST)


# ----------------------------------------------------------------------------- image <-> tensor
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
        if f.size and (f.min() < 0 or f.max() > 1):
            raise ValueError(f"a float array must have values in [0, 1], got [{f.min():.3g}, {f.max():.3g}]")
    else:
        raise TypeError(f"array must be uint8, uint16 or float, got dtype {a.dtype}")
    return torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """float (C, H, W) in [0, 1] -> uint8 (H, W, C), or (H, W) for one channel, ready for saving or plotting."""
    if not isinstance(image, torch.Tensor) or image.dim() != 3:
        raise ValueError(f"image must be a tensor of shape (C, H, W), got {getattr(image, 'shape', type(image))}")
    a = (image.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def read_image(path: str | Path) -> torch.Tensor:
    """Read an image file as float32 (C, H, W) in [0, 1]; 16-bit and palette images are converted."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a readable file")
    with Image.open(path) as im:
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            return to_tensor(np.asarray(im).astype(np.uint16))
        if im.mode not in ("L", "LA", "RGB", "RGBA"):
            im = im.convert("RGB")
        return to_tensor(np.asarray(im))


def save_image(image: torch.Tensor, path: str | Path) -> None:
    """Save float (C, H, W) in [0, 1] as an 8-bit image (format from the suffix)."""
    Image.fromarray(to_uint8(image)).save(Path(path))


def read_for_restore(path: str | Path) -> tuple[torch.Tensor, dict]:
    """Read a photo to restore: (3, H, W) in [0, 1] plus what :func:`write_restored` needs to give it back in kind.

    Grayscale is replicated to RGB (the tools are colour networks) and written back as grayscale; an alpha channel
    is set aside and re-attached; 16-bit samples are read at full precision, and the output is written as 8-bit.
    ``info`` holds ``mode``, ``size`` (H, W), ``bits``, ``gray``, ``alpha`` ((H, W) uint8 array or None), ``notes``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a readable file")
    try:
        with Image.open(path) as im:
            mode = im.mode
            alpha = np.asarray(im.getchannel("A")) if im.mode in ("RGBA", "LA") else None
            if alpha is not None and alpha.min() == 255:
                alpha = None                                       # an opaque alpha carries nothing
    except Exception as e:                                         # Pillow raises several kinds on a non-image
        raise ValueError(f"{str(path)!r} is not an image Pillow can read ({type(e).__name__})") from None
    x = read_image(path)
    bits = 16 if mode.startswith("I") else 8
    gray = x.shape[0] == 1
    notes = []
    if gray:
        notes.append("grayscale: replicated to RGB for the method (the tools and baselines are colour networks) and "
                     "saved as grayscale")
    if alpha is not None:
        notes.append("alpha channel: set aside, re-attached to the output where its format allows")
    if bits == 16:
        notes.append("16-bit input: read at full precision; the output is saved with 8 bits per sample")
    return to_rgb(x), {"mode": mode, "size": tuple(x.shape[-2:]), "bits": bits, "gray": gray, "alpha": alpha,
                       "notes": notes}


def describe(info: dict) -> str:
    """One line on an image read by :func:`read_for_restore`, e.g. ``481x321, RGBA, 8-bit``."""
    h, w = info["size"]
    return f"{w}x{h}, {info['mode']}, {info['bits']}-bit"


def write_restored(image: torch.Tensor, info: dict, path: str | Path) -> None:
    """Write a restored (3, H, W) image like its input (``info`` from :func:`read_for_restore`), atomically."""
    path = Path(path)
    a = to_uint8(image)
    im = Image.fromarray(a).convert("L") if info["gray"] else Image.fromarray(a)
    if info["alpha"] is not None and path.suffix.lower() in (".png", ".tif", ".tiff", ".webp"):
        im.putalpha(Image.fromarray(info["alpha"]))
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        im.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(1 or 3, H, W) -> (3, H, W): grayscale is replicated, so every tool sees three channels."""
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must have shape (1 or 3, H, W), got {tuple(image.shape)}")
    return image.expand(3, -1, -1).clone() if image.shape[0] == 1 else image


# ----------------------------------------------------------------------------- embedded photos
def embedded(name: str) -> torch.Tensor:
    """One embedded photo by name (see :data:`EMBEDDED`) as float32 (C, H, W) in [0, 1]."""
    if name not in EMBEDDED:
        raise ValueError(f"name must be one of {list(EMBEDDED)}, got {name!r}")
    return _embedded(name).clone()


@lru_cache(maxsize=None)
def _embedded(name: str) -> torch.Tensor:
    if name == "grace_hopper":
        import matplotlib.cbook
        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f, Image.open(f) as im:
            return to_tensor(np.asarray(im.convert("RGB")))
    import skimage.data
    if name == "motorcycle":
        return to_tensor(skimage.data.stereo_motorcycle()[0])
    return to_tensor(getattr(skimage.data, name)())


def embedded_set(names: tuple[str, ...] | list[str] = EMBEDDED) -> dict[str, torch.Tensor]:
    """Several embedded photos as ``{name: (C, H, W) tensor}``."""
    return {n: embedded(n) for n in names}


# ----------------------------------------------------------------------------- the registry of named sets
@dataclass(frozen=True)
class RemoteFile:
    """One file of a named set: where it lives, its sha256 and its size in bytes."""

    dataset: str
    name: str
    url: str
    sha256: str
    size: int


@lru_cache(maxsize=None)
def registry() -> dict[str, tuple[RemoteFile, ...]]:
    """``{set name: files}`` read from the package's ``registry.tsv`` (addresses pinned to a commit)."""
    out: dict[str, list[RemoteFile]] = {}
    with open(Path(__file__).with_name("registry.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.setdefault(row["dataset"], []).append(
                RemoteFile(row["dataset"], row["file"], row["url"], row["sha256"], int(row["bytes"])))
    return {k: tuple(v) for k, v in out.items()}


def dataset_names() -> list[str]:
    """The names accepted by :func:`load_set`."""
    return sorted(registry())


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DownloadError(RuntimeError):
    """A download failed (server unreachable, short transfer, or a checksum that does not match)."""


def download(url: str, dest: str | Path, sha256: str, *, size: int | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest`` and check its sha256 (and size when given).

    The bytes go to a temporary file in the destination folder, which is renamed onto ``dest`` only after
    the checks pass, so no partial or wrong file is ever left under the final name. An existing ``dest``
    with the right hash is reused without a download. Raises :class:`DownloadError`.
    """
    dest = Path(dest)
    if len(sha256) != 64:
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        h, n = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                out.write(chunk)
                h.update(chunk)
                n += len(chunk)
        if size is not None and n != size:
            raise DownloadError(f"{url}: got {n} bytes, expected {size}")
        if h.hexdigest() != sha256:
            raise DownloadError(f"{url}: sha256 {h.hexdigest()} does not match the expected {sha256}")
        os.replace(tmp, dest)                   # atomic on POSIX and Windows
        return dest
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        raise DownloadError(f"{url}: download failed ({e})") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def set_files(name: str, *, root: str | Path | None = None, download_missing: bool = True) -> list[Path]:
    """Paths of the images of the named set ``name``, sorted by file name.

    ``root`` (default ``$RESTORELIB_DATA``) is searched for ``root/name/``; files found there are used as
    they are (BMP sets may be stored as PNG). Otherwise the set is downloaded into ``cache_dir()/name``.
    """
    reg = registry()
    if name not in reg:
        raise ValueError(f"name must be one of {sorted(reg)}, got {name!r}")
    base = Path(root) if root is not None else data_dir()
    if base is not None and (base / name).is_dir():
        files = sorted(p for p in (base / name).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if files:
            return files
    folder = cache_dir() / name
    out = []
    for rf in reg[name]:
        dest = folder / rf.name
        if not dest.is_file() and not download_missing:
            raise FileNotFoundError(f"{dest} is missing and download_missing=False")
        out.append(download(rf.url, dest, rf.sha256, size=rf.size))
    return sorted(out)


def load_set(name: str, *, limit: int | None = None, root: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Load a named set (see :func:`set_files`) or ``"embedded"``/``"embedded-test"``/``"embedded-train"``.

    Returns ``{file stem: (C, H, W) float32 tensor in [0, 1]}`` in sorted order, at most ``limit`` images.
    """
    _check_limit(limit)
    special = {"embedded": EMBEDDED, "embedded-test": EMBEDDED_TEST, "embedded-train": EMBEDDED_TRAIN}
    if name in special:
        return embedded_set(special[name][:limit])
    return {p.stem: read_image(p) for p in set_files(name, root=root)[:limit]}


def _check_limit(limit: object) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")


def load_folder(folder: str | Path, *, limit: int | None = None) -> dict[str, torch.Tensor]:
    """All images in ``folder`` (sorted by name) as ``{stem: (C, H, W) tensor}``; at most ``limit``."""
    _check_limit(limit)
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is not a readable directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"folder {str(folder)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return {p.stem: read_image(p) for p in files[:limit]}
