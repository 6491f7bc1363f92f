"""A Sphinx extension of the book: the execution cache is thrown away when anything it cannot see has changed.

The book executes its chapters through jupyter-cache (``execute_notebooks: cache`` in ``_config.yml``), so a rebuild
with nothing changed re-runs nothing. jupyter-cache re-runs a chapter when the chapter's code changes, but not when
the library, its shipped checkpoints or the scale do. This extension fingerprints those (the package's code and
weights, the ``RESTORELIB_*`` settings, the scale and device they select, the torch version) and empties the cache
when the fingerprint differs from the one the cache was filled with.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ("RESTORELIB_PROFILE", "RESTORELIB_FAST", "RESTORELIB_DATA", "RESTORELIB_DEVICE")
STAMP = "restorelib.fingerprint"


def fingerprint(root: Path = ROOT) -> str:
    """sha256 of the package's files (code, registry, weights; not a training's ``.partial`` state) and settings."""
    import torch

    from restorelib.core.config import get_device, get_profile
    h = hashlib.sha256()
    package = root / "restorelib"
    for path in sorted(p for p in package.rglob("*") if p.is_file() and ".partial" not in p.parts
                       and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    for var in SETTINGS:
        h.update(f"{var}={os.environ.get(var, '')}\0".encode())
    h.update(f"{get_profile().name} {get_device()} {torch.__version__}".encode())
    return h.hexdigest()


def cache_folder(app) -> Path:
    """Where myst-nb keeps the cache: its setting, else ``<build>/.jupyter_cache`` (myst-nb's default)."""
    configured = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def refresh(folder: Path, current: str) -> bool:
    """Empty ``folder`` unless it was filled under ``current``; record ``current``. True when it was emptied."""
    stamp = folder / STAMP
    if stamp.is_file() and stamp.read_text() == current:
        return False
    emptied = folder.exists()
    if emptied:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return emptied


def _on_config(app, config) -> None:
    if getattr(config, "nb_execution_mode", "") == "cache":
        refresh(cache_folder(app), fingerprint())


def setup(app):
    app.connect("config-inited", _on_config, priority=100)       # before myst-nb opens the cache (builder-inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
