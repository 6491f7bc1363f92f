"""How an exercise is checked: a student's function against the library's reference, on seeded cases.

:func:`run_check` calls the student's function on each :class:`Case`, compares it with the reference (:func:`close`)
and, when they differ, says which input went in, what was expected, what came back, and a hint naming the mistake
when the answer matches a typical one (a :class:`Mistake`). The checks themselves are in
:mod:`restorelib.teaching.checks` (chapters 1-3: :mod:`~restorelib.teaching.checks_images`; chapters 4-8:
:mod:`~restorelib.teaching.checks_agents`).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch



class Case(NamedTuple):
    """One input of a check: the arguments ``args``, a readable ``label``, and an optional ``hint`` for this case."""

    label: str
    args: tuple
    hint: str = ""


class Mistake(NamedTuple):
    """A typical wrong answer: ``variant`` computes it from a case's arguments; ``hint`` says how to fix it."""

    hint: str
    variant: Callable[..., Any]


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def _show(value: Any) -> str:
    try:
        a = _array(value)
    except (TypeError, ValueError):
        return f"{value!r} (a {type(value).__name__}, not a number or an array of numbers)"
    if a.ndim == 0:
        return f"{a.item():.6g}"
    text = np.array2string(a.ravel()[:8], precision=4, separator=", ")
    return f"{text[:-1] + ', ...]' if a.size > 8 else text} (shape {a.shape})"


def close(got: Any, expected: Any, atol: float = 1e-4, rtol: float = 1e-5, ceiling: float | None = None) -> bool:
    """True when ``got`` has the shape and values of ``expected``; where ``expected >= ceiling``, ``got >= ceiling``."""
    try:
        g, e = _array(got), _array(expected)
    except (TypeError, ValueError):
        return False
    if g.shape != e.shape:
        return False
    ok = np.isclose(g, e, atol=atol, rtol=rtol)
    return bool(np.all(ok if ceiling is None else np.where(e >= ceiling, g >= ceiling, ok)))


def _copy(args: tuple) -> tuple:
    # every call gets its own copy, so a function that changes its inputs cannot change the next call's
    return tuple(a.clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) for a in args)


def run_check(name: str, fn: Callable[..., Any], reference: Callable[..., Any], cases: Sequence[Case],
              mistakes: Sequence[Mistake] = (), *, called_as: str, hint: str,
              compare: Callable[[Any, Any], bool] = close) -> str:
    """Compare ``fn`` with ``reference`` on every case; return a success message or raise ``AssertionError``.

    ``called_as`` says how ``fn`` is called (it is repeated in every message); ``hint`` is given when an answer is
    wrong, matches no :class:`Mistake` and its case has no hint of its own.
    """
    if not callable(fn):
        raise TypeError(f"{name} needs your function itself, e.g. {name}(my_function), not the result of calling it "
                        f"(got a {type(fn).__name__})")
    for case in cases:
        expected = reference(*_copy(case.args))
        intro = (f"{name}: your function is called as {called_as}.\n  input:    {case.label}\n"
                 f"  expected: {_show(expected)}\n")
        try:
            got = fn(*_copy(case.args))
        except Exception as err:            # noqa: BLE001 -- any error of the student's code is reported
            raise AssertionError(f"{intro}  but your function raised {type(err).__name__}: {err}\n"
                                 f"  hint:     {case.hint or hint}") from err
        if compare(got, expected):
            continue
        why = case.hint or hint
        for m in mistakes:
            try:
                if compare(got, m.variant(*_copy(case.args))):
                    why = m.hint
                    break
            except Exception:               # noqa: BLE001 -- a variant that cannot run on this case matches nothing
                pass
        raise AssertionError(f"{intro}  returned: {_show(got)}\n  hint:     {why}")
    return f"{name}: all {len(cases)} cases pass; it agrees with {reference.__module__}.{reference.__name__}."


__all__ = ["Case", "Mistake", "close", "run_check"]
