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
#: What the measuring script of scripts/book_layout.py writes into a page where nothing is wider than its column.
CLEAN_LAYOUT = ('<script type="application/json" id="check-book-layout">{"column": {"element": "article", "width": 600},'
                ' "page": {"width": 1280, "window": 1280}, "past": [], "clipped": []}</script>')


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
                f'<article><div class="cell_output"><img src="fig.png"></div>{article}</article>'
                f'{CLEAN_LAYOUT}</body></html>')

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
            "not measured": html("").replace(CLEAN_LAYOUT, ""),
            "test marker shown": html('<div class="cell_input"><pre># NBVAL_CHECK_OUTPUT\nprint(1)</pre></div>'),
            "maths shown as TeX": html(r"<p>the pair \(t, d\)</p>"),
            "an empty section": html("<section><h2>Not measured yet</h2></section>"),
            "an output split": html('<div class="cell_output"><div class="output stream">a</div>'
                                    '<div class="output stream">b</div></div>'),
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


# ------------------------------------------------- the classes of defect of issue 19: each fires, and a clean page passes
def _layout():
    return _check_book().book_layout


def _article(body: str):
    from bs4 import BeautifulSoup
    return BeautifulSoup(f"<html><body><h1>T</h1><article>{body}</article></body></html>", "html.parser").article


def test_raw_math_outside_the_maths_sphinx_marks_up_is_flagged():
    bl = _layout()
    clean = _article('<p>The pair <span class="math notranslate nohighlight">\\(t, d\\)</span> is chosen.</p>'
                     '<div class="math notranslate nohighlight">\\[Q(s, a)\\]</div>'
                     '<pre>print("\\(x\\)")</pre><p>Inline <code>re.compile(r"\\(")</code>.</p>')
    assert bl.raw_math(clean) == []
    bad = _article('<section><h2>HIRL</h2><p>The agent picks \\(t, d\\) at each step.</p>'
                   '<p>Display: \\[ a = b \\]</p></section>')
    problems = bl.raw_math(bad)
    assert len(problems) == 2 and all("maths shown as TeX source" in p for p in problems), problems
    assert "\\(t, d\\)" in problems[0] and "(section 'HIRL')" in problems[0]


def test_a_heading_with_nothing_under_it_is_an_empty_section():
    bl = _layout()
    clean = _article('<section><h1>Report<a class="headerlink" href="#r">#</a></h1><p>Intro.</p>'
                     '<section><h2>Runs</h2><span id="anchor"></span><table><tr><td>1</td></tr></table></section>'
                     '<section><h2>Parts</h2><section><h3>Figure</h3><img src="f.png"></section></section></section>')
    assert bl.empty_sections(clean) == []
    bad = _article('<section><h1>Report</h1><p>Intro.</p>'
                   '<section><h2>Not measured yet<a class="headerlink" href="#n">#</a></h2>\n\n<!-- none --></section>'
                   '<section><h2>The runs</h2><p>All of them.</p><section><h3>Last</h3></section></section></section>')
    problems = bl.empty_sections(bad)
    assert len(problems) == 2, problems
    assert "'Not measured yet' (h2)" in problems[0] and "'Last' (h3)" in problems[1]
    assert all(p.startswith("an empty section") for p in problems)


def test_an_output_split_into_many_boxes_is_flagged():
    bl = _layout()

    def cell(*boxes: str) -> str:
        return ('<div class="cell"><div class="cell_input"><pre>code</pre></div><div class="cell_output">'
                + "".join(boxes) + "</div></div>")
    stream = '<div class="output stream highlight-myst-ansi"><div class="highlight"><pre>a | b</pre></div></div>'
    plain = '<div class="output text_plain highlight-myst-ansi"><div class="highlight"><pre>42</pre></div></div>'
    image = '<img src="f.png">'
    html_out = '<div class="output text_html"><table><tr><td>1</td></tr></table></div>'
    clean = _article(cell(stream) + cell(stream, image) + cell(plain) + cell(image, plain) + cell(stream, html_out))
    assert bl.split_outputs(clean) == []
    per_line = _article('<section><h2>Tools</h2>' + cell(stream, stream, stream) + '</section>')
    problems = bl.split_outputs(per_line)
    assert len(problems) == 1 and "split into 3 boxes (3 stream boxes" in problems[0] and "'Tools'" in problems[0]
    assert len(bl.split_outputs(_article(cell(stream, image, stream)))) == 1           # one stream, two boxes
    assert "1 text boxes right after another" in bl.split_outputs(_article(cell(stream, plain)))[0]


LAYOUT_PAGE = """<html><head><title>T</title><style>article {{ width: 600px }} pre {{ margin: 0 }} {style}</style></head>
<body><h1>T</h1><article><section><h2>Wide</h2>{body}</section></article></body></html>"""
LONG = "x" * 160


def test_content_wider_than_its_column_is_flagged_in_chromium(tmp_path):
    """The measuring script, run by Chromium: what scrolls in its own box passes; what is cut off fails."""
    cb = _check_book()
    chromium = cb.find_chromium(None)
    if chromium is None:
        skip_or_fail("no chromium on the PATH: apt-get install chromium")
    clean = LAYOUT_PAGE.format(style=".wrap { overflow-x: auto } pre { overflow-x: auto }", body=(
        f'<pre id="code">{LONG}</pre><div class="wrap"><table><tr><td style="white-space: nowrap">{LONG}</td></tr>'
        f'</table></div><p>{" ".join(["word"] * 300)}</p><img src="fig.png" style="max-width: 100%">'))
    bad = LAYOUT_PAGE.format(style="pre { overflow: visible }", body=(
        f'<pre id="code">{LONG}</pre><table id="wide"><tr><td style="white-space: nowrap">{LONG}</td></tr></table>'
        f'<div id="clip" style="overflow: hidden"><div style="width: 900px">the hidden part</div></div>'
        f'<div class="cell_output"><img id="big" src="fig.png" style="max-width: none; width: 1500px"></div>'))
    (tmp_path / "clean.html").write_text(clean)
    (tmp_path / "bad.html").write_text(bad)
    Image.new("RGB", (8, 8), "red").save(tmp_path / "fig.png")
    server = cb.Server(tmp_path)
    found = {}
    try:
        for name in ("clean", "bad"):
            dom, _ = cb.open_page(chromium, server.base + f"{name}.html", tmp_path / f"{name}.png", tmp_path / "p", 120)
            soup = cb.BeautifulSoup(dom, "html.parser")
            found[name], found[name + " notes"] = cb.book_layout.layout_problems(soup), cb.book_layout.layout_notes(soup)
    finally:
        server.close()
    assert found["clean"] == [], found["clean"]
    notes = found["clean notes"]                                 # scrolling is no failure, but the report says so
    assert any(n.startswith("scrolls sideways: <pre#code>") for n in notes) and len(notes) == 2, notes
    bad = found["bad"]
    assert any(p.startswith("wider than its column: <pre#code>") and "(section 'Wide')" in p for p in bad), bad
    assert any(p.startswith("wider than its column: <table#wide>") for p in bad), bad
    assert any(p.startswith("wider than its column: <img#big>") for p in bad), bad
    assert any(p.startswith("cut off: <div#clip> shows 600 of 900 px") for p in bad), bad
    assert any(p.startswith("the page is wider than the window") for p in bad), bad
    assert not any("<div#clip> reaches" in p for p in bad), bad                  # clipped, not spilling: said once
