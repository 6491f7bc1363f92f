"""restorelib.core.training_log: the one training log of every trainer (chapters 2, 4-8)."""
from __future__ import annotations

import importlib
import inspect
import json
import math
from dataclasses import asdict, dataclass, field

import pytest

from restorelib.core.training_log import TrainingLog


@dataclass
class _Log(TrainingLog):
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    eps: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)

    MEANS = {"losses": "loss", "val": "val"}
    JSON = {"steps": "steps", "losses": "loss", "eps": "eps", "val": "val_db"}
    NAN_AS_NONE = True


def test_a_point_holds_the_means_since_the_last_one_and_the_values_given():
    log = _Log()
    for step in range(1, 8):
        if log.add_step(step, every=3, last=7, loss=float(step)):
            log.eps.append(0.5)                       # nothing else was given: eps is appended by hand here
    assert log.steps == [3, 6, 7]
    assert log.losses == [2.0, 5.0, 7.0]              # means of 1..3, 4..6, 7
    assert all(math.isnan(v) for v in log.val)        # never added: NaN, one per point
    log.add(loss=1.0, loss_extra=2.0)
    log.point(9, eps=0.1)
    assert (log.steps[-1], log.losses[-1], log.eps[-1], log.running) == (9, 1.0, 0.1, {})


def test_curve_is_json_with_the_records_names_and_nan_as_null():
    log = _Log()
    log.add_step(1, 1, 1, loss=0.25)
    log.eps.append(0.9)
    curve = log.curve()
    assert list(curve) == ["steps", "loss", "eps", "val_db"]
    assert json.loads(json.dumps(curve, allow_nan=False)) == {"steps": [1], "loss": [0.25], "eps": [0.9],
                                                              "val_db": [None]}


def test_the_running_values_travel_with_the_record_state():
    """A run stopped between two log points and resumed from ``asdict(record)`` (what RunCheckpoint saves) logs
    the same means as one that was never stopped."""
    straight, first = _Log(), _Log()
    for step in range(1, 6):
        straight.add_step(step, 4, 5, loss=step * 0.1)
    for step in range(1, 3):
        first.add_step(step, 4, 5, loss=step * 0.1)
    resumed = _Log()
    for k, v in json.loads(json.dumps(asdict(first))).items():
        setattr(resumed, k, v)
    for step in range(3, 6):
        resumed.add_step(step, 4, 5, loss=step * 0.1)
    assert resumed.steps == straight.steps and resumed.losses == pytest.approx(straight.losses)


RECORDS = [("restorelib.rlrestore.dqn", "TrainRecord"), ("restorelib.hirl.hirl", "HirlRecord"),
           ("restorelib.pixelrl.training", "TrainRecord"), ("restorelib.pixelrl.color_method", "ColorCNNRecord"),
           ("restorelib.toolbox.training", "PatchTrainRecord"), ("restorelib.toolbox.training", "TrainLog"), ("restorelib.joint.joint", "JointRecord"),
           ("restorelib.labelfree.policy", "LabelFreeRecord"), ("restorelib.labelfree.quality_net", "QualityRecord")]


@pytest.mark.parametrize("module, name", RECORDS)
def test_every_trainers_record_is_the_one_log(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, TrainingLog)
    rec = cls()
    assert set(rec.MEANS) | {rec.AXIS} <= set(rec.JSON or rec.__dataclass_fields__)
    assert all(isinstance(getattr(rec, f), list) for f in rec.JSON)
    src = inspect.getsource(importlib.import_module(module))
    assert "sum(recent" not in src and "/ len(running)" not in src   # no trainer averages its own log any more
