"""Chapters 1-3 as a reader meets them: the code they list is the library's, their code fits the page, and the
exercises that change that code are checked.

Each chapter shows the functions it teaches with MyST ``{literalinclude}`` blocks read from ``restorelib`` at build
time; here every such block is read the way Sphinx reads it, so a renamed function or a moved line fails a test
rather than a build.
"""
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from restorelib.teaching import checks
from restorelib.core import degradations as D
from restorelib.search import chains as search
from restorelib.toolbox.tools import LargeTool, SmallTool, count_params

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / "notebooks" / f"{n}.ipynb" for n in ("01_degradations", "02_toolbox", "03_search")]
LISTING = re.compile(r"^```\{literalinclude\} +(\S+)\n((?::[\w-]+:.*\n)*)```", re.M)
PAGE_WIDTH = 88           # characters of code that fit the book's column


def cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


def listings(nb: Path) -> list[tuple[str, dict]]:
    """(path, options) of every ``{literalinclude}`` in the markdown cells of ``nb``."""
    found = []
    for c in cells(nb):
        if c["cell_type"] == "markdown":
            for path, opts in LISTING.findall("".join(c["source"])):
                options = dict(re.match(r":([\w-]+): *(.*)", ln).groups() for ln in opts.splitlines())
                found.append((path, {k: int(v) if k == "dedent" else v for k, v in options.items()}))
    return found


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_listed_code_is_read_from_the_library(nb):
    code = pytest.importorskip("sphinx.directives.code")
    from sphinx.config import Config
    found = listings(nb)
    assert len(found) >= 3, f"{nb.name}: the chapter lists the code it teaches"
    for path, options in found:
        target = (nb.parent / path).resolve()
        assert target.is_file() and target.is_relative_to(ROOT / "restorelib"), path
        assert "pyobject" in options, f"{nb.name}: list a whole object (:pyobject:), not line numbers"
        text, lines = code.LiteralIncludeReader(str(target), options, Config({}, {})).read()
        assert lines > 1 and text.strip(), (path, options)


def test_each_chapter_lists_its_algorithm():
    objects = {nb.stem: {o.get("pyobject") for _, o in listings(nb)} for nb in CHAPTERS}
    assert {"gaussian_blur", "add_gaussian_noise", "jpeg", "apply_levels"} <= objects["01_degradations"]
    assert {"SmallTool", "LargeTool", "tool_levels", "train_tool"} <= objects["02_toolbox"]
    assert {"greedy", "_tree", "_brute_force_chunk"} <= objects["03_search"]


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_code_fits_the_page_and_scales_are_named(nb):
    long = []
    for i, c in enumerate(cells(nb)):
        src = "".join(c["source"])
        if c["cell_type"] == "code":
            lines = src.splitlines()
            assert not re.search(r"\}\[profile\.name\]|profile\.name *==", src), \
                f"{nb.name} cell {i}: use profile.pick(...) or what the scale means (profile.train, ...)"
        else:                                          # the exercises' code blocks, shown when a solution opens
            lines = [ln for block in re.findall(r"^```python\n(.*?)^```", src, re.M | re.S)
                     for ln in block.splitlines()]
        long += [f"cell {i}: {ln}" for ln in lines if len(ln) > PAGE_WIDTH]
    assert not long, f"{nb.name}: code lines wider than the page ({PAGE_WIDTH}):\n" + "\n".join(long)


def test_the_tools_have_the_authors_parameter_counts():
    # RL-Restore's released checkpoints: 21,827 parameters (3 layers) and 50,851 (8 layers); chapter 2 says so
    assert count_params(SmallTool()) == 21_827 and count_params(LargeTool()) == 50_851


# ----------------------------------------------------------------------------- chapter 1: a blur in one pass
def one_pass_blur(x, sigma):
    n, c, h, w = x.shape
    k1 = D.gaussian_kernel1d(torch.as_tensor(sigma).expand(n)).to(x)
    k2 = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, dim=0)[:, None]
    p = k1.shape[1] // 2
    y = F.pad(x.reshape(1, n * c, h, w), (p, p, p, p), mode="replicate")
    return F.conv2d(y, k2, groups=n * c).reshape(n, c, h, w)


def fails(check, fn, *words):
    with pytest.raises(AssertionError) as err:
        check(fn)
    for w in ("input:", "expected:", "hint:", *words):
        assert w in str(err.value), f"{w!r} not in:\n{err.value}"


def test_blur_check_passes_the_library_and_a_one_pass_blur():
    assert checks.check_gaussian_blur(D.gaussian_blur).startswith("check_gaussian_blur: all")
    assert "pass" in checks.check_gaussian_blur(one_pass_blur)


def test_blur_check_names_typical_mistakes():
    def zero_padded(x, sigma):
        n, c, h, w = x.shape
        k1 = D.gaussian_kernel1d(sigma).to(x)
        k2 = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, dim=0)[:, None]
        return F.conv2d(x.reshape(1, n * c, h, w), k2, padding=10, groups=n * c).reshape(n, c, h, w)

    fails(checks.check_gaussian_blur, zero_padded, "replicate", "zeros")
    fails(checks.check_gaussian_blur, lambda x, s: D.gaussian_blur(x, s[0]), "first sigma")


# ----------------------------------------------------------------------------- chapter 3: a beam search
def test_beam_search_spans_greedy_to_brute_force():
    from restorelib.core import data
    from restorelib.core.patches import random_patches
    from restorelib.toolbox.tools import Toolbox
    box, g = Toolbox.load(), torch.Generator().manual_seed(0)
    clean = random_patches(data.to_rgb(data.embedded("chelsea")), 4, 24, generator=g)
    x, _ = D.degrade(clean, "moderate", generator=g)
    bf = search.brute_force(box, x, clean, max_len=2)
    chains, p = checks.beam_search(box, x, clean, width=len(box), max_len=2)
    assert torch.allclose(p, bf.psnr, atol=1e-4)                  # width m at length 2: every chain is scored
    _, p1 = checks.beam_search(box, x, clean, width=1, max_len=2)
    assert (p1 >= search.greedy(box, x, clean, max_len=2).psnr - 1e-4).all() and (p1 <= bf.psnr + 1e-4).all()
    replay = search.run_chains(box, x, chains)
    assert torch.allclose(checks.metrics.psnr(replay, clean), p, atol=1e-3)


def test_beam_check_passes_the_reference_and_names_mistakes():
    assert checks.check_beam_search(checks.beam_search).startswith("check_beam_search: all")
    fails(checks.check_beam_search, lambda *a: checks.beam_search(*a, stop=False), "exactly max_len")
    fails(checks.check_beam_search, lambda b, x, c, w, L: ([[] for _ in range(len(x))], checks.beam_search(
        b, x, c, w, L)[1]), "your chains")
