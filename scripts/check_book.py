"""Check the built book as a reader sees it: every page opened in headless Chromium, screenshotted and inspected.

    jupyter-book build . -W -n --keep-going          # first: the HTML in _build/html
    python scripts/check_book.py [--html _build/html] [--out _build/screenshots]

The HTML is served by ``http.server`` on 127.0.0.1 (a free port, in a thread). Debian's ``chromium`` opens every
page of ``_toc.yml`` (and ``index.html``, which must redirect to the first page) with no way out of the machine:
a proxy that does not exist and a host resolver that finds nothing but 127.0.0.1. So the CDN scripts of the theme
(MathJax, require.js) do not load, and formulas show as TeX source; everything else a reader sees is checked. For
each page it keeps the DOM after the scripts ran (``--dump-dom``) and a screenshot ``OUT/<page>.png`` (1280 x 2000),
and checks that

* the page has a title and its DOM holds no ``Traceback``, no error or stderr cell output, no docutils error;
* no local file it asked the server for was missing (404);
* every ``<img>`` resolves to a served file that Pillow opens, with a non-zero size, and no cell output is the text of
  a figure that was never drawn (``<Figure size 640x480 with 1 Axes>``) or an ipywidgets view, which no kernel runs
  in the book; a chapter shows at least one figure;
* the screenshot is a valid PNG of the window's size and not blank (more than one colour);
* nothing is wider than its column (a code line, table, output or figure cut off at the right edge, with no scroll
  bar of its own), no maths is shown as raw TeX (``\\(`` in the text), no section is empty, and no cell's output is
  split into many boxes (see ``scripts/book_layout.py``, whose script the server adds to every page it sends);
* the Colab launch links (``a`` with ``colab.research.google.com``) are well-formed and point at the chapter's own
  notebook, ``notebooks/<chapter>.ipynb`` in the repository and branch of ``_config.yml``; a chapter has one.

It prints one line per page and exits 1 if any check failed (2 when the build or Chromium is missing).
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import yaml
from bs4 import BeautifulSoup
from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import book_layout  # noqa: E402 -- the layout and markup checks, beside this script

WINDOW = (1280, 2000)
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-domain-reliability", "--no-pings",
    # nothing outside loopback: a proxy that refuses every connection (loopback bypasses proxies), and a resolver
    # that resolves no name and no address but 127.0.0.1
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=5000",
]
ERROR_OUTPUTS = (".output.stderr, .output.error, .output.traceback, .output_stderr, .output_error, .traceback, "
                 ".ename, .evalue, .system-message, .problematic")
UNDRAWN_FIGURE = re.compile(r"<Figure size \d+(\.\d+)?x\d+(\.\d+)? with \d+ Axes>")


def toc_pages(toc: dict) -> list[str]:
    """The pages of the book in the order of ``_toc.yml`` (paths without suffix): the root, then every ``file``."""
    def files(node) -> list[str]:
        if isinstance(node, dict):
            return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in files(v)]
        return [f for v in node for f in files(v)] if isinstance(node, list) else []
    return [toc["root"]] + [f for f in files({k: v for k, v in toc.items() if k != "root"}) if f != toc["root"]]


def expected_colab(page: str, config: dict) -> str:
    repo = config["repository"]
    org, name = urlsplit(repo["url"]).path.strip("/").split("/")[:2]
    book = repo.get("path_to_book", "").strip("/")
    return (f"{config['launch_buttons']['colab_url'].rstrip('/')}/github/{org}/{name}/blob/{repo['branch']}/"
            f"{book + '/' if book else ''}{page}.ipynb")


class Server:
    """``http.server`` for the built HTML on 127.0.0.1, in a thread; remembers the paths answered with an error."""

    def __init__(self, html: Path) -> None:
        self.errors: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):       # quiet, but keep the failures
                if str(code).isdigit() and int(code) >= 400 and self.path != "/favicon.ico":   # the browser's own
                    server.errors.append(f"{code} {unquote(self.path)}")

            def log_message(self, *args):
                pass

            def do_GET(self):                                 # a page gets the measuring script (book_layout.py)
                path = Path(self.translate_path(self.path))
                if path.suffix != ".html" or not path.is_file():
                    return super().do_GET()
                body = book_layout.inject(path.read_bytes())
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(html)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def open_page(chromium: str, url: str, png: Path, profile: Path, timeout: float) -> tuple[str, str]:
    """Chromium's DOM of ``url`` after its scripts ran, and its stderr; writes the screenshot to ``png``."""
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", "--dump-dom", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.stdout, p.stderr


def check_image(src: str, page_url: str, server: Server, html: Path) -> str | None:
    """None when the image ``src`` of the page is a served, readable, non-empty image; else what is wrong."""
    if src.startswith("data:"):
        head, _, data = src.partition(",")
        raw = base64.b64decode(data) if head.endswith(";base64") else unquote(data).encode()
        if "svg" in head:
            return None if b"<svg" in raw else f"inline SVG without <svg>: {src[:60]}"
        return _readable(raw, src[:60])
    url = urlsplit(urljoin(page_url, src))
    if f"{url.scheme}://{url.netloc}/" != server.base:
        return f"image from outside the book: {src}"
    path = (html / unquote(url.path).lstrip("/")).resolve()
    if html.resolve() not in path.parents or not path.is_file():
        return f"image not in the build: {src}"
    raw = path.read_bytes()
    if path.suffix.lower() == ".svg":
        return None if b"<svg" in raw else f"SVG without <svg>: {src}"
    return _readable(raw, src)


def _readable(raw: bytes, name: str) -> str | None:
    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            if im.width < 1 or im.height < 1:
                return f"empty image: {name}"
    except Exception as err:                           # noqa: BLE001 -- whatever Pillow cannot read is a failure
        return f"unreadable image {name}: {err}"
    return None


def check_screenshot(png: Path) -> str | None:
    if not png.is_file():
        return "no screenshot written"
    try:
        with Image.open(png) as im:
            im.load()
            if im.format != "PNG" or im.size != WINDOW:
                return f"screenshot is {im.format} {im.size}, expected PNG {WINDOW}"
            if max(ImageStat.Stat(im.convert("L")).stddev) < 1.0 or im.convert("RGB").getcolors(4) is not None:
                return "screenshot is blank (a single colour, or almost)"
    except Exception as err:                           # noqa: BLE001
        return f"screenshot is not a valid PNG: {err}"
    return None


def check_page(page: str, dom: str, url: str, server: Server, html: Path,
               config: dict) -> tuple[list[str], str, list[str]]:
    """The problems of a page (its DOM after Chromium ran it), a one-line summary, and notes that are no failure."""
    soup = BeautifulSoup(dom, "html.parser")
    problems, notebook = [], (ROOT / page).with_suffix(".ipynb").is_file()
    body = soup.body
    if body is None or not dom.strip():
        return ["Chromium returned no DOM"], "", []
    if not (soup.title and soup.title.get_text(strip=True)) or not body.find("h1"):
        problems.append("no title or no <h1>")
    main = soup.select_one("article") or body
    text = main.get_text(" ")
    if "Traceback" in text:
        problems.append("a Traceback is shown")
    for el in main.select(ERROR_OUTPUTS):
        problems.append(f"error output <{el.name} class={' '.join(el.get('class', []))}>: "
                        f"{el.get_text(' ', strip=True)[:80]!r}")
    for m in re.finditer(r"#\s*NBVAL_\w+", text):
        problems.append(f"a test marker shown to readers: {m[0]!r} (use the cell tag, e.g. nbval-check-output)")
    for m in UNDRAWN_FIGURE.finditer(text):
        problems.append(f"a figure was not drawn: {m[0]}")
    problems += book_layout.layout_problems(soup)
    problems += book_layout.raw_math(main)
    problems += book_layout.empty_sections(main)
    problems += book_layout.split_outputs(main)
    if main.select('script[type="application/vnd.jupyter.widget-view+json"]'):
        problems.append("an ipywidgets view in an output: no kernel runs behind the book, show a static figure")
    images = body.find_all("img")
    for img in images:
        src = img.get("src") or ""
        why = check_image(src, url, server, html) if src else "an <img> without src"
        if why:
            problems.append(why)
    figures = [i for i in main.select(".cell_output img, .output img")]
    if notebook and not figures:
        problems.append("a chapter without a single figure in its outputs")
    links = [a["href"] for a in body.find_all("a", href=True) if "colab.research.google.com" in a["href"]]
    for href in links:
        parts = urlsplit(href)
        if parts.scheme != "https" or parts.netloc != "colab.research.google.com" or parts.query or parts.fragment:
            problems.append(f"malformed Colab link {href}")
        elif href != expected_colab(page, config):
            problems.append(f"Colab link {href} does not point at {expected_colab(page, config)}")
        elif not notebook:
            problems.append(f"Colab link on a page without a notebook: {href}")
    if notebook and not links:
        problems.append("no Colab launch link")
    external = sorted({t.get("src") or t.get("href") for t in soup.find_all(["script", "link"])
                       if re.match(r"https?://", t.get("src") or t.get("href") or "")
                       and "127.0.0.1" not in (t.get("src") or t.get("href"))})
    notes = book_layout.layout_notes(soup)
    summary = (f"{len(images)} images ({len(figures)} figures), {len(links)} Colab link(s)"
               + (f", {len(external)} external scripts/styles not loaded" if external else "")
               + (f", {len(notes)} boxes scroll sideways" if notes else ""))
    return problems, summary, notes


def find_chromium(name: str | None) -> str | None:
    for candidate in ([name] if name else [os.environ.get("CHROMIUM"), "chromium", "chromium-browser"]):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book (default _build/html)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots", help="where screenshots go")
    ap.add_argument("--chromium", help="the browser to run (default: chromium on the PATH, or $CHROMIUM)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds allowed per page")
    ap.add_argument("--notes", action="store_true",
                    help="also list what is no failure: the boxes whose content scrolls sideways")
    args = ap.parse_args(argv)
    html = args.html.resolve()
    if not (html / "index.html").is_file():
        print(f"error: no built book in {html}: run `jupyter-book build .` first", file=sys.stderr)
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("error: chromium not found: apt-get install chromium (or pass --chromium)", file=sys.stderr)
        return 2
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    pages = toc_pages(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    server = Server(html)
    try:
        index = (html / "index.html").read_text()
        root_ok = re.search(rf'http-equiv="Refresh"[^>]*url={re.escape(pages[0])}\.html', index, re.I)
        print(f"{'OK  ' if root_ok else 'FAIL'} index.html: {'redirects to ' + pages[0] if root_ok else 'no redirect'}")
        failures += not root_ok
        with tempfile.TemporaryDirectory(prefix="check-book-") as profile:
            for page in pages:
                t0 = time.perf_counter()
                url, png = server.base + page + ".html", args.out.resolve() / (page.replace("/", "_") + ".png")
                png.unlink(missing_ok=True)
                server.errors.clear()
                notes: list[str] = []
                if not (html / f"{page}.html").is_file():
                    problems, summary = [f"{page}.html was not built"], ""
                else:
                    try:
                        dom, _ = open_page(chromium, url, png, Path(profile), args.timeout)
                        problems, summary, notes = check_page(page, dom, url, server, html, config)
                    except subprocess.TimeoutExpired:
                        problems, summary = [f"Chromium did not finish in {args.timeout:.0f} s"], ""
                    shot = check_screenshot(png)
                    problems += [shot] if shot else []
                    problems += [f"missing file {e}" for e in server.errors]
                failures += bool(problems)
                rel = png.relative_to(Path.cwd()) if Path.cwd() in png.resolve().parents else png
                print(f"{'FAIL' if problems else 'OK  '} {page}: {summary}; {rel} ({time.perf_counter() - t0:.1f} s)"
                      + "".join(f"\n     - {p}" for p in problems)
                      + ("".join(f"\n     note: {n}" for n in notes) if args.notes else ""))
    finally:
        server.close()
    print(f"{len(pages) + 1 - failures} of {len(pages) + 1} pages passed; screenshots in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
