"""restorelib.core.atomic: complete or nothing, never over a file that appeared meanwhile, umask and mode, no leftovers,
and crash safety (a writer killed mid-write leaves the old file or nothing, never a partial one)."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from restorelib.core import atomic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask():
    """Set the umask for one test and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_new_file_and_refuse_an_existing_one(tmp_path):
    out = tmp_path / "o.txt"
    atomic.write_text(out, "first")
    assert out.read_text() == "first"
    with pytest.raises(FileExistsError):
        atomic.write_text(out, "second")
    assert out.read_text() == "first"
    atomic.write_text(out, "third", overwrite=True)
    assert out.read_text() == "third" and sorted(p.name for p in tmp_path.iterdir()) == ["o.txt"]


def test_a_file_created_while_writing_is_not_clobbered(tmp_path):
    out = tmp_path / "o.png"
    with pytest.raises(FileExistsError, match="appeared while this ran"):
        with atomic.atomic_open(out) as f:
            f.write(b"ours")
            out.write_bytes(b"theirs")                 # another process takes the name meanwhile
    assert out.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]      # and our temporary file is gone


def test_two_writers_of_the_same_new_file_one_wins(tmp_path):
    out, barrier, results = tmp_path / "same.json", threading.Barrier(2), {}

    def writer(name: str) -> None:
        try:
            with atomic.atomic_open(out) as f:
                f.write(name.encode())
                barrier.wait(timeout=10)               # both have checked and written before either publishes
            results[name] = "ok"
        except FileExistsError:
            results[name] = "exists"

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results.values()) == ["exists", "ok"]
    winner = next(k for k, v in results.items() if v == "ok")
    assert out.read_text() == winner and sorted(p.name for p in tmp_path.iterdir()) == ["same.json"]


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic.write_bytes(tmp_path / "n.bin", b"x")
    assert mode(tmp_path / "n.bin") == expected


def test_overwrite_keeps_the_mode_of_the_replaced_file(tmp_path, umask):
    umask(0o077)
    out = tmp_path / "keep.txt"
    out.write_text("old")
    out.chmod(0o644)
    atomic.write_text(out, "new", overwrite=True)
    assert out.read_text() == "new" and mode(out) == 0o644


def test_errors_leave_no_temporary_file(tmp_path):
    out = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(out) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_open(out, overwrite=True) as f:
            f.write(b"half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic.write_text(tmp_path / "d", "x", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"] and list((tmp_path / "d").iterdir()) == []


def test_check_writable(tmp_path):
    atomic.check_writable(tmp_path / "new.png")
    (tmp_path / "old.png").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        atomic.check_writable(tmp_path / "old.png")
    atomic.check_writable(tmp_path / "old.png", overwrite=True)
    with pytest.raises(ValueError, match="is a folder"):
        atomic.check_writable(tmp_path, overwrite=True)
    with pytest.raises(ValueError, match="does not exist"):
        atomic.check_writable(tmp_path / "no" / "o.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]          # the probe left nothing


def test_check_writable_unwritable_folder(unwritable_dir):
    with pytest.raises(ValueError, match="is not writable"):
        atomic.check_writable(unwritable_dir / "out.png")


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from restorelib.core import atomic
    out, overwrite = Path(sys.argv[1]), sys.argv[2] == "1"
    with atomic.terminate_cleanly():
        with atomic.atomic_open(out, overwrite=overwrite) as f:
            f.write(b"partial" * 1000)
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
            f.write(b"never")
""")


def start_writer(out: Path, overwrite: bool) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(out), "1" if overwrite else "0"], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    return p


@pytest.mark.parametrize("old", [None, b"the old, complete file"])
def test_a_writer_killed_mid_write_leaves_the_old_file_or_nothing(tmp_path, old):
    out = tmp_path / "result.json"
    if old is not None:
        out.write_bytes(old)
    p = start_writer(out, overwrite=old is not None)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=20)
    assert (out.read_bytes() == old) if old is not None else not out.exists()     # never the partial bytes
    stale = [q for q in tmp_path.iterdir() if q != out]
    assert len(stale) == 1 and stale[0].name.startswith("result.json.")   # only the dead writer's temporary file
    atomic.write_text(out, "next", overwrite=True)                      # the next write of the name sweeps it
    assert out.read_text() == "next" and sorted(tmp_path.iterdir()) == [out]


def test_sigterm_mid_write_removes_the_temporary_file(tmp_path):
    out = tmp_path / "o.png"
    p = start_writer(out, overwrite=False)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_sweep_keeps_live_writers_files(tmp_path):
    out = tmp_path / "f.txt"
    mine = atomic.temp_path(out)
    mine.write_text("in progress")                                     # this process is alive
    dead = out.with_name(f"f.txt.{2**22 + 12345}-0123abcd.tmp")        # a pid above Linux's pid_max: not running
    dead.write_text("left by a killed writer")
    other = tmp_path / "g.txt.1-0123abcd.tmp"                          # another target's: not ours to sweep
    other.write_text("x")
    assert atomic.sweep_stale(out) == [dead]
    assert mine.exists() and other.exists()
