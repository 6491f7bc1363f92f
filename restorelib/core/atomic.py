"""Writing files atomically: a file appears under its name complete, or not at all (the CLI's outputs, downloads).

:func:`atomic_open` writes to a temporary file beside the target, flushes it to disk and only then puts it in place:

* without ``overwrite`` it is *hard-linked* to the name, which fails atomically when the name is taken, so a file
  created meanwhile (another run writing the same output) is never clobbered: :class:`FileExistsError`;
* with ``overwrite`` it is renamed over the name (``os.replace``, atomic on POSIX and Windows).

New files get the permissions the umask allows (as ``open()`` gives them); a replaced file keeps its mode. On any
error, ``KeyboardInterrupt`` included, the temporary file is removed. A process killed outright (``SIGKILL``) leaves
its temporary file, never a partial target; the temporary names carry the writer's process id, and the next write
of the same target removes those whose process is gone. :func:`check_writable` tells before any work whether a
target can be written (:func:`check_output`, :func:`exit_unless_writable`: the same as a one-line error naming the
command's flag); :func:`save_figure` writes a Matplotlib figure the same way; :func:`terminate_cleanly` makes
``SIGTERM`` remove the temporary files as Ctrl-C does.
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import secrets
import signal
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

if TYPE_CHECKING:
    import argparse

#: ``os.link`` errors of file systems without hard links (FAT, some network shares): fall back to claiming the name.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}


def temp_path(path: Path, suffix: str = ".tmp") -> Path:
    """A fresh temporary name beside ``path``: ``NAME.PID-RANDOM`` + ``suffix``."""
    return path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                       # e.g. another user's process: it exists
        return True
    return True


def sweep_stale(path: Path, suffix: str = ".tmp") -> list[Path]:
    """Remove the temporary files of ``path`` (see :func:`temp_path`) left by processes that no longer run.

    Only on POSIX (where a process id can be probed without side effects). Returns the files removed.
    """
    if os.name != "posix" or not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)-[0-9a-f]{8}" + re.escape(suffix) + "$")
    removed = []
    for p in path.parent.iterdir():
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _create(tmp: Path) -> int:
    # 0o666 & ~umask, as open() would create it; O_EXCL: never write into someone else's file
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))          # a replaced file keeps its permissions
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)                                             # fails atomically if the name is taken
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists (it appeared while this ran); not overwritten", str(path)) from None
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))   # claim the name, then fill it
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    if os.name == "posix":
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, *, overwrite: bool = False, suffix: str = ".tmp",
                sync: bool = True) -> Iterator[BinaryIO]:
    """Open a binary file to write ``path`` atomically (module docstring); it is put in place when the block ends.

    An exception in the block (or while publishing) removes the temporary file and leaves ``path`` as it was.
    Raises :class:`FileExistsError` when ``path`` exists (or appears meanwhile) and ``overwrite`` is False, and
    :class:`IsADirectoryError` when ``path`` is a folder. ``sync=False`` skips the flushes to disk (``fsync``,
    ~16 ms a file on the book's machine): still complete-or-nothing when the process dies, not after a power cut;
    for many small files that a build regenerates.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "exists; not overwritten", str(path))
    sweep_stale(path, suffix)
    tmp = temp_path(path, suffix)
    fd = _create(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        _publish(tmp, path, overwrite)
        if sync:
            _sync_folder(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_bytes(path: str | Path, data: bytes, *, overwrite: bool = False, sync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`); returns the path."""
    with atomic_open(path, overwrite=overwrite, sync=sync) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_open`); returns the path."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def check_writable(path: str | Path, *, overwrite: bool = False, make_folder: bool = False) -> None:
    """Raise ``ValueError`` (one line, naming ``path``) unless :func:`atomic_open` could write ``path`` now.

    Checks that the folder exists and takes a new file (by creating and removing a temporary one, which is what the
    write will do) and that ``path`` is not a folder; without ``overwrite``, :class:`FileExistsError` when ``path``
    exists. ``make_folder`` first creates a missing folder (and its parents), for outputs whose folder is made.
    """
    path = Path(path)
    folder = path.parent
    if make_folder and not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"cannot create folder {str(folder)!r} ({e.strerror or type(e).__name__})") from None
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; name a file")
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(errno.EEXIST, "exists", str(path))
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist")
    tmp = temp_path(path)
    try:
        os.close(_create(tmp))
    except OSError as e:
        raise ValueError(f"folder {str(folder)!r} is not writable ({e.strerror or type(e).__name__})") from None
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def check_output(flag: str, path: str | Path, *, overwrite: bool = False, make_folder: bool = False) -> None:
    """Raise ``ValueError`` with a one-line message that names ``flag`` unless ``path`` can be written now.

    The check a command makes of each output it will write, before any work (:func:`check_writable`): an existing
    file without ``overwrite`` says to pass ``--force``. Scripts turn the error into exit code 2 with
    :func:`exit_unless_writable`.
    """
    try:
        check_writable(path, overwrite=overwrite, make_folder=make_folder)
    except FileExistsError:
        raise ValueError(f"{flag}: {str(path)!r} exists; pass --force to overwrite it") from None
    except ValueError as e:
        raise ValueError(f"{flag}: {e}") from None


def exit_unless_writable(parser: argparse.ArgumentParser, flag: str, path: str | Path | None, *,
                         overwrite: bool = False, make_folder: bool = False) -> None:
    """A script's check of an output flag before its work: one line on stderr and exit code 2 when
    :func:`check_output` refuses ``path`` (``None``: the flag was not given, nothing to check)."""
    if path is None:
        return
    try:
        check_output(flag, path, overwrite=overwrite, make_folder=make_folder)
    except ValueError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")


def save_figure(fig: object, path: str | Path, *, overwrite: bool = True, **savefig_kw: object) -> Path:
    """``fig.savefig`` (a Matplotlib figure) to ``path`` atomically; the format is the file's suffix."""
    path = Path(path)
    fmt = savefig_kw.pop("format", None) or path.suffix.lstrip(".").lower() or None
    with atomic_open(path, overwrite=overwrite) as f:
        fig.savefig(f, format=fmt, **savefig_kw)
    return path


def json_ready(obj: object, where: str = "") -> tuple[object, list[str]]:
    """``obj`` with every NaN or infinite float replaced by None (strict JSON has no NaN), and where each one was
    (``"a.b[2]"``), for files that strict JSON readers must read (the command line's ``--json``)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None, [where or "(top)"]
    if isinstance(obj, dict):
        pairs = [(k, json_ready(v, f"{where}.{k}" if where else str(k))) for k, v in obj.items()]
        return {k: v for k, (v, _) in pairs}, [w for _, (_, ws) in pairs for w in ws]
    if isinstance(obj, (list, tuple)):
        items = [json_ready(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return [v for v, _ in items], [w for _, ws in items for w in ws]
    return obj, []


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """While the block runs, SIGTERM raises SystemExit (exit 143), so temporary files are removed as on Ctrl-C (the
    command line's commands run in it). Outside the main thread, or without SIGTERM, it does nothing."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
