"""The book's numbers in its sentences: glue them from the computation, and word them from their values.

Every figure in a chapter's prose is computed by the chapter (never typed), so that text and code agree at every
scale. :func:`glue` hands a value to myst-nb, whose ``{glue:text}`key:.2f``` role puts it into a markdown cell; the
other functions turn numbers into words for sentences that the chapters generate (a claim such as "beats" or
"trails" depends on the sign of a measured difference, so it is generated too).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def glue(name: str, value: object, display: bool = False) -> None:
    """``myst_nb.glue(name, value, display)`` in a book build; nothing where myst-nb is missing (e.g. on Colab)."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=display)


def signed(x: float, nd: int = 2) -> str:
    """``x`` with its sign and ``nd`` decimals, a minus sign for negatives, and no "-0.00": ``+0.34``, ``−0.05``."""
    s = f"{x:+.{nd}f}"
    if float(s) == 0:
        s = f"{0:.{nd}f}"
    return s.replace("-", "−")


def and_list(items: Iterable[object]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def span(values: Sequence[float], nd: int = 2, sign: bool = False) -> str:
    """The range of ``values`` in words: ``0.12`` when all agree to ``nd`` decimals, else ``0.12 to 0.29``."""
    fmt = (lambda v: signed(v, nd)) if sign else (lambda v: f"{v:.{nd}f}")
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo} to {hi}"


def slashed(values: Iterable[float], nd: int = 2, sign: bool = False) -> str:
    """One figure per group, in order, between slashes: ``24.39 / 23.30 / 22.45``; with ``sign`` each is
    :func:`signed`: ``slashed([0.27, 0.12, -0.03], sign=True) == "+0.27 / +0.12 / −0.03"``."""
    return " / ".join(signed(v, nd) if sign else f"{v:.{nd}f}" for v in values)


def db(x: float, se: float | None = None, nd: int = 2) -> str:
    """A difference in dB, :func:`signed`, with its standard error when given: ``db(0.27) == "+0.27 dB"``,
    ``db(-0.05, 0.03) == "−0.05 ± 0.03 dB"``."""
    return signed(x, nd) + (f" ± {se:.{nd}f}" if se is not None else "") + " dB"


def clear_sign(d: Mapping[str, float], nd: int = 2) -> int:
    """+1 or -1 when a paired difference is more than two standard errors above or below zero, else 0.

    ``d`` holds the ``mean`` and ``se`` of :func:`restorelib.core.metrics.paired_difference`. Both are judged as printed
    with ``nd`` decimals, so that the words agree with the figures beside them: ``{"mean": 0.27, "se": 0.12}`` is
    clear (``1``), ``{"mean": 0.2, "se": 0.1}`` is not (``0``: exactly two standard errors).
    """
    m, se = round(d["mean"], nd), round(d["se"], nd)
    return 0 if abs(m) <= 2 * se else (1 if m > 0 else -1)


def capitalised(s: str) -> str:
    """``s`` with a capital first letter and the rest as it is (unlike ``str.capitalize``): ``"on 68 patches, HIRL"``
    becomes ``"On 68 patches, HIRL"``."""
    return s[:1].upper() + s[1:]


def plural(n: int, one: str, many: str | None = None, *, count: bool = True) -> str:
    """``1 tool``, ``3 tools`` (``many`` defaults to ``one + "s"``); with ``count=False`` only the word that agrees
    with ``n``: ``plural(2, "tool loses", "tools lose", count=False) == "tools lose"``."""
    word = one if n == 1 else (many or one + "s")
    return f"{n} {word}" if count else word


def md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (render it with ``IPython.display.Markdown``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def training_data(record: Mapping[str, object]) -> str:
    """What a shipped model was trained on, from its record: ``CBSD398``, ``embedded-train and Train400``, or "the
    embedded training photos" for records that name no set (the default of every training script)."""
    sets = record.get("train_sets") or record.get("train_set")
    if not sets:
        return "the embedded training photos"
    return and_list([sets] if isinstance(sets, str) else sets)


def training_words(record: Mapping[str, object], unit: str = "steps") -> str:
    """A shipped model's budget in words, from its record's ``config``: "8,000 steps of 16 crops of 41x41 of
    CBSD398" (``steps``/``batch``/``crop``; a toolbox's ``small_steps``/``large_steps`` as "30,000 (3-layer) or ...").
    Chapters 5 and 7 glue it, so that the prose follows the shipped models."""
    c = record.get("config") or {}
    if not isinstance(c, Mapping):
        raise ValueError(f"record['config'] must be a mapping, got {type(c).__name__}")
    if "small_steps" in c:
        steps = (f"{c['small_steps']:,}" if c["small_steps"] == c["large_steps"]
                 else f"{c['small_steps']:,} (3-layer) or {c['large_steps']:,} (8-layer)")
    else:
        steps = f"{c['steps']:,}"
    crop = f" of {c['crop']}x{c['crop']}" if c.get("crop") else ""
    batch = f" of {c['batch']} crops{crop}" if c.get("batch") else ""
    return f"{steps} {unit}{batch} of {training_data(record)}"
