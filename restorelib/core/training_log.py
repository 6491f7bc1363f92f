"""The one training log of the book's trainers (chapters 2 and 4-8): curves of means over log intervals.

A trainer adds what each step measured (``log.add(loss=0.03, gain=1.2)``) and, at a log step, closes the interval
(``log.point(step, eps=0.4)``; :meth:`TrainingLog.add_step` does both): every curve of ``TrainingLog.MEANS`` gets
the mean of the values added since the previous point (NaN if none were), the keywords are appended as they are, and
the x axis gets ``step``. A record
class of a chapter is a dataclass that declares its curves as list fields and says which are means, how
``record.json`` names them (:meth:`TrainingLog.curve`) and the x axis; the averaging, the state that a resumed run
needs (the running values travel in the record, which :class:`~restorelib.core.resume.RunCheckpoint` saves) and the
JSON are written here once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class TrainingLog:
    """Base of every training record: ``seconds`` of the whole run and the values added since the last log point.

    Subclasses set ``AXIS`` (the field of the x values: ``steps``, ``episodes``, ``iters``), ``MEANS``
    (``{curve field: name of the added value}``), ``JSON`` (``{curve field: key in record.json}``, in order;
    default: the fields' own names) and ``NAN_AS_NONE`` (NaN written as JSON ``null``).
    """

    seconds: float = 0.0
    running: dict[str, list[float]] = field(default_factory=dict, repr=False)

    AXIS: ClassVar[str] = "steps"
    MEANS: ClassVar[dict[str, str]] = {}
    JSON: ClassVar[dict[str, str]] = {}
    NAN_AS_NONE: ClassVar[bool] = False

    def add(self, **values: float) -> None:
        """Add one step's measurements, e.g. ``add(loss=0.031, gain=1.2)`` (names of ``MEANS``' values)."""
        for name, value in values.items():
            self.running.setdefault(name, []).append(float(value))

    @staticmethod
    def due(step: int, every: int, last: int) -> bool:
        """True at a log step: every ``every`` steps, and at the run's ``last`` step."""
        return step % every == 0 or step == last

    def point(self, at: int, **values: float) -> None:
        """Close the interval at ``at`` (a step, episode or iteration): append the means of ``MEANS`` (NaN for a
        value never added since the previous point) and ``values`` as they are (e.g. the epsilon of that step)."""
        getattr(self, self.AXIS).append(at)
        for curve, name in self.MEANS.items():
            got = self.running.get(name, [])
            getattr(self, curve).append(sum(got) / len(got) if got else math.nan)
        for curve, value in values.items():
            getattr(self, curve).append(value)
        self.running = {}

    def add_step(self, at: int, every: int, last: int, **values: float) -> bool:
        """:meth:`add` one step's ``values``; at a log step (:meth:`due`) close the interval (:meth:`point`) and
        return True, so that the trainer writes its log line: ``if rec.add_step(step, 50, steps, loss=l) and log:``."""
        self.add(**values)
        if not self.due(at, every, last):
            return False
        self.point(at)
        return True

    def curve(self) -> dict[str, list]:
        """The curves as ``record.json`` stores them (keys of ``JSON``, or every curve under its own name)."""
        names = self.JSON or {f: f for f in self.__dataclass_fields__ if f not in ("seconds", "running")}
        clean = (lambda v: [None if isinstance(x, float) and math.isnan(x) else x for x in v]) if self.NAN_AS_NONE \
            else list
        return {key: clean(getattr(self, f)) for f, key in names.items()}


__all__ = ["TrainingLog"]
