"""The gpu scale: every scale table has it, and the sizing table that "How to use this book" includes is the output of
``scripts/size_gpu_scale.py`` on the recorded measurements and today's configurations, within the budget."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from restorelib.joint import baselines
from restorelib.rlrestore import dqn
from restorelib.labelfree import policy as label_free, quality_net
from restorelib.hirl import hirl as hirl
from restorelib.joint import joint as joint
from restorelib.pixelrl import a2c as pixelrl
from restorelib.toolbox.train_toolbox import TOOLBOX_SCALES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import gpu_paths  # noqa: E402
import size_gpu_scale as S  # noqa: E402

TABLES = {"dqn": dqn.SCALES, "hirl": hirl.SCALES, "joint": joint.SCALES, "label_free": label_free.SCALES,
          "baselines": baselines.SCALES, "pixelrl": pixelrl.SCALES, "quality_net": quality_net.SCALES}


@pytest.mark.parametrize("name", list(TABLES))
def test_every_scale_table_has_a_gpu_entry_of_the_papers_kind(name):
    table = TABLES[name]
    assert {"ci", "book", "gpu", "paper"} <= set(table)
    assert type(table["gpu"]) is type(table["paper"])


def test_toolbox_and_ablations_have_a_gpu_schedule():
    assert set(TOOLBOX_SCALES["gpu"]) == set(TOOLBOX_SCALES["paper"])
    for name in dqn.ABLATIONS:
        assert dqn.agent_config(name, "gpu").steps == dqn.SCALES["ablation-gpu"].steps
    assert dqn.agent_config("rl-restore", "gpu") == dqn.SCALES["gpu"]


def _sizing() -> dict:
    return json.loads(S.SIZING.read_text())


def test_every_training_path_is_measured_with_todays_settings():
    sizing = _sizing()
    assert set(sizing["paths"]) == set(gpu_paths.PATHS)
    for name, m in sizing["paths"].items():
        assert m["config"] == gpu_paths.PATHS[name].config("gpu"), name
        assert m["flops"] > 0 and m["kernels"] > 0 and m["unit"] == gpu_paths.PATHS[name].unit


def test_the_included_table_is_the_scripts_output():
    assert S.TABLE.read_text() == S.render(_sizing(), S._load(S.SMOKE)), \
        "regenerate it: python scripts/size_gpu_scale.py table"
    assert "```{include} gpu_scale/table.md" in (ROOT / "book" / "how_to_use.md").read_text()


def test_each_chapter_fits_a_t4_by_the_estimate():
    rows = S.chapter_rows(_sizing())
    assert [r["chapter"] for r in rows] == [c.label for c in gpu_paths.CHAPTERS]
    for r in rows:
        assert 0 < r["t4_min"] <= S.TARGET_MIN * 1.1, r["chapter"]      # training; the evaluations get the rest


def test_a_measurement_made_with_other_settings_is_refused():
    sizing = copy.deepcopy(_sizing())
    sizing["paths"]["hirl"]["config"]["env_batch"] += 1
    with pytest.raises(ValueError, match="hirl.*measure --paths hirl"):
        S.render(sizing)
    del sizing["paths"]["hirl"]
    with pytest.raises(ValueError, match="no measurement"):
        S.chapter_rows(sizing)


def test_t4_estimate_adds_its_terms():
    m = {"host_s": 0.002, "kernels": 100, "views": 50, "flops": S.T4_FP32 * S.UTILISATION * 0.01,
         "bytes": S.T4_BANDWIDTH * 0.001}
    assert S.t4_seconds(m) == pytest.approx(0.002 + 100 * S.LAUNCH_S + 50 * S.VIEW_S + 0.01 + 0.001)


def test_measured_gpu_times_join_the_table():
    sizing = _sizing()
    smoke = {"device_name": "Tesla T4", "date": "2027-01-01", "steps": 5,
             "paths": {k: {"seconds_per_unit": 1e-3} for k in sizing["paths"]}}
    text = S.render(sizing, smoke)
    assert "minutes on Tesla T4 (measured)" in text and "These times are estimates" not in text
    rows = S.chapter_rows(sizing, smoke)
    assert rows[0]["gpu_min"] == pytest.approx(sum(rows[0]["units"].values()) * 1e-3 / 60)


@pytest.mark.parametrize("args, message", [(["measure", "--paths", "dqn,nope"], "--paths: unknown"),
                                           (["table", "--json", "/nonexistent/sizing.json"], "no measurements"),
                                           (["size"], "invalid choice")])
def test_size_script_refuses_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        S.main(args)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len([x for x in err.splitlines() if "error" in x]) == 1
