"""The rendered book as a reader sees it: scripts/check_book.py on the built HTML, in headless Chromium.

It needs a build that is newer than the chapters (``jupyter-book build .``, which .ci/run does first) and Debian's
``chromium``. Without either the test is skipped, unless ``RESTORELIB_REQUIRE_BROWSER=1`` (set by .ci/run), where a
missing or stale build, or a missing browser, fails it. Screenshots go to ``_build/screenshots``.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
REQUIRED = os.environ.get("RESTORELIB_REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (RESTORELIB_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def stale_pages() -> list[str]:
    """Sources of the table of contents that are newer than their built page (or were never built)."""
    toc = (ROOT / "_toc.yml").read_text()
    stale = []
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md")):
        page = src.relative_to(ROOT).with_suffix("")
        if f"file: {page.as_posix()}" not in toc and f"root: {page.as_posix()}" not in toc:
            continue
        built = HTML / page.with_suffix(".html")
        if not built.is_file() or built.stat().st_mtime < src.stat().st_mtime:
            stale.append(page.as_posix())
    return stale


def test_book_pages_render_in_chromium():
    if not (HTML / "index.html").is_file():
        skip_or_fail(f"no built book in {HTML}: run `jupyter-book build .` first")
    stale = stale_pages()
    if stale:
        skip_or_fail(f"the built book is older than {', '.join(stale)}: rebuild it with `jupyter-book build .`")
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        skip_or_fail("no chromium on the PATH: apt-get install chromium")
    out = ROOT / "_build" / "screenshots"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_book.py"), "--html", str(HTML), "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    print(p.stdout)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr[-2000:]}"
    lines = p.stdout.strip().splitlines()
    assert "pages passed" in lines[-1] and yaml.safe_load((ROOT / "_toc.yml").read_text())["root"] in p.stdout
    assert all(line.startswith("OK") for line in lines[:-1]), p.stdout


# ------------------------------------------------------------- the checks themselves, on pages made up here (no browser)
def _check_book():
    spec = importlib.util.spec_from_file_location("check_book", ROOT / "scripts" / "check_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_cannot_leave_loopback():
    flags = _check_book().CHROMIUM_FLAGS
    assert "--proxy-server=127.0.0.1:9" in flags
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" in flags
    assert "--headless" in flags


def test_check_page_sees_what_a_reader_would_see(tmp_path):
    cb = _check_book()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    page = "notebooks/01_degradations"
    (tmp_path / "notebooks").mkdir()
    Image.new("RGB", (8, 8), "red").save(tmp_path / "notebooks" / "fig.png")
    (tmp_path / "notebooks" / "broken.png").write_bytes(b"not a png")
    link = cb.expected_colab(page, config)
    assert link == "https://colab.research.google.com/github/restorelib/restorelib/blob/main/notebooks/01_degradations.ipynb"

    def html(article: str, colab: str = link) -> str:
        return (f'<html><head><title>T</title></head><body><h1>T</h1><a href="{colab}">Colab</a>'
                f'<article><div class="cell_output"><img src="fig.png"></div>{article}</article></body></html>')

    server = cb.Server(tmp_path)
    try:
        url = server.base + page + ".html"
        assert cb.check_page(page, html(""), url, server, tmp_path, config)[0] == []
        bad = {
            "Traceback": html("<pre>Traceback (most recent call last):</pre>"),
            "error output": html('<div class="output stderr">oops</div>'),
            "image not in the build": html('<img src="missing.png">'),
            "unreadable image": html('<img src="broken.png">'),
            "image from outside": html('<img src="https://example.com/x.png">'),
            "not drawn": html("<pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre>"),
            "ipywidgets": html('<script type="application/vnd.jupyter.widget-view+json">{}</script>'),
            "does not point at": html("", link.replace("01_degradations", "02_toolbox")),
            "malformed Colab link": html("", "http://colab.research.google.com/x"),
        }
        for why, dom in bad.items():
            problems = cb.check_page(page, dom, url, server, tmp_path, config)[0]
            assert any(why in p for p in problems), (why, problems)
        no_link = html("").replace(f'<a href="{link}">Colab</a>', "")
        assert "no Colab launch link" in cb.check_page(page, no_link, url, server, tmp_path, config)[0]
    finally:
        server.close()
    Image.new("RGB", cb.WINDOW, "white").save(tmp_path / "blank.png")
    assert "blank" in cb.check_screenshot(tmp_path / "blank.png")
    assert "valid PNG" in cb.check_screenshot(tmp_path / "notebooks" / "broken.png")
