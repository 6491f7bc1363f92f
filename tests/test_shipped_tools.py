"""The shipped toolbox works: every tool improves its own distortion at its mid-level on photos it never saw.

This is the check that the first toolbox failed (jpeg-1, jpeg-2 and noise-1 were still the identity they were
initialised to). It measures the shipped weights live; the figures of the record are checked against it.
"""
from __future__ import annotations

import json

import pytest
import torch

from restorelib.core import data
from restorelib.core.config import weights_dir
from restorelib.toolbox.tools import TOOL_NAMES, Toolbox
from restorelib.toolbox.train_toolbox import TOOL_FLOORS, validation_pairs
from restorelib.toolbox.training import evaluate_pair

LEARNED_DB = 0.05        # the least gain that is more than rounding: a tool below it does nothing


@pytest.fixture(scope="module")
def toolbox() -> Toolbox:
    return Toolbox.load()


@pytest.fixture(scope="module")
def held_out(shared_data) -> dict[str, torch.Tensor]:
    """12 CBSD68 photos (never trained on); CBSD398, the training set, shares none of them."""
    return data.load_set("CBSD68", limit=12, root=shared_data)


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_each_shipped_tool_improves_its_own_mid_level(toolbox, held_out, name):
    i = toolbox.index(name)
    x, y = validation_pairs(toolbox.specs[i], held_out, 2, seed=40_000 + i, mid=True)
    p_in, p_out = evaluate_pair(toolbox.nets[i], x, y)
    assert p_out - p_in > LEARNED_DB, f"{name}: {p_in:.2f} -> {p_out:.2f} dB at its mid-level"


def test_record_figures_and_floors():
    record = json.loads((weights_dir() / "tools" / "record.json").read_text())
    assert record["train_set"] == "CBSD398" and record["val_set"] == "CBSD68"
    assert set(record["tools"]) == set(TOOL_NAMES)
    missed = {n: r["val_mid"]["gain"] for n, r in record["tools"].items() if r["val_mid"]["gain"] < TOOL_FLOORS[n]}
    assert not missed, f"tools below their floor at the mid-level on CBSD68: {missed}"
