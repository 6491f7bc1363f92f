"""The chapters' exercises as a course uses them: graded, solutions hidden and correct, checks, a student version.

The conventions every chapter follows (see "Use it in a course" in book/how_to_use.md):

* the last cell's ``## Exercises`` holds 2-4 ``{exercise}`` blocks whose titles start with their difficulty, ``★``,
  ``★★`` or ``★★★`` (``{exercise} ★★ The reward of one step``), not decreasing, labelled ``ch<N>-ex1``, ``ch<N>-ex2``,
  ...;
* each has a ``{solution} <label>`` block with ``:class: dropdown``, so the rendered book hides it until opened;
* at least one exercise of a chapter is checked by a ``restorelib.teaching.checks`` function;
* the Python code of every solution (fenced ``python`` blocks, and indented blocks that parse as Python) runs as it
  is, from ``notebooks/`` at CI scale; a block whose first line starts with ``# slow:`` runs only with
  ``RESTORELIB_SLOW_SOLUTIONS=1``;
* ``scripts/make_student_version.py`` removes every solution and output, and nothing else.
"""
import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from restorelib.teaching import checks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPT = ROOT / "scripts" / "make_student_version.py"
_spec = importlib.util.spec_from_file_location("make_student_version", SCRIPT)
msv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(msv)
CODE = re.compile(r"^ {0,3}(`{3,})(?:python|ipython3?)[ \t]*\n(.*?)^ {0,3}\1[ \t]*$", re.M | re.S)


def exercises_text(nb: Path) -> str:
    return "".join(json.loads(nb.read_text())["cells"][-1]["source"])


def directive_blocks(text: str, name: str) -> list[tuple[str, str]]:
    """(argument, body) of the top-level blocks called ``name``."""
    lines = text.split("\n")
    return [(arg, "\n".join(lines[a + 1:b - 1])) for n, a, b, arg in msv.blocks(text) if n == name]


def option(body: str, key: str) -> str | None:
    m = re.search(rf"^ {{0,3}}:{key}:[ \t]*(.*)$", body, re.M)
    return m[1].strip() if m else None


def indented_code(body: str) -> list[str]:
    """The indented code blocks of a Markdown text (outside fenced blocks) that are Python."""
    found, run, blank = [], [], True
    for line in CODE.sub("", body).split("\n") + ["end"]:
        if line.startswith("    ") and (run or blank):
            run.append(line[4:])
        elif run and not line.strip():
            run.append("")
        elif run:
            found.append("\n".join(run).strip("\n"))
            run = []
        blank = not line.strip()
    python = []
    for code in found:
        try:
            ast.parse(code)
            python.append(code)
        except SyntaxError:
            pass
    return python


def solution_code(nb: Path) -> list[tuple[str, str]]:
    """(label, code) of the Python code of every solution: fenced ``python`` blocks and indented blocks."""
    return [(label, code) for label, body in directive_blocks(exercises_text(nb), "solution")
            for code in [m[2] for m in CODE.finditer(body)] + indented_code(body)]


SOLUTIONS = [pytest.param(nb, code, id=f"{nb.stem}:{label}:{k}")
             for nb in NOTEBOOKS for k, (label, code) in enumerate(solution_code(nb))]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_are_graded_labelled_and_their_solutions_hidden(nb):
    text, chapter = exercises_text(nb), int(nb.name[:2])
    exercises = directive_blocks(text, "exercise")
    assert 2 <= len(exercises) <= 4, f"{nb.name}: {len(exercises)} exercises"
    stars = []
    for k, (title, body) in enumerate(exercises, 1):
        m = re.match(r"(★{1,3}) \S", title)
        assert m, f"{nb.name}: exercise {k} title {title!r} must start with its difficulty, ★, ★★ or ★★★"
        stars.append(len(m[1]))
        assert option(body, "label") == f"ch{chapter}-ex{k}", f"{nb.name}: exercise {k} label {option(body, 'label')}"
    assert stars == sorted(stars), f"{nb.name}: difficulty must not decrease, got {stars}"
    solutions = dict(directive_blocks(text, "solution"))
    for k in range(1, len(exercises) + 1):
        label = f"ch{chapter}-ex{k}"
        assert label in solutions, f"{nb.name}: no solution for {label}"
        assert "dropdown" in (option(solutions[label], "class") or "").split(), f"{label}: use :class: dropdown"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_has_an_exercise_checked_by_restorelib(nb):
    called = set(re.findall(r"checks\.(check_\w+)\(", exercises_text(nb)))
    assert called, f"{nb.name}: no exercise ends with a restorelib.teaching.checks call"
    assert all(callable(getattr(checks, name, None)) for name in called), called


@pytest.mark.parametrize("nb, code", SOLUTIONS)
def test_solution_code_runs(nb, code):
    if code.lstrip().startswith("# slow:") and os.environ.get("RESTORELIB_SLOW_SOLUTIONS") != "1":
        pytest.skip(f"{code.lstrip().splitlines()[0]} (set RESTORELIB_SLOW_SOLUTIONS=1 to run it)")
    env = {**os.environ, "RESTORELIB_FAST": "1", "MPLBACKEND": "Agg"}
    env.setdefault("OMP_NUM_THREADS", "1")
    p = subprocess.run([sys.executable, "-c", code], cwd=nb.parent, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"{nb.name}: solution code failed\n{code}\n--- stderr:\n{p.stderr[-3000:]}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_has_solution_code_that_the_tests_run(nb):
    assert solution_code(nb), f"{nb.name}: no ```python (or indented) code in any solution"


# -------------------------------------------------------------------------------------------- the student version
def make(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_student_version_of_every_chapter(tmp_path):
    p = make(*NOTEBOOKS, "--out", tmp_path / "student")
    assert p.returncode == 0, p.stderr
    for nb in NOTEBOOKS:
        original = nbformat.read(nb, as_version=4)
        student = nbformat.read(tmp_path / "student" / nb.name, as_version=4)
        nbformat.validate(student)
        text = "\n".join(c.source for c in student.cells)
        assert "{solution" not in text, nb.name
        for label, body in directive_blocks(exercises_text(nb), "solution"):    # nothing of a solution is left
            content = body.split("\n", 2)[-1].strip()                         # after :class: and a blank line
            assert len(content) > 20 and content not in text, f"{nb.name}: {label}"
        labels = [option(b, "label") for _, b in directive_blocks(exercises_text(nb), "exercise")]
        assert [option(b, "label") for _, b in directive_blocks(student.cells[-1].source, "exercise")] == labels
        assert "## Exercises" in student.cells[-1].source and "## Summary" in student.cells[-1].source
        code = [c for c in student.cells if c.cell_type == "code"]
        assert [c.source for c in code] == [c.source for c in original.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_student_version_refuses_to_overwrite_or_write_into_notebooks(tmp_path):
    nb = NOTEBOOKS[0]
    assert make(nb, "--out", tmp_path).returncode == 0
    again = make(nb, "--out", tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert make(nb, "--out", tmp_path, "--force").returncode == 0
    for inside in (ROOT / "notebooks", ROOT / "notebooks" / "student"):
        p = make(nb, "--out", inside)
        assert p.returncode == 2 and "inside" in p.stderr
    assert not (ROOT / "notebooks" / "student").exists()


def test_student_version_removes_every_kind_of_solution(tmp_path):
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[
        md("# T\n\n```{exercise} ★ A\n:label: t-ex1\n\nDo A.\n```\n\n```{solution} t-ex1\n:class: dropdown\n\n"
           "    secret_a = 1\n```\n\n````{exercise} ★★ B\n:label: t-ex2\n\n```python\nskeleton()\n```\n````\n\n"
           ":::{solution} t-ex2\n```python\nsecret_b()\n```\n:::\nafter"),
        md("```{solution-start} t-ex2\n:class: dropdown\n```\nsecret_c"),
        nbformat.v4.new_code_cell("secret_d()"),
        md("secret_e\n```{solution-end}\n```\nkept"),
        nbformat.v4.new_code_cell("secret_f()", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("kept()", outputs=[nbformat.v4.new_output("stream", text="x")],
                                  execution_count=3),
    ])
    src = tmp_path / "t.ipynb"
    nbformat.write(nb, src)
    assert make(src, "--out", tmp_path / "s").returncode == 0
    out = nbformat.read(tmp_path / "s" / "t.ipynb", as_version=4)
    text = "\n".join(c.source for c in out.cells)
    assert "secret" not in text and "solution" not in text
    assert "Do A." in text and "skeleton()" in text and "after" in text and "kept" in text and "kept()" in text
    assert out.cells[-1].outputs == [] and out.cells[-1].execution_count is None
    unclosed = nbformat.v4.new_notebook(cells=[md("```{solution-start} x\n```\nnever ended")])
    lost = nbformat.v4.new_notebook(cells=[md("```{solution-start} x\n```"), md("```{exercise} ★ E\n:label: e\n```"),
                                           md("```{solution-end}\n```")])
    for name, bad, why in (("u", unclosed, "needs its {solution-end}"), ("l", lost, "exercises changed")):
        nbformat.write(bad, tmp_path / f"{name}.ipynb")
        p = make(tmp_path / f"{name}.ipynb", "--out", tmp_path / name)
        assert p.returncode == 1 and why in p.stderr and not (tmp_path / name).exists(), p.stderr
