"""book/_ext/restorelib_cache.py: the execution cache is emptied when the library, its weights or the scale change."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("restorelib_cache", ROOT / "book" / "_ext" / "restorelib_cache.py")
cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cache)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "restorelib" / "weights" / "tools" / ".partial").mkdir(parents=True)
    (tmp_path / "restorelib" / "a.py").write_text("x = 1\n")
    (tmp_path / "restorelib" / "weights" / "tools" / "t.pt").write_bytes(b"weights")
    return tmp_path


def test_fingerprint_sees_code_weights_and_scale_but_not_a_training_state(tree, monkeypatch):
    base = cache.fingerprint(tree)
    (tree / "restorelib" / "weights" / "tools" / ".partial" / "noise-2.state.pt").write_bytes(b"in progress")
    assert cache.fingerprint(tree) == base
    (tree / "restorelib" / "weights" / "tools" / "t.pt").write_bytes(b"retrained")
    retrained = cache.fingerprint(tree)
    assert retrained != base
    (tree / "restorelib" / "a.py").write_text("x = 2\n")
    assert cache.fingerprint(tree) != retrained
    edited = cache.fingerprint(tree)
    monkeypatch.setenv("RESTORELIB_FAST", "1")                    # CI scale and book scale never share outputs
    assert cache.fingerprint(tree) != edited


def test_refresh_empties_only_a_stale_cache(tmp_path):
    folder = tmp_path / ".jupyter_cache"
    assert cache.refresh(folder, "a") is False and (folder / cache.STAMP).read_text() == "a"
    (folder / "executed.db").write_text("outputs")
    assert cache.refresh(folder, "a") is False and (folder / "executed.db").is_file()      # unchanged: kept
    assert cache.refresh(folder, "b") is True and not (folder / "executed.db").exists()    # changed: emptied
    assert (folder / cache.STAMP).read_text() == "b"
