"""No result figure typed in a chapter's prose: every measured number in markdown is glued from the computation.

A *result figure* is a number followed by ``dB`` or ``%``, a ``±``, or a decimal number with two or more decimals
(23.30, 0.045): in this book those are always measurements, or the papers' own figures (which the library keeps in
constants such as ``baselines.PAPER_TABLE3`` and the chapters glue from there). Exempt are glue roles
(``{glue:text}`key:.2f```), code spans, and maths (``$\\sigma = 0.25$``): inputs such as levels are written as maths.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

RESULT = re.compile(r"(?<![\w.])[+\-−]?\d+(?:[.,]\d+)*\s?(?:dB\b|%)|±|(?<![\w.])\d+\.\d{2,}(?![\w.])")
EXEMPT = (re.compile(r"\{glue(?::\w+)?\}`[^`]*`"), re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"\$[^$\n]+\$"),
          re.compile(r"`[^`\n]*`"), re.compile(r"\{cite(?::\w+)?\}`[^`]*`"), re.compile(r"\]\([^)]*\)"))


def typed_figures(markdown: str) -> list[str]:
    """The result figures of ``markdown`` outside glue roles, code spans, maths, citations and link targets."""
    for pattern in EXEMPT:
        markdown = pattern.sub(" ", markdown)
    return [m.group(0) for m in RESULT.finditer(markdown)]


def test_typed_figures_finds_results_and_spares_inputs():
    assert typed_figures("beats it by +0.34 dB (± 0.04), 80% of the gain, PSNR 24.39") == \
        ["+0.34 dB", "±", "0.04", "80%", "24.39"]
    assert typed_figures("{glue:text}`gain:+.2f` dB at $\\sigma = 0.25$, `lr=1e-3`, step 1,000, quality 30") == []
    assert typed_figures("see [the record](weights/tools/record.json) and {cite:p}`yu2018rlrestore`") == []


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_result_figure_typed_in_markdown(nb):
    found = []
    for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
        if cell["cell_type"] == "markdown":
            found += [f"cell {i}: {f}" for f in typed_figures("".join(cell["source"]))]
    assert not found, f"{nb.name}: glue these from the computation: {found}"
