"""Every file restorelib and its scripts write goes through restorelib.core.atomic (issue 22: "the same for every file the
CLI and scripts write"): complete or not at all, umask honoured, temporaries cleaned; scripts check their output
flags before the work (one line, exit code 2); figures are saved the same way."""
from __future__ import annotations

import argparse
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from restorelib.core import atomic

ROOT = Path(__file__).resolve().parents[1]

#: Direct writes: Path.write_text / write_bytes, open(..., "w"/"a"), savefig, nbformat.write, np.save, and torch.save
#: to anything but the open file object of an atomic write (``f``) or a buffer (``buf``).
DIRECT = re.compile(r"(?<!atomic)\.write_(text|bytes)\(|\bopen\([^)]*['\"][wax]b?\+?['\"]|\.savefig\(|"
                    r"nbformat\.write\(|\bnp\.save\w*\(|torch\.save\((?!.*,\s*(f|buf)\)\s*$)")

#: Writers not routed through restorelib.core.atomic yet, each with the reason (remove an entry once it is).
KNOWN = {
    "restorelib/core/atomic.py": "the atomic writer itself",
    "scripts/check_explorer.py": "the headless browser's log stream and screenshots under _build/ (diagnostics)",
}


def direct_writes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted([*ROOT.glob("restorelib/**/*.py"), *ROOT.glob("scripts/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if DIRECT.search(code) and not code.lstrip().startswith(('"', "'")):
                found.setdefault(rel, []).append(f"{n}: {line.strip()}")
    return found


def test_every_writer_goes_through_restorelib_atomic():
    found = direct_writes()
    unexpected = {k: v for k, v in found.items() if k not in KNOWN}
    assert not unexpected, f"write these through restorelib.core.atomic (write_text/write_bytes/atomic_open): {unexpected}"


def test_the_scan_finds_direct_writes(tmp_path):
    """The pattern catches each kind of direct write and lets the atomic ones pass."""
    bad = ['p.write_text("x")', '(d / "a").write_bytes(b)', 'open(p, "w")', "open(p, 'ab')", 'fig.savefig(p)',
           "nbformat.write(nb, p)", "np.save(p, a)", "torch.save(state, path)"]
    good = ['write_text(p, "x", overwrite=True)', "atomic.write_text(p, t)", "torch.save(obj, f)",
            "torch.save({k: v for k, v in sd.items()}, buf)", 'open(p, "rb")', "atomic.save_figure(fig, p)"]
    assert all(DIRECT.search(s) for s in bad) and not any(DIRECT.search(s) for s in good)


def test_known_writers_are_still_writers():
    """An entry of KNOWN whose file no longer writes directly must go (the list does not hide fixed files)."""
    found = direct_writes()
    assert [k for k in KNOWN if k not in found and k != "restorelib/core/atomic.py"] == []


# ----------------------------------------------------------------------------- the scripts' output checks
def test_exit_unless_writable_is_one_line_with_exit_2(tmp_path, capsys, unwritable_dir):
    ap = argparse.ArgumentParser(prog="tool.py")
    atomic.exit_unless_writable(ap, "--out", None)                   # not given: nothing to check
    atomic.exit_unless_writable(ap, "--out", tmp_path / "new.json")
    (tmp_path / "old.json").write_text("keep")
    atomic.exit_unless_writable(ap, "--out", tmp_path / "old.json", overwrite=True)
    cases = [(tmp_path / "old.json", False, "exists; pass --force"), (tmp_path, True, "is a folder"),
             (tmp_path / "no" / "x.json", True, "does not exist"), (unwritable_dir / "x.json", True, "not writable")]
    for path, overwrite, needle in cases:
        with pytest.raises(SystemExit) as e:
            atomic.exit_unless_writable(ap, "--out", path, overwrite=overwrite)
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1 and err.startswith("tool.py: error: --out: "), err
        assert needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"] and (tmp_path / "old.json").read_text() == "keep"


def run_script(script: str, *args: object) -> subprocess.CompletedProcess:
    extra = ["--offline"] if script == "make_report.py" else []        # the report must not start evaluations
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args), *extra],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("script, flag", [("fit_niqe.py", "--out"), ("time_pixelrl_color.py", "--out"),
                                          ("make_report.py", "--out"), ("eval_baselines.py", "--out")])
def test_scripts_refuse_a_folder_as_output_before_the_work(script, flag, tmp_path):
    (tmp_path / "d").mkdir()
    p = run_script(script, flag, tmp_path / "d")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"{flag}: " in p.stderr and "is a folder" in p.stderr and p.stdout == ""
    assert [q.name for q in tmp_path.iterdir()] == ["d"] and list((tmp_path / "d").iterdir()) == []


@pytest.mark.parametrize("script", ["time_pixelrl_color.py", "make_report.py"])
def test_scripts_refuse_a_missing_folder_before_the_work(script, tmp_path):
    p = run_script(script, "--out", tmp_path / "missing" / "out.json")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--out: folder" in p.stderr, p.stderr
    assert "does not exist" in p.stderr and list(tmp_path.iterdir()) == []


def test_make_folder_creates_the_folder_or_says_why(tmp_path, unwritable_dir):
    atomic.check_writable(tmp_path / "a" / "b" / "o.json", make_folder=True)
    assert (tmp_path / "a" / "b").is_dir() and list((tmp_path / "a" / "b").iterdir()) == []
    with pytest.raises(ValueError, match="cannot create folder|not writable"):
        atomic.check_writable(unwritable_dir / "new" / "o.json", make_folder=True)


# ----------------------------------------------------------------------------- figures
def test_save_figure_is_atomic_and_honours_the_umask(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    old = os.umask(0o027)
    try:
        out = atomic.save_figure(fig, tmp_path / "f.png", overwrite=False, dpi=20)
    finally:
        os.umask(old)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and stat.S_IMODE(out.stat().st_mode) == 0o640
    with pytest.raises(FileExistsError):
        atomic.save_figure(fig, out, overwrite=False)
    atomic.save_figure(fig, tmp_path / "f.svg")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError):                                    # a format matplotlib does not know
        atomic.save_figure(fig, tmp_path / "f.nope")
    plt.close(fig)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "f.svg"]      # no temporary file left


def test_unsynced_writes_are_still_atomic(tmp_path, monkeypatch):
    """``sync=False`` (a build's many small files) skips fsync but still publishes complete files only."""
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    out = atomic.write_bytes(tmp_path / "a.jpg", b"jpeg", sync=False)
    assert out.read_bytes() == b"jpeg" and synced == [] and [p.name for p in tmp_path.iterdir()] == ["a.jpg"]
    with pytest.raises(FileExistsError):
        atomic.write_bytes(out, b"other", sync=False)
    atomic.write_bytes(tmp_path / "b.jpg", b"x")
    assert len(synced) >= 1                                             # the default flushes to disk
