"""Write the student version of chapters: the same notebooks with every solution removed and all outputs stripped.

    python scripts/make_student_version.py notebooks/*.ipynb --out student/
    python scripts/make_student_version.py notebooks/01_degradations.ipynb --out student/ --force

What is removed, following sphinx-exercise's conventions (see "Use it in a course" in book/how_to_use.md):

* every ``{solution}`` block of a Markdown cell, fenced with backticks or colons (```` ````{solution} ch1-ex1 ````
  ... ```` ```` ````), with the blank line after it;
* gated solutions: from a ``{solution-start}`` block to the matching ``{solution-end}`` block, with every cell in
  between (for solutions written as code cells);
* cells tagged ``solution``;
* every output and execution count (the exercises, and everything else, stay as they are).

The notebooks are written under their own names into ``--out``, which must not be inside ``notebooks/``; an existing
file is overwritten only with ``--force``. Exit status 1, with nothing written, when a notebook still holds a solution
after the removal (an unclosed block, say) or has lost one of its exercises.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from restorelib.core.flags import add_force_flag, add_out_flag
from restorelib.core.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]
OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>.*)$")
EXERCISE_LABEL = re.compile(r"^ {0,3}:label:[ \t]*(\S+)", re.M)


def blocks(text: str) -> list[tuple[str, int, int, str]]:
    """The top-level directive blocks of a Markdown text: (name, first line, line after the block, argument).

    A block ends at the first line that is its fence character repeated at least as often as in the opening fence
    (CommonMark's rule), so a block fenced with four backticks may hold code fenced with three. An unclosed block
    runs to the end of the text.
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m["fence"]
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = next((k for k in range(i + 1, len(lines)) if close.match(lines[k])), len(lines) - 1)
        out.append((m["name"], i, j + 1, m["arg"].strip()))
        i = j + 1
    return out


def exercise_labels(text: str) -> list[str]:
    """The labels of the ``{exercise}`` blocks of a Markdown text, in order."""
    lines = text.split("\n")
    labels = []
    for name, a, b, _ in blocks(text):
        if name in ("exercise", "exercise-start"):
            m = EXERCISE_LABEL.search("\n".join(lines[a:b]))
            labels.append(m[1] if m else "")
    return labels


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    lines = text.split("\n")
    drop = set()
    for a, b in spans:
        drop.update(range(a, b))
        if b < len(lines) and not lines[b].strip():          # the blank line that separated the block
            drop.add(b)
    return "\n".join(line for k, line in enumerate(lines) if k not in drop).rstrip("\n")


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without solutions and outputs (see the module docstring)."""
    nb = copy.deepcopy(nb)
    cells, gated = [], False                                   # gated: inside {solution-start} ... {solution-end}
    for cell in nb.cells:
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "markdown":
            spans, start = [], 0 if gated else None            # start: first line of an open gated solution
            for name, a, b, _ in blocks(cell.source):
                if gated and name == "solution-end":
                    spans.append((start, b))
                    gated, start = False, None
                elif not gated and name == "solution":
                    spans.append((a, b))
                elif not gated and name == "solution-start":
                    gated, start = True, a
            if gated and start == 0 and not spans:             # a whole cell inside a gated solution
                continue
            if gated:                                          # the rest of this cell opens a gated solution
                spans.append((start, len(cell.source.split("\n"))))
            if spans:
                cell.source = _cut(cell.source, spans)
        elif gated:
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    nb.cells = [c for c in cells if c.cell_type == "code" or c.source.strip()]
    return nb


def problems(original: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a student version: solutions left, exercises lost, invalid nbformat."""
    out = []
    gates = [name for c in original.cells if c.cell_type == "markdown" for name, *_ in blocks(c.source)
             if name in ("solution-start", "solution-end")]
    if gates != ["solution-start", "solution-end"] * (len(gates) // 2):
        out.append("every {solution-start} needs its {solution-end}, in order")
    text = "\n".join(c.source for c in student.cells)
    if re.search(r"\{solution(-start|-end)?\}", text):
        out.append("a solution is left (is a {solution} block not closed?)")
    before = [lb for c in original.cells if c.cell_type == "markdown" for lb in exercise_labels(c.source)]
    after = [lb for c in student.cells if c.cell_type == "markdown" for lb in exercise_labels(c.source)]
    if before != after:
        out.append(f"exercises changed: {before} -> {after}")
    try:
        nbformat.validate(student)
    except nbformat.ValidationError as err:
        out.append(f"not a valid notebook: {err.message}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path, help="chapters (.ipynb) to convert")
    add_out_flag(ap, help="folder for the student notebooks (not in notebooks/)", required=True)
    add_force_flag(ap, "overwrite student notebooks that exist")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    chapters = (ROOT / "notebooks").resolve()
    if out == chapters or chapters in out.parents or out in {p.resolve().parent for p in args.notebooks}:
        print(f"error: --out {args.out} is inside {chapters} or the folder of a notebook it converts: the student "
              "version must not sit beside (or replace) the chapters", file=sys.stderr)
        return 2
    targets = [out / p.name for p in args.notebooks]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.force:
        print(f"error: {', '.join(existing)} exist(s); use --force to overwrite", file=sys.stderr)
        return 2
    results = []
    for path, target in zip(args.notebooks, targets):
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"error: {path} is not a notebook file", file=sys.stderr)
            return 2
        nb = nbformat.read(path, as_version=4)
        student = student_notebook(nb)
        bad = problems(nb, student)
        if bad:
            print(f"error: {path}: {'; '.join(bad)}", file=sys.stderr)
            return 1
        results.append((path, target, student, len([lb for c in student.cells if c.cell_type == "markdown"
                                                    for lb in exercise_labels(c.source)])))
    out.mkdir(parents=True, exist_ok=True)
    for path, target, student, n in results:
        write_text(target, nbformat.writes(student).rstrip("\n") + "\n", overwrite=args.force)   # atomic
        print(f"{path} -> {target}: {n} exercises, solutions and outputs removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
