"""The checks of ``scripts/check_book.py`` on how a page is laid out and marked up (no browser needed for the markup).

Four classes of defect a reader sees and a strict Sphinx build does not:

* **wider than its column** (:data:`MEASURE_JS`, :func:`layout_problems`): an element of the article whose content
  reaches past the article's right edge with no scroll bar of its own (a code line, a printed table, an output or a
  figure cut off at the edge of the column, or the page scrolling sideways), or whose content is clipped by
  ``overflow: hidden``. Measured in Chromium by a script the test server adds to every page: it writes its findings as
  JSON into ``<script id="check-book-layout">``, which ``--dump-dom`` returns with the DOM;
* **maths that did not render** (:func:`raw_math`): ``\\(`` or ``\\[`` in the text of the article outside the maths
  Sphinx marks up (``.math``), code and scripts: a formula the source escaped, which MathJax will never typeset;
* **an empty section** (:func:`empty_sections`): a heading followed by nothing (no text, figure or table) before the
  next heading of the same or a higher level;
* **an output split into many boxes** (:func:`split_outputs`): a cell that prints into more than one stream box, or
  whose outputs are consecutive text boxes (one grey box per printed line or per print call).
"""
from __future__ import annotations

import json
import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

#: The id of the element the measuring script writes its JSON into.
LAYOUT_ID = "check-book-layout"
#: Elements that are content a reader sees even without text (an empty section has none of them).
MEDIA = ("img", "svg", "canvas", "video", "iframe", "table", "pre", "object", "embed", "math", "input")
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
#: Where raw TeX is expected and fine: Sphinx's maths (MathJax's input), code, and what is not text.
NOT_PROSE = ("pre", "code", "kbd", "samp", "script", "style", "textarea", "template", "noscript")
RAW_MATH = re.compile(r"\\[(\[]")
#: Output boxes that hold text: two of them in a row read as one output split in two.
TEXT_OUTPUT = ("stream", "text_plain")

#: Run in the page once it has loaded. For every element of the article (the column; ``<article>``, else ``<main>``,
#: else ``<body>``) it finds the innermost elements whose content reaches past the column's right edge with no
#: scrolling element between them and the column, and those that clip their content (``overflow-x: hidden/clip``),
#: and names, for each, the nearest enclosing block a reader would recognise (a code block, table, output, figure).
MEASURE_JS = r"""
(function () {
  function describe(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) { s += "#" + el.id; }
    var cls = (typeof el.className === "string" ? el.className : "").trim().split(/\s+/).filter(Boolean);
    if (cls.length) { s += "." + cls.slice(0, 3).join("."); }
    return s;
  }
  function where(el) {
    var block = el.closest("pre, table, figure, img, svg, .cell_output, .cell_input, .math, p, li, dl, h1, h2, h3, " +
                           "h4, h5, h6, blockquote") || el;
    var section = el.closest("section");
    var heading = section ? section.querySelector("h1, h2, h3, h4, h5, h6") : null;
    return {element: describe(block), inner: describe(el),
            section: heading ? heading.textContent.replace(/[#\u00b6]/g, "").trim().slice(0, 60) : "",
            text: (block.textContent || (block.getAttribute("src") || "").split(/[\/,]/).pop() || "")
                  .replace(/\s+/g, " ").trim().slice(0, 70)};
  }
  function measure() {
    var column = document.querySelector("article") || document.querySelector("main") || document.body;
    var right = column.getBoundingClientRect().right;
    var found = [], clipped = [], scrolled = [];
    var all = column.querySelectorAll("*");
    for (var i = 0; i < all.length; i++) {
      var el = all[i], r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) { continue; }
      var st = getComputedStyle(el);
      if (st.visibility === "hidden" || st.position === "fixed") { continue; }
      var ox = st.overflowX;
      if ((ox === "hidden" || ox === "clip") && el.scrollWidth > el.clientWidth + 1 && el.tagName !== "MJX-CONTAINER") {
        clipped.push(Object.assign(where(el), {width: el.scrollWidth, visible: el.clientWidth}));
      }
      if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1) {
        scrolled.push(Object.assign(where(el), {width: el.scrollWidth, visible: el.clientWidth}));
      }
      var reach = ox !== "visible" ? r.right : Math.max(r.right, r.left + el.scrollWidth);
      if (reach <= right + 1) { continue; }
      var a = el.parentElement, held = false;      // a scrolling or clipping block between it and the column holds it
      while (a && a !== column) {
        var ax = getComputedStyle(a).overflowX;
        if (ax !== "visible") { held = true; break; }
        a = a.parentElement;
      }
      if (!held) { found.push(el); }
    }
    var inner = found.filter(function (el) {
      return !found.some(function (o) { return o !== el && el.contains(o); });
    });
    var past = inner.map(function (el) {
      var r = el.getBoundingClientRect();
      return Object.assign(where(el), {by: Math.round(Math.max(r.right, r.left + el.scrollWidth) - right)});
    });
    var out = document.createElement("script");
    out.type = "application/json";
    out.id = "__ID__";
    out.textContent = JSON.stringify({
      column: {element: describe(column), width: Math.round(column.getBoundingClientRect().width)},
      page: {width: document.documentElement.scrollWidth, window: window.innerWidth},
      past: past, clipped: clipped, scrolled: scrolled});
    document.body.appendChild(out);
  }
  if (document.readyState === "complete") { measure(); }
  else { window.addEventListener("load", function () { setTimeout(measure, 0); }); }
})();
""".replace("__ID__", LAYOUT_ID)


def inject(html: bytes) -> bytes:
    """``html`` with :data:`MEASURE_JS` run at the end of its body (as the test server sends every page)."""
    tag = f"<script>{MEASURE_JS}</script>".encode()
    i = html.lower().rfind(b"</body>")
    return html[:i] + tag + html[i:] if i >= 0 else html + tag


def layout_problems(soup: BeautifulSoup) -> list[str]:
    """What :data:`MEASURE_JS` found in the page (its JSON in the DOM), one message per element; a message when the
    script's JSON is missing (the page's scripts did not run)."""
    node = soup.find("script", id=LAYOUT_ID)
    if node is None:
        return ["the layout was not measured (the measuring script did not run)"]
    m = json.loads(node.string or "{}")
    col = m["column"]
    problems = []
    if m["page"]["width"] > m["page"]["window"] + 1:
        problems.append(f"the page is wider than the window ({m['page']['width']} px in {m['page']['window']} px): "
                        "it scrolls sideways")
    seen = set()
    for p in m["past"]:
        key = ("past", p["element"], p["text"])
        if key in seen:
            continue
        seen.add(key)
        problems.append(f"wider than its column: <{p['element']}> reaches {p['by']} px past the right edge of the "
                        f"{col['width']} px column, with no scroll bar{_at(p)}")
    for p in m["clipped"]:
        key = ("clip", p["element"], p["text"])
        if key in seen:
            continue
        seen.add(key)
        problems.append(f"cut off: <{p['inner']}> shows {p['visible']} of {p['width']} px of its content and hides "
                        f"the rest (overflow hidden){_at(p)}")
    return problems


def layout_notes(soup: BeautifulSoup) -> list[str]:
    """The boxes whose content scrolls sideways inside them (not a failure: nothing is cut off, but a reader has to
    scroll to read a code line or a printed table; the chapter may fit it to the column)."""
    node = soup.find("script", id=LAYOUT_ID)
    m = json.loads(node.string or "{}") if node is not None else {}
    notes, seen = [], set()
    for p in m.get("scrolled", []):
        if (p["element"], p["text"]) not in seen:
            seen.add((p["element"], p["text"]))
            notes.append(f"scrolls sideways: <{p['inner']}> is {p['width']} px wide in a {p['visible']} px box"
                         f"{_at(p)}")
    return notes


def _at(p: dict) -> str:
    return (f" (section {p['section']!r})" if p["section"] else "") + (f": {p['text']!r}" if p["text"] else "")


def _inside(node, names: tuple[str, ...], classes: tuple[str, ...] = ()) -> bool:
    for parent in node.parents:
        if parent.name in names or any(c in (parent.get("class") or []) for c in classes):
            return True
    return False


def raw_math(main: Tag) -> list[str]:
    r"""``\(`` or ``\[`` in the article's text outside Sphinx's maths and code: a formula shown as TeX source."""
    problems = []
    for s in main.find_all(string=RAW_MATH):
        if isinstance(s, Comment) or _inside(s, NOT_PROSE, ("math", "highlight", "MathJax", "katex")):
            continue
        text = " ".join(str(s).split())
        i = RAW_MATH.search(text).start()
        problems.append(f"maths shown as TeX source (escaped in the source, so never typeset): "
                        f"\"{text[max(0, i - 30):i + 40]}\"{_section_of(s)}")
    return problems


def _section_of(node) -> str:
    for parent in node.parents:
        if parent.name == "section":
            h = parent.find(HEADINGS)
            if h is not None:
                return f" (section {_heading_text(h)!r})"
    return ""


def _heading_text(h: Tag) -> str:
    return h.get_text(" ", strip=True).replace("#", "").replace("¶", "").strip()


def empty_sections(main: Tag) -> list[str]:
    """Headings followed by no text, figure or table before the next heading of the same or a higher level."""
    problems, open_ = [], []                                  # [(level, heading, has content)], outermost first

    def close(level: int) -> None:
        while open_ and open_[-1][0] >= level:
            lv, h, full = open_.pop()
            if not full:
                problems.append(f"an empty section: the heading {_heading_text(h)!r} (h{lv}) has nothing under it "
                                "before the next heading")

    def fill() -> None:
        for entry in open_:
            entry[2] = True

    for node in main.descendants:
        if isinstance(node, Tag):
            if node.name in HEADINGS:
                close(int(node.name[1]))
                fill()                                        # a subsection is content of the sections around it
                open_.append([int(node.name[1]), node, False])
            elif node.name in MEDIA and not _inside(node, HEADINGS):
                fill()
        elif (isinstance(node, NavigableString) and type(node) is NavigableString and node.strip()
              and not _inside(node, HEADINGS + ("script", "style", "template"))):
            fill()
    close(0)
    return problems


def split_outputs(main: Tag) -> list[str]:
    """Cells whose output is split: more than one box of one stream, or consecutive text boxes."""
    problems = []
    for n, out in enumerate(main.select(".cell_output"), 1):
        boxes = [c for c in out.children if isinstance(c, Tag) and "output" in (c.get("class") or [])]
        kinds = [next((k for k in TEXT_OUTPUT if k in b.get("class")), "") for b in boxes]
        streams = kinds.count("stream")
        adjacent = sum(1 for a, b in zip(kinds, kinds[1:]) if a and b)
        if streams > 1 or adjacent:
            first = " ".join(out.get_text(" ", strip=True).split())[:60]
            problems.append(f"an output split into {len(boxes)} boxes ({streams} stream boxes, {adjacent} text boxes "
                            f"right after another) in cell output {n}{_section_of(out)}: {first!r}; merge the "
                            "streams (nb_merge_streams) or print once")
    return problems
