"""The reproduction report's page (``book/reproduction.md``, written by ``scripts/make_report.py``): its sections and
the table of the ``python -m restorelib evaluate`` runs it stands on, in markdown that renders within the column."""
from __future__ import annotations

import json
import shlex
from pathlib import Path


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
    """``command`` as shell lines of at most ``width`` characters (an option never split from its values), continued
    with ``\\``: what a reader copies, and what fits the column without scrolling."""
    groups: list[list[str]] = []
    for word in shlex.split(command):
        if word.startswith("--") or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    lines = [" ".join(shlex.quote(w) for w in groups[0])] if groups else [""]
    for group in groups[1:]:
        text = " ".join(shlex.quote(w) for w in group)
        if len(lines[-1]) + len(text) + 3 > width:
            lines[-1] += " \\"
            lines.append("   ")
        lines[-1] += f" {text}"
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


def _train_seconds(record: dict) -> float | None:
    """A record's training time: its ``seconds``, else the sum of its tools' (a toolbox trains tool by tool)."""
    if record.get("seconds") is not None:
        return float(record["seconds"])
    tools = record.get("tools")
    if isinstance(tools, dict) and tools and all("seconds" in t for t in tools.values()):
        return sum(float(t["seconds"]) for t in tools.values())
    return record.get("total_seconds")


def shipped_records(weights: Path) -> list[dict]:
    """One row per shipped model under ``weights`` (``restorelib/weights``: every ``record.json`` outside a training's
    ``.partial`` state): its folder, the command that trained it, training seconds, date and hardware."""
    rows = []
    for path in sorted(weights.rglob("record.json")):
        if ".partial" in path.parts:
            continue
        r = json.loads(path.read_text())
        rows.append({"model": path.parent.relative_to(weights).as_posix(), "command": r.get("command", "—"),
                     "seconds": _train_seconds(r), "date": r.get("date") or "—",
                     "hardware": str(r.get("hardware", "—")).replace("(R)", "").replace(" Processor", "")})
    return rows


def models_table(rows: list[dict]) -> list[str]:
    """The section of the shipped models (label ``shipped-models``): training minutes, date and machine, then the
    commands in a dropdown. What ``book/how_to_use.md`` points to for training times."""
    if not rows:
        return []
    lines = ["", "(shipped-models)=", "## The shipped models", "",
             "Every model the book loads, read from its `record.json` (its card beside it has the config and curves). "
             "Times are wall-clock minutes of training, evaluations excluded.", "", ":::{table}",
             ":class: restorelib-runs", "| model | script | minutes | date | trained on |", "|---|---|---:|---|---|"]
    for r in rows:
        script = next((w for w in r["command"].split() if w.endswith((".py", ".sh"))), "—")
        minutes = "—" if r["seconds"] is None else f"{r['seconds'] / 60:.0f}"
        lines.append(f"| `{r['model']}` | `{Path(script).name}` | {minutes} | {r['date']} | {r['hardware']} |")
    lines += [":::", "", ":::{dropdown} The commands that trained them, in the order of the table", "```bash",
              *(line for r in rows for line in _wrapped(r["command"])), "```", ":::"]
    return lines


# ----------------------------------------------------------------------------- chapter 4's ablations, in words
def _groups(diffs: dict[str, float], positive: bool) -> str:
    names = [g for g, d in diffs.items() if (d >= 0) == positive]
    return " and ".join(names) or "none"


def mse_why(base_calls: float, mse_calls: float, steps: str) -> str:
    """Why a final reward may not lose to the stepwise one (RL-Restore Table 6): both agents' tool calls."""
    return (f"Both agents take {base_calls:.2f} and {mse_calls:.2f} tools a patch: at {steps} steps the reward at the "
            "end leads to the same chains as the stepwise one, whose rewards add up to the chain's PSNR gain and only "
            "credit each step sooner; the paper's gap is one of credit assignment over its 2 million steps "
            "(chapter 4).")


def stop_why(base_calls: float, steps: str) -> str:
    """Why the stop action may not help (RL-Restore Table 7): how often the base agent stops, from its runs."""
    return (f"The base agent takes {base_calls:.2f} tools a patch of a possible 3: at {steps} training steps it stops "
            "on few patches, so a stop action can save little, and stopping early costs more than one more mild tool "
            "(chapter 4).")


def tmax_why(diffs: dict[str, float], base_calls: float) -> str:
    """Why chains of 3 may not beat chains of 2 (RL-Restore Table 4), from the per-group differences (dB)."""
    return (f"A third tool helps on {_groups(diffs, True)} and costs on {_groups(diffs, False)}: the base agent "
            f"takes {base_calls:.2f} tools a patch and rarely stops, so where two tools are enough its third one "
            "over-restores (chapter 4).")


def tools_why(dropped: dict[str, float], steps: str) -> str:
    """Why 12 tools may not beat 6 (RL-Restore Table 4): the gains of the tools the six leave out, on the mixed
    inputs they meet (``restorelib/weights/tools/record.json``, ``val_robust``)."""
    worst = min(dropped, key=dropped.get)
    return (f"The six tools keep levels 2 and 4 of each distortion, which neighbour the levels they leave out "
            f"({', '.join(sorted(dropped))}; {worst} gains {dropped[worst]:+.2f} dB on mixed inputs, the least of "
            f"them): the smaller action set loses little and is easier to learn in {steps} steps (chapter 4).")


def small_diff_caveat(diffs: dict[str, float], limit: float = 0.1) -> str:
    """A caveat for a paired difference that holds but is smaller than ``limit`` dB on some group, else ''."""
    small = [g for g, d in diffs.items() if abs(d) < limit]
    return (f"On {' and '.join(small)} the difference is under {limit:g} dB, within the standard error of a paired "
            "difference on 68 patches (chapter 4)." if small else "")


__all__ = ["ARROW", "SHOWN", "models_table", "mse_why", "runs_table", "section", "sentence", "shipped_records", "small_diff_caveat",
           "stop_why", "tmax_why", "tools_why"]
