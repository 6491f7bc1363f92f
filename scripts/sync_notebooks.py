"""Strip the chapters' outputs, keeping reference outputs only in cells tagged ``nbval-check-output``.

    RESTORELIB_FAST=1 RESTORELIB_DATA=/abs/data python scripts/sync_notebooks.py          # execute, then strip
    python scripts/sync_notebooks.py --strip-only                                      # strip, keep references

Notebooks are committed without outputs (the book build executes them). nbval (``--nbval-lax``) compares the
marked cells with their stored output, so those cells keep the text output of a CI-scale run, and nothing else.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from restorelib.core.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]
TAG = "nbval-check-output"          # a cell tag, so readers never see it (nbval reads tags as well as comments)


def sync(path: Path, execute: bool) -> None:
    nb = nbformat.read(path, as_version=4)
    if execute:
        from nbclient import NotebookClient
        ran = nbformat.read(path, as_version=4)
        NotebookClient(ran, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        fresh = [c.get("outputs", []) for c in ran.cells]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        keep = TAG in cell.metadata.get("tags", [])
        outputs = fresh[i] if execute else cell.get("outputs", [])
        text = "".join(o["text"] for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
        # one stdout stream per checked cell: how a kernel chunks its output varies from run to run
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if keep and text else []
        if cell.outputs:
            cell.execution_count = 1           # nbval skips a reference cell with no execution count as unrun
    write_text(path, nbformat.writes(nb).rstrip("\n") + "\n", overwrite=True)    # atomic: never half a notebook
    print(f"{path.relative_to(ROOT)}: {'executed and ' if execute else ''}stripped")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, default=sorted((ROOT / "notebooks").glob("*.ipynb")))
    ap.add_argument("--strip-only", action="store_true", help="do not execute; keep the stored reference outputs")
    args = ap.parse_args(argv)
    for p in args.notebooks:
        sync(p.resolve(), execute=not args.strip_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
