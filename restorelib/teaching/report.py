"""The reproduction report's page (``book/reproduction.md``, written by ``scripts/make_report.py``): its sections and
the table of the ``python -m restorelib evaluate`` runs it stands on, in markdown that renders within the column."""
from __future__ import annotations

import shlex


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop."""
    return text[:1].upper() + text[1:] + "."


def section(title: str, items: list[str]) -> list[str]:
    """A ``##`` section of bullets, or nothing when there are none (a heading with nothing under it is a defect)."""
    return ["", f"## {title}", "", *items] if items else []


#: The arguments of a run that its own columns show (the others are its "options").
SHOWN = ("--method", "--images", "--distortion", "--limit")


def _options(command: str) -> str:
    """The arguments of an evaluate command besides method, images, distortion and limit, and the page's
    ``--patch 63`` (whole images are said as such)."""
    args = shlex.split(command)[4:]                                 # after "python -m restorelib evaluate"
    pairs = [(a, b) for a, b in zip(args[::2], args[1::2]) if a not in SHOWN]
    rest = [f"{a} {b}" for a, b in pairs if (a, b) != ("--patch", "63")]
    shown = [f"`{r}`" for r in rest] + ([] if any(a == "--patch" for a, _ in pairs) else ["whole images"])
    return ", ".join(shown) or "—"


#: Between the two numbers of a cell "in → out": no-break spaces, so that a cell never wraps inside a number pair.
ARROW = "\u00a0→\u00a0"


def _wrapped(command: str, width: int = 76) -> list[str]:
    """``command`` as shell lines of at most ``width`` characters (an option never split from its value), continued
    with ``\\``: what a reader copies, and what fits the column without scrolling."""
    words, lines = shlex.split(command), [""]
    head, pairs = words[:4], list(zip(words[4::2], words[5::2]))   # "python -m restorelib evaluate", then pairs
    lines[0] = " ".join(head)
    for a, b in pairs:
        if len(lines[-1]) + len(a) + len(b) + 4 > width:
            lines[-1] += " \\"
            lines.append("   ")
        lines[-1] += f" {shlex.quote(a)} {shlex.quote(b)}"
    return lines


def runs_table(runs: dict) -> list[str]:
    """The runs, one short row each, then their exact commands in a dropdown (a command is too long for a cell)."""
    lines = ["", "## The runs", "",
             "Each row is one `python -m restorelib evaluate` run; the commands, exactly as run, are listed below "
             "the table.", "", ":::{table}", ":class: restorelib-runs",
             "| method | distortion | images | PSNR in → out | SSIM in → out | tools | seconds |",
             "|---|---|---|---|---|---:|---:|"]
    for rid, r in sorted(runs.items()):
        args = shlex.split(r["command"])
        method, images, distortion = (args[args.index(a) + 1] for a in ("--method", "--images", "--distortion"))
        options = _options(r["command"])
        lines.append(f"| {method}{'' if options == '—' else ' ' + options} | {distortion} | "
                     f"{r['images']}\u00a0of\u00a0{images} | {r['psnr_in']:.2f}{ARROW}{r['psnr_out']:.2f} | "
                     f"{r['ssim_in']:.3f}{ARROW}{r['ssim_out']:.3f} | {r['tool_calls']:.2f} | {r['seconds']:.1f} |")
    lines.append(":::")
    if runs:
        lines += ["", ":::{dropdown} The commands of these runs, in the order of the table", "```bash",
                  *(line for _, r in sorted(runs.items()) for line in _wrapped(r["command"])), "```", ":::"]
    return lines


__all__ = ["ARROW", "SHOWN", "runs_table", "section", "sentence"]
