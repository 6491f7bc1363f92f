"""A Sphinx extension of the book: the static toolchain explorer (``book/explorer.md``), which needs no kernel.

The directive ``restorelib-explorer`` places the widget: a ``<div class="rx-explorer">`` and the three files it loads
from ``_static/explorer/`` (``index.js``, the data; ``explorer.js`` and ``explorer.css``, the widget, next to this
file). At the end of an HTML build (``html-collect-pages``) the data are computed by
:func:`restorelib.teaching.static_explorer.write_explorer` with the shipped tools and agent, kept in
``<build>/.restorelib_explorer/<fingerprint>/`` (so a rebuild with nothing changed costs a copy), and copied into the
HTML's ``_static/explorer/``. Nothing is committed; the page reads no network.

The setting ``restorelib_explorer`` (a dict, default empty) overrides ``write_explorer``'s ``photos``, ``groups``,
``crop``, ``quality`` and ``seed``, e.g. for a small test build.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

HERE = Path(__file__).resolve().parent
STATIC = {"explorer.js": HERE / "restorelib_explorer.js", "explorer.css": HERE / "restorelib_explorer.css"}
SETTINGS = ("photos", "groups", "crop", "quality", "seed")
logger = logging.getLogger(__name__)


def widget_html(docname: str) -> str:
    """The HTML the directive puts in page ``docname`` (links relative to it, so the page also works from disk)."""
    base = "../" * docname.count("/") + "_static/explorer/"
    return (f'<link rel="stylesheet" href="{base}explorer.css">\n'
            f'<div class="rx-explorer" data-base="{base}">'
            '<p class="rx-loading">The explorer is loading; it needs JavaScript, and no kernel.</p></div>\n'
            f'<script src="{base}index.js"></script>\n<script src="{base}explorer.js"></script>\n')


class ExplorerDirective(Directive):
    """``.. restorelib-explorer::`` (MyST: a ``{restorelib-explorer}`` fence): the widget, no arguments."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        if not hasattr(env, "restorelib_explorer_docs"):
            env.restorelib_explorer_docs = set()
        env.restorelib_explorer_docs.add(env.docname)
        return [nodes.raw("", widget_html(env.docname), format="html")]


def settings(app) -> dict:
    """``write_explorer``'s keyword arguments from the setting ``restorelib_explorer``; unknown keys fail."""
    given = dict(app.config.restorelib_explorer or {})
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise ValueError(f"restorelib_explorer: unknown keys {unknown}; expected some of {list(SETTINGS)}")
    return given


def assets(app) -> Path:
    """The folder holding the explorer's data for the current package, weights and settings; computed when missing
    (written to a temporary folder first, so that an interrupted build leaves no half of it)."""
    from restorelib.teaching.static_explorer import fingerprint, write_explorer
    kwargs = settings(app)
    cache = Path(app.doctreedir).parent / ".restorelib_explorer"
    folder = cache / fingerprint(kwargs)
    if (folder / "index.js").is_file():
        return folder
    for old in cache.glob("*") if cache.is_dir() else []:
        shutil.rmtree(old, ignore_errors=True)
    partial = cache / (folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    start = time.process_time()
    index = write_explorer(partial, **kwargs)
    partial.rename(folder)
    n = sum(len(c["entries"]) for c in index["cases"])
    logger.info(f"restorelib_explorer: {n} images of {len(index['cases'])} cases in "
                f"{time.process_time() - start:.1f} s of CPU -> {folder}")
    return folder


def _collect(app):
    docs = getattr(app.env, "restorelib_explorer_docs", set())
    if app.builder.format != "html" or not docs:
        return []
    try:
        source = assets(app)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        logger.warning(f"restorelib_explorer: the explorer's data could not be computed: {err}")
        return []
    dest = Path(app.outdir) / "_static" / "explorer"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest)
    for name, path in STATIC.items():
        shutil.copyfile(path, dest / name)
    return []


def _purge(app, env, docname) -> None:
    getattr(env, "restorelib_explorer_docs", set()).discard(docname)


def _merge(app, env, docnames, other) -> None:
    env.restorelib_explorer_docs = getattr(env, "restorelib_explorer_docs", set()) | \
        (getattr(other, "restorelib_explorer_docs", set()) & set(docnames))


def setup(app):
    app.add_config_value("restorelib_explorer", {}, "env", [dict])
    app.add_directive("restorelib-explorer", ExplorerDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-collect-pages", _collect)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
