"""The shipped search records of chapters 3 and 4 (restorelib.search.record): used only when they hold these very
searches with these tools on these patches, every recorded PSNR found again; scripts/record_search.py's refusals."""
import json
import sys
from pathlib import Path

import pytest
import torch
from standins import search_inputs, toy_toolbox

from restorelib.search.record import KINDS, RECORDS, record_of, search_baselines

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import record_search  # noqa: E402

GROUPS = ("mild", "moderate")
CH3 = KINDS[3]


@pytest.fixture(scope="module")
def inputs():
    return search_inputs()


def searched(tb, inputs, record=None, images=None, kinds=CH3):
    imgs, deg, clean = inputs
    return search_baselines(tb, images if images is not None else imgs, GROUPS, 2, deg, clean, record=record,
                            kinds=kinds)


@pytest.fixture(scope="module")
def made(inputs, tmp_path_factory):
    """Chapter 3's searches made here with the toy tools, and their record written to a file."""
    tb = toy_toolbox()
    here = searched(tb, inputs)
    rec = record_of(here, tb, inputs[0], GROUPS, 2, *inputs[1:], command="test", seconds=1.0, device="cpu")
    path = tmp_path_factory.mktemp("rec") / "record.json"
    path.write_text(json.dumps(rec))
    return here, rec, path


def test_chapter3s_record_is_replayed_and_gives_every_searchs_results(inputs, made):
    here, rec, path = made
    assert here.source == "searched here" and here.reason == "no record was asked for"
    assert set(rec["searches"]) == set(CH3) and set(rec["searches"]["greedy"]) == set(GROUPS)
    again = searched(toy_toolbox(), inputs, path)
    assert again.source == "record" and again.reason == "" and again.record["command"] == "test"
    assert again.fixed_chain == here.fixed_chain
    assert again.fixed_train_psnr == pytest.approx(here.fixed_train_psnr, abs=1e-5)
    for kind in CH3:
        for g in GROUPS:
            a, b = again.searches[kind][g], here.searches[kind][g]
            assert a["method"] == b["method"] and a["trials"] == b["trials"] and a["macs"] == b["macs"]
            assert a["psnr_out"] == pytest.approx(b["psnr_out"], abs=1e-6)
            assert a["ssim_out"] == pytest.approx(b["ssim_out"], abs=1e-6)
            assert [r["chain"] for r in a["per_image"]] == [r["chain"] for r in b["per_image"]]
    assert again.searches["brute-force"]["mild"]["trials"] == 3 + 9      # every chain of up to 2 of 3 tools
    assert again.brute_force is again.searches["brute-force"]


def test_a_record_of_other_tools_or_patches_is_refused_and_the_searches_run(inputs, made):
    _, _, path = made
    other_tools = searched(toy_toolbox(darken=0.7), inputs, path)       # one tool's weights differ
    assert other_tools.source == "searched here" and "other tools" in other_tools.reason
    images, deg, clean = inputs
    touched = {k: v.clone() for k, v in images.items()}
    touched["im1"][0, 5, 5] = 1 - touched["im1"][0, 5, 5]               # one pixel: same names and sizes
    other_pixels = searched(toy_toolbox(), inputs, path, images=touched)
    assert other_pixels.source == "searched here" and "pixels differ" in other_pixels.reason
    assert other_pixels.searches["greedy"]["mild"]["per_image"][0]["image"] == "im0#0"   # searched, in full
    fewer = searched(toy_toolbox(), inputs, path, images=dict(list(images.items())[:2]))
    assert fewer.source == "searched here" and "other test images" in fewer.reason
    train = search_baselines(toy_toolbox(), images, GROUPS, 2, deg, clean.flip(-1), record=path, kinds=CH3)
    assert train.source == "searched here" and "training patches" in train.reason
    ch4 = searched(toy_toolbox(), inputs, path, kinds=KINDS[4])         # chapter 4's searches are not these
    assert ch4.source == "searched here" and "other searches" in ch4.reason
    assert set(ch4.searches) == {"brute-force"}


@pytest.mark.parametrize("where", ["greedy", "brute-force", "fixed"])
def test_a_tampered_psnr_is_caught(inputs, made, tmp_path, where):
    here, rec, _ = made
    bad = json.loads(json.dumps(rec))
    if where == "fixed":
        bad["fixed_chain"]["train_psnr"] += 0.01
    else:
        bad["searches"][where]["moderate"]["per_image"][1]["psnr_out"] += 0.01
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    found = searched(toy_toolbox(), inputs, path)
    assert found.source == "searched here" and found.record is None
    assert ("fixed chain" if where == "fixed" else f"{where}'s chain for im1#0 (moderate)") in found.reason
    assert found.searches["greedy"]["moderate"]["psnr_out"] == pytest.approx(
        here.searches["greedy"]["moderate"]["psnr_out"], abs=1e-6)             # the live search's result


def test_a_record_cut_short_or_unreadable_is_not_used(inputs, made, tmp_path):
    _, rec, _ = made
    short = json.loads(json.dumps(rec))
    del short["searches"]["greedy"]["moderate"]
    for name, text, words in (("short.json", json.dumps(short), "malformed"),
                              ("junk.json", "{not json", "cannot be read"), ("list.json", "[]", "not a JSON object")):
        (tmp_path / name).write_text(text)
        found = searched(toy_toolbox(), inputs, tmp_path / name)
        assert found.source == "searched here" and words in found.reason, found.reason
    assert "no record" in searched(toy_toolbox(), inputs, tmp_path / "missing.json").reason
    with pytest.raises(ValueError, match="kinds"):
        searched(toy_toolbox(), inputs, kinds=("brute-force", "beam"))


def test_each_chapter_has_its_own_record():
    assert set(RECORDS) == set(KINDS) == {3, 4} and RECORDS[3] != RECORDS[4]
    assert RECORDS[3].parent == RECORDS[4].parent == ROOT / "restorelib" / "weights" / "agents"


@pytest.mark.parametrize("args, words", [
    (["--chapter", "5"], "--chapter"),
    (["--out", "{tmp}/x.json"], "--out names one record"),
    (["--chapter", "3", "--out", "{tmp}/x.json", "--out-dir", "{tmp}"], "not both"),
    (["--out-dir", "{tmp}/nowhere"], "--out-dir must be an existing folder"),
    (["--chapter", "4", "--out", "{tmp}/nowhere/x.json"], "--out: folder"),
    (["--chapter", "3", "--out", "{tmp}"], "is a folder"),
    (["--chapter", "3", "--out", "{tmp}/taken.json"], "give --force"),
    (["--out-dir", "{tmp}", "--device", "tpu"], "--device"),
    (["--scale", "huge"], "--scale"),
])
def test_the_script_refuses_bad_arguments_in_one_line_before_any_work(tmp_path, capsys, monkeypatch, args, words):
    (tmp_path / "taken.json").write_text("someone's record")
    monkeypatch.setattr(record_search, "record_chapter", lambda *a, **k: pytest.fail("the work started"))
    with pytest.raises(SystemExit) as stop:
        record_search.main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]
    assert (tmp_path / "taken.json").read_text() == "someone's record"


def test_the_script_writes_each_chapters_record_where_asked(tmp_path, monkeypatch):
    """--out-dir DIR writes both records under their shipped names; each is the chapter's own (stubbed here: the
    real searches take minutes; tests above check the records' contents)."""
    monkeypatch.setattr(record_search, "record_chapter", lambda c, *a: ({"chapter": c}, 0.0))
    monkeypatch.setattr(record_search.Toolbox, "load", staticmethod(lambda **_: None))
    assert record_search.main(["--scale", "ci", "--out-dir", str(tmp_path)]) == 0
    for c in (3, 4):
        assert json.loads((tmp_path / RECORDS[c].name).read_text()) == {"chapter": c}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RECORDS[c].name for c in (3, 4))
