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


def _time_book():
    spec = importlib.util.spec_from_file_location("time_book", ROOT / "scripts" / "time_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_book_reads_chapter_seconds_from_the_cache_and_renders_the_table(tmp_path):
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    tb = _time_book()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", execution_count=1)])
    store = get_cache(tmp_path / "_build" / ".jupyter_cache")
    store.cache_notebook_bundle(CacheBundleIn(nb, str(tmp_path / "notebooks" / "04_x.ipynb"),
                                              data={"execution_seconds": 93.04}), check_validity=False)
    (pk, seconds), = tb.cached(tmp_path).values()
    assert list(tb.cached(tmp_path)) == ["04_x.ipynb"] and seconds == 93.0
    entry = {"commit": "0123456789abcdef", "date": "2026-12-03", "hardware": "a CPU, 2 cores", "load_before": 0.5,
             "chapters": {"04_x.ipynb": seconds}, "first_seconds": 1500.0, "rebuild_seconds": 41.0}
    table = tb.render_table({"book": entry}).splitlines()
    assert table[2] == "| 04_x | 93 s |" and table[3] == "| **whole build** | **25.0 min** |"
    assert table[4] == "| rebuild, nothing changed | 41 s |" and "`0123456789`" in table[-1]


def test_time_book_refuses_a_bad_out_before_any_build(tmp_path, capsys):
    tb = _time_book()
    for out, message in ((tmp_path / "t.txt", "--out must be a .json file"), (tmp_path / "x.json", "not JSON")):
        if out.suffix == ".json":
            out.write_text("{")
        with pytest.raises(SystemExit) as e:
            tb.main(["--scale", "book", "--out", str(out)])
        assert e.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "table.md").exists() and (tmp_path / "x.json").read_text() == "{"
