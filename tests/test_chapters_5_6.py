"""Chapters 5 and 6 show the library's own code: every ``literalinclude`` resolves, and what the page shows fits it.

A listing is taken from the library when the book is built (``:pyobject:``, optionally cut by ``:start-at:`` /
``:end-before:``), so it cannot drift from the code; these tests make a renamed function or a marker that no longer
matches fail here rather than as a build warning, and keep the shown code within the page (88 characters).
"""
from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTERS_5_6 = [ROOT / "notebooks" / "05_joint_training.ipynb", ROOT / "notebooks" / "06_hirl.ipynb"]
WIDTH = 88                      # characters of code that fit the page's column
INCLUDE = re.compile(r"^```\{literalinclude\} +(\S+)\n((?: *:[\w-]+:.*\n)*)```", re.M)


def cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


def includes(nb: Path) -> list[tuple[Path, dict[str, str]]]:
    """(file, options) of every literalinclude in the markdown cells of ``nb``, the path resolved as Sphinx does."""
    found = []
    for c in cells(nb):
        if c["cell_type"] == "markdown":
            for m in INCLUDE.finditer("".join(c["source"])):
                opts = dict(re.findall(r"^ *:([\w-]+): *(.*?) *$", m[2], re.M))
                found.append(((nb.parent / m[1]).resolve(), opts))
    return found


def pyobject_lines(path: Path, dotted: str) -> list[str]:
    """The source lines of ``dotted`` (``func`` or ``Class.method``) in ``path``, decorators included."""
    node: ast.AST = ast.parse(path.read_text())
    for name in dotted.split("."):
        node = next((n for n in ast.iter_child_nodes(node) if getattr(n, "name", None) == name), None)
        assert node is not None, f"{path.name}: no {dotted}"
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return path.read_text().splitlines()[first - 1:node.end_lineno]


def shown(path: Path, opts: dict[str, str]) -> list[str]:
    """The lines a literalinclude shows: the object, cut by start-at / end-before, dedented."""
    lines = pyobject_lines(path, opts["pyobject"]) if "pyobject" in opts else path.read_text().splitlines()
    if "start-at" in opts:
        i = next((k for k, line in enumerate(lines) if opts["start-at"] in line), None)
        assert i is not None, f"{path.name}: :start-at: {opts['start-at']!r} matches nothing"
        lines = lines[i:]
    if "end-before" in opts:
        i = next((k for k, line in enumerate(lines) if opts["end-before"] in line), None)
        assert i is not None, f"{path.name}: :end-before: {opts['end-before']!r} matches nothing"
        lines = lines[:i]
    if opts.get("dedent") == "":                   # no value: as much as every line allows
        return textwrap.dedent("\n".join(lines)).splitlines()
    return [line[int(opts.get("dedent", 0)):] for line in lines]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_literalinclude_resolves(nb):
    for path, opts in includes(nb):
        assert path.is_file(), f"{nb.name}: literalinclude of a missing file {path}"
        assert shown(path, opts), f"{nb.name}: literalinclude of {path.name} {opts} shows nothing"


@pytest.mark.parametrize("nb", CHAPTERS_5_6, ids=lambda p: p.name)
def test_chapter_shows_its_algorithm_within_the_page(nb):
    objects = {opts.get("pyobject") for _, opts in includes(nb)}
    expected = {"05_joint_training.ipynb": {"joint_step", "PlainResidualCNN"},
                "06_hirl.ipynb": {"HirlAgent", "choose", "_episode", "hirl_targets"}}[nb.name]
    assert expected <= objects, f"{nb.name}: listings {objects}, expected at least {expected}"
    for path, opts in includes(nb):
        wide = [line for line in shown(path, opts) if len(line) > WIDTH]
        assert not wide, f"{nb.name}: {path.name} {opts.get('pyobject')} has lines over {WIDTH}: {wide}"


@pytest.mark.parametrize("nb", CHAPTERS_5_6, ids=lambda p: p.name)
def test_shown_code_fits_the_page_and_uses_the_profile(nb):
    for i, c in enumerate(cells(nb)):
        tags = c.get("metadata", {}).get("tags", [])
        text = "".join(c["source"])
        if c["cell_type"] == "markdown":          # the code of the exercises' solutions is shown too
            code = "\n".join(m[1] for m in re.finditer(r"```python\n(.*?)```", text, re.S))
        elif "remove-cell" in tags or "remove-input" in tags:
            continue
        else:
            code = text
        wide = [line for line in code.splitlines() if len(line) > WIDTH]
        assert not wide, f"{nb.name} cell {i}: lines over {WIDTH} characters: {wide}"
        if c["cell_type"] == "code":
            assert 'profile.name == "paper"' not in text, f"{nb.name} cell {i}: use profile.long_runs"
            assert not re.search(r'\{"ci": [^}]*\}\[profile\.name\]', text), \
                f"{nb.name} cell {i}: use profile.pick(ci=..., book=..., paper=...)"
