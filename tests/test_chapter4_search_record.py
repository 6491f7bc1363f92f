"""Chapter 4's shipped search record: replayed and checked, never trusted blindly; the chapter's code on the page
comes from the library; the Double DQN check of its exercise."""
import ast
import json
import re
from pathlib import Path

import pytest
import torch
from standins import search_inputs, toy_toolbox

from restorelib.rlrestore import nets as agents
from restorelib.teaching import checks
from restorelib.search.record import record_of, search_baselines

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04_rl_restore.ipynb"
GROUPS = ("mild", "moderate")


@pytest.fixture(scope="module")
def inputs():
    return search_inputs()


def searched(tb, inputs, record=None):
    images, deg, clean = inputs
    return search_baselines(tb, images, GROUPS, 2, deg, clean, record=record)


def test_a_record_is_replayed_and_gives_the_searches_results(inputs, tmp_path):
    tb = toy_toolbox()
    here = searched(tb, inputs)
    assert here.source == "searched here" and here.record is None
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record_of(here, tb, *inputs[:1], GROUPS, 2, *inputs[1:], command="test", seconds=1.0,
                                         device="cpu")))
    again = searched(tb, inputs, path)
    assert again.source == "record" and again.record["command"] == "test"
    assert again.fixed_chain == here.fixed_chain
    assert again.fixed_train_psnr == pytest.approx(here.fixed_train_psnr, abs=1e-5)
    for g in GROUPS:
        a, b = again.brute_force[g], here.brute_force[g]
        assert a["method"] == b["method"] and a["trials"] == b["trials"] == 3 + 9
        assert a["psnr_out"] == pytest.approx(b["psnr_out"], abs=1e-6) and a["macs"] == b["macs"]
        assert [r["chain"] for r in a["per_image"]] == [r["chain"] for r in b["per_image"]]


def test_a_record_that_does_not_hold_here_is_not_used(inputs, tmp_path):
    tb = toy_toolbox()
    rec = record_of(searched(tb, inputs), tb, *inputs[:1], GROUPS, 2, *inputs[1:], command="test", seconds=1.0,
                    device="cpu")
    path = tmp_path / "record.json"
    path.write_text(json.dumps(rec))
    assert searched(toy_toolbox(darken=0.7), inputs, path).source == "searched here"   # other tools
    images, deg, clean = inputs
    other = search_baselines(tb, dict(list(images.items())[:2]), GROUPS, 2, deg, clean, record=path)
    assert other.source == "searched here"                                             # other patches
    bad = json.loads(json.dumps(rec))
    row = bad["searches"]["brute-force"]["mild"]["per_image"][0]
    row["chain"] = ["t1"] if row["chain"] != ["t1"] else ["t2"]                       # a chain it did not choose
    path.write_text(json.dumps(bad))
    assert searched(tb, inputs, path).source == "searched here"
    assert searched(tb, inputs, tmp_path / "missing.json").source == "searched here"


def test_the_chapter_shows_the_librarys_code():
    """Every literalinclude of chapter 4 names a library file, relative to the notebook, and a function in it."""
    text = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"])
    found = re.findall(r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)", text)
    assert {name for _, name in found} >= {"RestoreEnv.step", "EpisodeMemory.sample", "dqn_loss", "td_targets",
                                          "RLRestoreNet.forward_sequence"}
    for rel, name in found:
        path = (NOTEBOOK.parent / rel).resolve()
        assert path.is_file() and path.is_relative_to(ROOT / "restorelib"), rel
        scope = ast.parse(path.read_text()).body
        for part in name.split("."):
            scope = [n for n in scope if getattr(n, "name", None) == part]
            assert scope, f"{rel} has no {name}"
            scope = scope[0].body


def test_double_td_target_check_names_the_usual_mistakes():
    assert checks.check_double_td_target(
        lambda qt, qo, r, d, g: agents.td_targets(qt, r, d, g, qo)).startswith("check_double_td_target: all")
    for wrong, words in (
            (lambda qt, qo, r, d, g: agents.td_targets(qt, r, d, g), "plain DQN"),
            (lambda qt, qo, r, d, g: agents.td_targets(qo, r, d, g), "values the action with the online"),
            (lambda qt, qo, r, d, g: r + g * qt.gather(-1, qo.argmax(-1, keepdim=True))[..., 0], "(1 - done)"),
            (lambda qt, qo, r, d, g: qt, "called as")):
        with pytest.raises(AssertionError, match=re.escape(words)):
            checks.check_double_td_target(wrong)
