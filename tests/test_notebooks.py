"""House rules for the chapters: structure, stripped outputs, table of contents and citations.

The notebooks themselves are executed by nbval (``--nbval-lax``, see pyproject.toml); cells marked
with the tag ``nbval-check-output`` keep their reference output, which nbval compares with a fresh run.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def text(cell):
    return "".join(cell["source"])


def test_every_notebook_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    assert NOTEBOOKS
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}" in toc, nb.name


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_structure(nb):
    cs = cells(nb)
    first = text(cs[0])
    assert cs[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert "**Objectives.**" in first
    last = text(cs[-1])
    assert "## Summary" in last and "## Exercises" in last
    labels = re.findall(r"^ {0,3}(?:`{3,}|:{3,})\{exercise\}.*\n(?:.*\n)*? {0,3}:label: *(\S+)", last, flags=re.M)
    assert 2 <= len(labels) <= 4, f"{nb.name}: 2-4 {{exercise}} blocks with a :label:, found {labels}"
    for label in labels:                                                 # every exercise has its (hidden) solution
        solution = rf"^ {{0,3}}(?:`{{3,}}|:{{3,}})\{{solution\}} +{re.escape(label)}\s*$"
        assert re.search(solution, last, flags=re.M), f"{nb.name}: no {{solution}} {label}"
    tags = [c.get("metadata", {}).get("tags", []) for c in cs if c["cell_type"] == "code"]
    assert any("hide-input" in t or "remove-cell" in t for t in tags)    # plumbing is hidden


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_stripped_except_checked_cells(nb):
    for c in cells(nb):
        if c["cell_type"] != "code":
            continue
        assert "NBVAL" not in text(c), f"{nb.name}: an nbval marker shown to readers; use the cell tag instead"
        if "nbval-check-output" not in c.get("metadata", {}).get("tags", []):
            assert not c.get("outputs"), f"{nb.name}: outputs left in a cell: {text(c)[:60]!r}"
            assert c.get("execution_count") is None
        else:                                   # the reference output nbval compares with a fresh run
            assert [o["output_type"] for o in c["outputs"]] == ["stream"] and c["execution_count"] == 1


def test_citations_exist_in_bib():
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    sources = [p.read_text() for p in (ROOT / "book").glob("*.md")] + [p.read_text() for p in NOTEBOOKS]
    cited = set()
    for s in sources:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", s):
            cited |= {k.strip() for k in group.split(",")}
    assert cited, "no citation found"
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"
    for k in ("yu2018rlrestore", "furuta2019pixelrl", "mnih2015dqn", "mnih2016a3c", "zhang2017dncnn",
              "kim2016vdsr", "dong2014srcnn", "dong2015arcnn", "zhang2018ffdnet"):
        assert k in keys


def test_every_import_of_the_chapters_runs():
    """Each ``from restorelib... import ...`` line of the chapters, run on its own in a fresh interpreter: a name
    that moved (the 0.2 layout) fails here in seconds instead of half-way through a book build."""
    import subprocess
    import sys

    found = re.compile(r"^[ \t]*(from restorelib[^\n(]*\([^)]*\)|from restorelib[^\n]*|import restorelib[^\n]*)", re.M)
    lines = sorted({m.group(1).split("#")[0].strip().replace("\n", " ")
                    for nb in NOTEBOOKS for c in cells(nb) if c["cell_type"] == "code"
                    for m in found.finditer(text(c))})
    assert len(lines) > 20
    script = "import sys\nbad = []\n" + "".join(
        f"try:\n    {line}\nexcept Exception as e:\n    bad.append({line!r} + ': ' + repr(e))\n" for line in lines) + \
        "print('\\n'.join(bad))\nsys.exit(1 if bad else 0)\n"
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr[-1500:]
