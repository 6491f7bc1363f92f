"""The chapters show their algorithms from the library (``{literalinclude}`` in a markdown cell), so the page cannot
drift from the code: every listing resolves (its file, its ``:pyobject:`` and its ``:start-at:`` / ``:end-at:``
markers exist), and chapters 7 and 8 show the pieces they teach within the page width (88 characters a line).

Sphinx's own reader extracts the listings, exactly as the book build does, without building the book.
"""
import json
import re
from pathlib import Path

import pytest

code = pytest.importorskip("sphinx.directives.code")
sphinx_config = pytest.importorskip("sphinx.config")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DIRECTIVE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{literalinclude\}[ \t]+(\S+)[ \t]*\n((?: {0,3}:[\w-]+:.*\n)*)", re.M)
READER_OPTIONS = ("pyobject", "start-at", "start-after", "end-at", "end-before", "lines", "dedent")
WIDTH = 88


def listings(nb: Path) -> list[tuple[str, dict]]:
    """(path, options) of every ``{literalinclude}`` in the markdown cells of ``nb``."""
    found = []
    for cell in json.loads(nb.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for m in DIRECTIVE.finditer("".join(cell["source"]) + "\n"):
            options = dict(re.match(r" *:([\w-]+):[ \t]*(.*)", line).groups() for line in m[3].splitlines())
            found.append((m[2], {k: v.strip() or None for k, v in options.items()}))
    return found


def read(nb: Path, path: str, options: dict) -> str:
    """The text the book shows for one listing (Sphinx's LiteralIncludeReader, path relative to the notebook)."""
    opts = {k: v for k, v in options.items() if k in READER_OPTIONS}
    if opts.get("dedent") is not None:
        opts["dedent"] = int(opts["dedent"])            # as the directive converts it (optional_int)
    text, _ = code.LiteralIncludeReader(str(nb.parent / path), opts, sphinx_config.Config({}, {})).read()
    return text


LISTINGS = [pytest.param(nb, path, opts, id=f"{nb.stem}:{opts.get('pyobject') or path}")
            for nb in NOTEBOOKS for path, opts in listings(nb)]


def test_listings_are_parsed_with_their_options(tmp_path):
    nb = tmp_path / "x.ipynb"
    source = ["Text\n", "\n", "```{literalinclude} ../a.py\n", ":pyobject: f\n", ":dedent:\n", "```\n"]
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": source},
                                        {"cell_type": "code", "source": source}]}))
    assert listings(nb) == [("../a.py", {"pyobject": "f", "dedent": None})]


@pytest.mark.parametrize("nb, path, options", LISTINGS)
def test_every_listing_resolves(nb, path, options):
    assert (nb.parent / path).resolve().is_file(), f"{nb.name}: no file {path}"
    text = read(nb, path, options)                      # raises when the object or a marker is not there
    assert text.strip(), f"{nb.name}: the listing of {path} {options} is empty"


@pytest.mark.parametrize("chapter, taught", [
    ("07_pixelrl", {"ConvGRU", "nstep_returns", "a2c_loss"}),
    ("08_label_free", {"clipped_surrogate", "ppo_update", "RestoreEnv.step"}),
])
def test_chapters_7_and_8_show_their_algorithms_within_the_page(chapter, taught):
    nb = ROOT / "notebooks" / f"{chapter}.ipynb"
    found = listings(nb)
    shown = {opts.get("pyobject") for _, opts in found}
    assert taught <= shown, f"{chapter}: not shown: {sorted(taught - shown)}"
    for path, opts in found:
        wide = [line for line in read(nb, path, opts).splitlines() if len(line) > WIDTH]
        assert not wide, f"{chapter}: {opts.get('pyobject')} has lines over {WIDTH} characters: {wide}"
