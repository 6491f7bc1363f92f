"""Images for the book (chapter 1): embedded photos, named benchmark sets, and a checked downloader.

* :func:`embedded` -- natural photos bundled with scikit-image and matplotlib; offline, no download.
* :func:`load_set` -- a named set (BSD68, CBSD68, Set12, Train400, LIVE1, Set14, classic5, Kodak24, McMaster,
  RNI15, RNI6): read from ``$RESTORELIB_DATA/<name>/`` when that folder exists, else downloaded into the cache
  from the addresses pinned in ``registry.tsv``, each file's sha256 checked and written atomically.

Images come back as float32 tensors of shape (C, H, W) in [0, 1], C = 3 (RGB) or 1 (grayscale); reading and
writing image files (:func:`~restorelib.core.imagefile.read_image`, :func:`~restorelib.core.imagefile.save_image`, ...) is
:mod:`restorelib.core.imagefile`'s, re-exported here.
"""
from __future__ import annotations

import csv
import hashlib
import http.client
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import atomic
from .config import cache_dir, data_dir
from .imagefile import (  # noqa: F401  (re-exported: image files and arrays live in restorelib.core.imagefile)
    DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, describe, pixel_limit, read_for_restore, read_image, read_pixels, save_image,
    to_rgb, to_tensor, to_uint8, write_restored)
EMBEDDED = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "camera", "moon", "coins", "brick",
            "grass", "gravel", "grace_hopper")
# A fixed split of the embedded photos: tools and agents train on EMBEDDED_TRAIN; chapters test on the rest.
EMBEDDED_TEST = ("chelsea", "grace_hopper", "camera", "coins")
EMBEDDED_TRAIN = tuple(n for n in EMBEDDED if n not in EMBEDDED_TEST)


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


MAX_DOWNLOAD_BYTES = 1 << 30
"""The most :func:`download` reads when it is not told the file's size."""


def check_url(url: str) -> str:
    """Return ``url`` if the downloader may fetch it: ``https://``, or ``http://`` on a loopback address (a local
    server, as the tests use); ``ValueError`` otherwise (``file://``, plain ``http`` to another host, ...)."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is not None and parts.hostname and (parts.scheme == "https" or (
            parts.scheme == "http" and _is_loopback(parts.hostname))):
        return url
    raise ValueError(f"url must be https:// (or http:// on the loopback address), got {url!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an address :func:`check_url` accepts (no downgrade to http, no file://)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 (urllib's signature)
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, dest: str | Path, sha256: str, *, size: int | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest`` and check its sha256 (and size when given).

    Only ``https://`` addresses are fetched (and ``http://`` on the loopback address), redirects included. At most
    ``size`` bytes are read (:data:`MAX_DOWNLOAD_BYTES` when no size is given): a longer answer is cut off and
    refused. The bytes go to a temporary ``.part`` file in the destination folder, which is renamed onto ``dest``
    only after the checks pass, so no partial or wrong file is ever left under the final name, and the ``.part``
    file is removed on any error (or by the next download, if its process was killed: see
    :mod:`restorelib.core.atomic`). An existing ``dest`` with the right hash is reused without a download. Raises
    :class:`DownloadError`, or ``ValueError`` for a bad argument.
    """
    dest = Path(dest)
    if not isinstance(sha256, str) or len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ValueError(f"size must be a non-negative int or None, got {size!r}")
    check_url(url)
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    cap = MAX_DOWNLOAD_BYTES if size is None else size
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        opener = urllib.request.build_opener(_CheckedRedirects)
        with atomic.atomic_open(dest, overwrite=True, suffix=".part") as out, opener.open(url, timeout=timeout) as resp:
            announced = resp.headers.get("Content-Length", "")
            if announced.isdecimal() and int(announced) > cap:
                raise DownloadError(f"{url}: the server announces {int(announced)} bytes, expected {cap}; not fetched")
            h, n = hashlib.sha256(), 0
            while chunk := resp.read(min(1 << 16, cap + 1 - n)):
                n += len(chunk)
                if n > cap:
                    raise DownloadError(f"{url}: more than the expected {cap} bytes; stopped")
                out.write(chunk)
                h.update(chunk)
            if size is not None and n != size:
                raise DownloadError(f"{url}: got {n} bytes, expected {size}")
            if h.hexdigest() != sha256:
                raise DownloadError(f"{url}: sha256 {h.hexdigest()} does not match the expected {sha256}")
        return dest
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        raise DownloadError(f"{url}: download failed ({e})") from e


def _plain_name(name: str, what: str) -> str:
    """``name`` if it is one plain file or folder name (no separator, not ``..``), else ``ValueError``."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\0" in name or Path(name).is_absolute() or Path(name).name != name):
        raise ValueError(f"registry {what} must be a plain name inside the cache, got {name!r}")
    return name


def set_files(name: str, *, root: str | Path | None = None, download_missing: bool = True) -> list[Path]:
    """Paths of the images of the named set ``name``, sorted by file name.

    ``root`` (default ``$RESTORELIB_DATA``) is searched for ``root/name/``; files found there are used as
    they are (BMP sets may be stored as PNG). Otherwise the set is downloaded into ``cache_dir()/name``.
    """
    reg = registry()
    if name not in reg:
        raise ValueError(f"name must be one of {sorted(reg)}, got {name!r}")
    _plain_name(name, "set name")
    base = Path(root) if root is not None else data_dir()
    if base is not None and (base / name).is_dir():
        files = sorted(p for p in (base / name).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if files:
            return files
    folder = cache_dir() / name
    out = []
    for rf in reg[name]:
        dest = folder / _plain_name(rf.name, f"file name of {name}")
        if not dest.is_file() and not download_missing:
            raise FileNotFoundError(f"{dest} is missing and download_missing=False")
        out.append(download(rf.url, dest, rf.sha256, size=rf.size))
    return sorted(out)


def load_set(name: str, *, limit: int | None = None, root: str | Path | None = None,
             max_pixels: int | None = None) -> dict[str, torch.Tensor]:
    """Load a named set (see :func:`set_files`) or ``"embedded"``/``"embedded-test"``/``"embedded-train"``.

    Returns ``{file stem: (C, H, W) float32 tensor in [0, 1]}`` in sorted order, at most ``limit`` images, each of
    at most ``max_pixels`` pixels (see :func:`restorelib.core.imagefile.pixel_limit`).
    """
    _check_limit(limit)
    special = {"embedded": EMBEDDED, "embedded-test": EMBEDDED_TEST, "embedded-train": EMBEDDED_TRAIN}
    if name in special:
        return embedded_set(special[name][:limit])
    return {p.stem: read_image(p, max_pixels=max_pixels) for p in set_files(name, root=root)[:limit]}


def _check_limit(limit: object) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")


def load_folder(folder: str | Path, *, limit: int | None = None,
                max_pixels: int | None = None) -> dict[str, torch.Tensor]:
    """All images in ``folder`` (sorted by name) as ``{stem: (C, H, W) tensor}``; at most ``limit``.

    A file that cannot be read raises ``ValueError`` naming it (see :func:`restorelib.core.imagefile.read_pixels`).
    """
    _check_limit(limit)
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is not a readable directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"folder {str(folder)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return {p.stem: read_image(p, max_pixels=max_pixels) for p in files[:limit]}


def load_train_sets(names: str | list[str]) -> dict[str, torch.Tensor]:
    """The images of one or several named sets, keyed ``set/stem`` when there are several."""
    names = [names] if isinstance(names, str) else list(names)
    if len(names) == 1:
        return load_set(names[0])
    return {f"{n}/{k}": v for n in names for k, v in load_set(n).items()}
