"""Click the book's static toolchain explorer in headless Chromium and check that what it shows follows the clicks.

    jupyter-book build .                               # first: the HTML in _build/html (the page book/explorer)
    python scripts/check_explorer.py [--html _build/html] [--page book/explorer] [--out _build/screenshots]

The HTML is served by ``http.server`` on 127.0.0.1 (a free port, in a thread). Debian's ``chromium`` runs headless
with no way out of the machine (a proxy that does not exist and a host resolver that finds nothing but 127.0.0.1, as
in scripts/check_book.py) and is driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``: no
debugging port is opened, no Python package is needed). Clicks are mouse events at the button's place on the screen,
as a reader's. The script checks that

* the widget is drawn (``data-ready="1"``) and shows the input of the first case with its PSNR from ``index.json``;
* each click (a first tool, a second tool, *stop*, the agent's *show*, another photo and distortion, a cell of the
  grid) changes the shown chain, the image's ``src`` and the PSNR text to the index's entry for that chain, and the
  new image loads in the page and is a served file that Pillow reads;
* no script error was raised, no request left 127.0.0.1, and no file the page asked for was missing.

It prints one line per step, writes a screenshot ``OUT/explorer.png``, and exits 0 when all passed, 1 when a check
failed, 2 when the build or Chromium is missing.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import http.server
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urljoin

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
#: Headless, and nothing outside loopback: the same network flags as scripts/check_book.py's CHROMIUM_FLAGS.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-domain-reliability", "--no-pings",
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1800",
]
STATE_JS = """(function () {
  var root = document.querySelector('.rx-explorer'), img = root && root.querySelector('img.rx-current');
  var psnr = root && root.querySelector('.rx-psnr');
  return root && {ready: root.getAttribute('data-ready'), chain: root.getAttribute('data-chain'),
    src: img ? img.getAttribute('src') : null, complete: img ? img.complete : false,
    width: img ? img.naturalWidth : 0, psnr: psnr ? psnr.textContent : null};
})()"""


class Server:
    """``http.server`` for ``html`` on 127.0.0.1 in a thread; remembers the paths answered with an error."""

    def __init__(self, html: Path) -> None:
        errors: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                if str(code).isdigit() and int(code) >= 400 and self.path != "/favicon.ico":
                    errors.append(f"{code} {unquote(self.path)}")

            def log_message(self, *args):
                pass

        self.errors = errors
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(html)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe: JSON messages ending in a NUL byte, written to
    the browser's fd 3 and read from its fd 4."""

    def __init__(self, chromium: str, profile: Path, log: Path) -> None:
        child_in, self._out = os.pipe()
        self._in, child_out = os.pipe()

        def plumb() -> None:                              # in the child: its ends of the pipes as fds 3 and 4
            a, b = fcntl.fcntl(child_in, fcntl.F_DUPFD, 10), fcntl.fcntl(child_out, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._log = open(log, "wb")
        cmd = [chromium, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     close_fds=False, preexec_fn=plumb)
        os.close(child_in)
        os.close(child_out)
        self._buffer, self._id, self.events, self.session = b"", 0, [], None
        self.step_timeout = 20.0                          # seconds a click has to show its result

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (see its log)")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0, browser: bool = False) -> dict:
        """One DevTools command (to the attached page unless ``browser``); its result. Events are kept."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def open(self, url: str) -> None:
        targets = self.send("Target.getTargets", browser=True)["targetInfos"]
        page = next((t["targetId"] for t in targets if t["type"] == "page"), None)
        if page is None:
            page = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": page, "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float | None = None):
        timeout = self.step_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"still false after {timeout:.0f} s: {expression[:80]}")

    def click(self, selector: str) -> None:
        """A left click of the mouse at the centre of the element ``selector`` (scrolled into view first)."""
        box = self.evaluate(f"""(function () {{
          var el = document.querySelector({json.dumps(selector)});
          if (!el) {{ return null; }}
          el.scrollIntoView({{block: 'center'}});
          var r = el.getBoundingClientRect();
          return {{x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height}};
        }})()""")
        if not box or box["w"] <= 0 or box["h"] <= 0:
            raise RuntimeError(f"nothing visible to click at {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left",
                                                   "clickCount": 1})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))

    def errors(self, mine: str = "/_static/explorer/") -> tuple[list[str], list[str]]:
        """Script errors and console errors: (those raised by a script under ``mine``, the page's others)."""
        own, other = [], []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                text = f"script error: {d.get('exception', {}).get('description') or d.get('text')}"
                urls = [d.get("url", "")] + [f.get("url", "") for f in d.get("stackTrace", {}).get("callFrames", [])]
            elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
                text = f"console error: {' '.join(str(a.get('value')) for a in p.get('args', []))}"
                urls = [f.get("url", "") for f in p.get("stackTrace", {}).get("callFrames", [])]
            else:
                continue
            (own if any(mine in u for u in urls) else other).append(text)
        return own, other

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._in, self._out):
            os.close(fd)
        self._log.close()


def expected(index: dict, case: dict, chain: list[str]) -> tuple[str, str]:
    """The image file (relative to ``_static/explorer/``) and the PSNR text the page must show for ``chain``."""
    e = case["entries"][",".join(chain)]
    return e["src"], f"{e['psnr']:.2f} dB"


def check_shown(browser: Browser, server: Server, page_url: str, index: dict, case: dict, chain: list[str],
                before: dict | None) -> tuple[dict, list[str]]:
    """Wait until the page shows ``chain`` with its image loaded; the state and what is wrong with it."""
    key = ",".join(chain)
    try:
        state = browser.wait(f"(function () {{ var s = {STATE_JS}; return s && s.chain === {json.dumps(key)} && "
                             f"s.complete && s; }})()")
    except TimeoutError:
        return browser.evaluate(STATE_JS) or {}, [f"the page did not show the chain {key!r}"]
    src, text = expected(index, case, chain)
    problems = []
    if not state["src"].endswith("_static/explorer/" + src):
        problems.append(f"image {state['src']!r}, expected …_static/explorer/{src}")
    if state["psnr"] != text:
        problems.append(f"PSNR shown {state['psnr']!r}, expected {text!r}")
    if state["width"] <= 0:
        problems.append(f"the image {state['src']} did not load in the page")
    if before is not None and (state["src"] == before["src"] or state["psnr"] == before["psnr"]):
        problems.append(f"the click changed {'neither' if state['src'] == before['src'] else 'not'} the image"
                        f"{' nor' if state['src'] == before['src'] else ', only'} the PSNR text")
    try:
        with urllib.request.urlopen(urljoin(page_url, state["src"]), timeout=10) as r, \
                Image.open(io.BytesIO(r.read())) as im:
            im.load()
            if im.size != (index["crop"], index["crop"]):
                problems.append(f"image {src} is {im.size}, expected {index['crop']} x {index['crop']}")
    except Exception as err:                                         # noqa: BLE001 -- any failure to read counts
        problems.append(f"image {state['src']} is not a served, readable image: {err}")
    return state, problems


def clicks(index: dict) -> list[tuple[str, str, int, list[str]]]:
    """The steps: (what, selector, case to expect, chain to expect)."""
    first = index["cases"][0]
    t1 = first["best"][0] if first["best"] else index["tools"][0]
    e = first["entries"]
    t2 = next(t for t in index["tools"] if abs(e[f"{t1},{t}"]["psnr"] - e[t1]["psnr"]) > 0.02)
    cases = index["cases"]
    differs = [i for i, c in enumerate(cases) if c["photo"] != first["photo"] and c["group"] != first["group"]]
    other = (differs or [len(cases) - 1])[0]
    oc = cases[other]
    steps = [(f"1st tool {t1}", f'button[data-step="1"][data-tool="{t1}"]', 0, [t1]),
             (f"2nd tool {t2}", f'button[data-step="2"][data-tool="{t2}"]', 0, [t1, t2]),
             ("1st tool stop", 'button[data-step="1"][data-tool="stop"]', 0, [])]
    if first["agent"]:
        steps.append(("the agent's chain", 'button[data-show="agent"]', 0, first["agent"]))
        steps.append(("1st tool stop", 'button[data-step="1"][data-tool="stop"]', 0, []))
    if oc["photo"] != first["photo"]:
        same_group = next(i for i, c in enumerate(cases) if c["photo"] == oc["photo"] and c["group"] == first["group"])
        steps.append((f"photo {oc['photo']}", f'button[data-photo="{oc["photo"]}"]', same_group, []))
    if oc["group"] != first["group"]:
        steps.append((f"distortion {oc['group']}", f'button[data-group="{oc["group"]}"]', other, []))
    cell = [index["tools"][-1], index["tools"][0]]
    steps.append((f"grid cell {','.join(cell)}", f'td[data-chain="{",".join(cell)}"]', other, cell))
    return steps


def run(html: Path, page: str, chromium: str, out: Path, step_timeout: float = 20.0) -> int:
    index = json.loads((html / "_static" / "explorer" / "index.json").read_text())
    failures = 0
    with tempfile.TemporaryDirectory(prefix="check-explorer-") as tmp:
        browser = Browser(chromium, Path(tmp) / "profile", Path(tmp) / "chromium.log")
        browser.step_timeout = step_timeout
        server = Server(html)
        try:
            url = server.base + page + ".html"
            browser.open(url)
            state, problems = check_shown(browser, server, url, index, index["cases"][0], [], None)
            print(f"{'FAIL' if problems else 'OK  '} drawn: {state.get('src')} {state.get('psnr')}"
                  + "".join(f"\n     - {p}" for p in problems))
            failures += bool(problems)
            for what, selector, case, chain in clicks(index):
                try:
                    browser.click(selector)
                    after, problems = check_shown(browser, server, url, index, index["cases"][case], chain, state)
                except (RuntimeError, TimeoutError) as err:
                    after, problems = state, [str(err)]
                failures += bool(problems)
                print(f"{'FAIL' if problems else 'OK  '} click {what}: {after.get('src')} {after.get('psnr')}"
                      + "".join(f"\n     - {p}" for p in problems))
                state = after
            out.mkdir(parents=True, exist_ok=True)
            browser.evaluate("document.querySelector('.rx-explorer').scrollIntoView({block: 'start'})")
            browser.screenshot(out / "explorer.png")
            own, other = browser.errors()
            problems = own + [f"missing file {e}" for e in server.errors] + [
                f"a request left 127.0.0.1: {u}" for u in browser.requests()
                if not u.startswith((server.base, "data:", "about:"))]
            failures += bool(problems)
            print(f"{'FAIL' if problems else 'OK  '} no script error, missing file or request off loopback "
                  f"({len(browser.requests())} requests)" + "".join(f"\n     - {p}" for p in problems)
                  + "".join(f"\n     note (not the explorer's): {n}" for n in other))
        finally:
            browser.close()
            server.close()
    verdict = f"{failures} check(s) failed" if failures else "all checks passed"
    print(f"{verdict}; screenshot {out / 'explorer.png'}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book (default _build/html)")
    ap.add_argument("--page", default="book/explorer", help="the explorer's page, without .html")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots", help="where the screenshot goes")
    ap.add_argument("--chromium", help="the browser to run (default: chromium on the PATH, or $CHROMIUM)")
    ap.add_argument("--step-timeout", type=float, default=20.0, help="seconds a click has to show its result")
    args = ap.parse_args(argv)
    html = args.html.resolve()
    if not (html / f"{args.page}.html").is_file() or not (html / "_static" / "explorer" / "index.json").is_file():
        print(f"error: no built explorer in {html} ({args.page}.html and _static/explorer/index.json): "
              "run `jupyter-book build .` first", file=sys.stderr)
        return 2
    names = [args.chromium] if args.chromium else [os.environ.get("CHROMIUM"), "chromium", "chromium-browser"]
    chromium = next((shutil.which(n) for n in names if n and shutil.which(n)), None)
    if chromium is None:
        print("error: chromium not found: apt-get install chromium (or pass --chromium)", file=sys.stderr)
        return 2
    return run(html, args.page, chromium, args.out.resolve(), args.step_timeout)


if __name__ == "__main__":
    sys.exit(main())
