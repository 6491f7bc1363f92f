"""Whole-photo stopping (restorelib.rlrestore.stopping, scripts/stopping_study.py): does an agent end at its best step?"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib.core import data
from restorelib.core.degradations import degrade
from restorelib.core.metrics import psnr
from restorelib.rlrestore.restore import AgentRestorer, ImageResult, restore_by_votes
from restorelib.rlrestore.stopping import AT_BEST_DB, cautious_end, choose_stop_share, stopping_study

ROOT = Path(__file__).resolve().parents[1]


class Scripted:
    """A restorer whose k-th photo gets a known PSNR curve (and a chain one shorter)."""

    def __init__(self, curves):
        self.curves, self.k = curves, 0

    def restore_image(self, image, t_max=None, reference=None):
        c = self.curves[self.k]
        self.k += 1
        return ImageResult(image, [f"tool-{i}" for i in range(len(c) - 1)], [], list(c))


def _photos(n=3, size=40):
    g = torch.Generator().manual_seed(1)
    return {f"p{i}": torch.rand(3, size, size, generator=g) for i in range(n)}


def test_best_step_and_loss_from_the_curve():
    curves = [[20.0, 23.0, 22.5], [20.0, 21.0, 22.0], [25.0, 24.0]]
    s = stopping_study(Scripted(curves), _photos(), "noise:20")
    p = list(s["photos"].values())
    assert [q["best_step"] for q in p] == [1, 2, 0]
    assert [q["loss_db"] for q in p] == pytest.approx([0.5, 0.0, 1.0])
    assert s["at_best"] == 1 and s["photos_n"] == 3
    assert s["mean_loss_db"] == pytest.approx(0.5) and s["max_loss_db"] == pytest.approx(1.0)
    assert s["mean_calls"] == pytest.approx(5 / 3, abs=1e-3)
    assert s["mean_gain_db"] == pytest.approx((2.5 + 2.0 - 1.0) / 3, abs=1e-3)
    assert AT_BEST_DB > 0


def test_the_shipped_agent_on_a_photo_matches_an_independent_psnr():
    clean = {k: v[:, :96, :96] for k, v in data.load_set("embedded-test", limit=1).items()}
    agent = AgentRestorer.load("rl-restore")
    s = stopping_study(agent, clean, "noise:25+jpeg:30", seed=3)
    name, img = next(iter(clean.items()))
    x, levels = degrade(img[None], "noise:25+jpeg:30", torch.Generator().manual_seed(3 * 100_003))
    rec = s["photos"][name]
    assert rec["levels"] == levels[0]
    assert rec["psnr"][0] == pytest.approx(psnr(x.clamp(0, 1), img[None]).item(), abs=1e-3)
    again = agent.restore_image(x[0].clamp(0, 1), reference=img)
    assert rec["chain"] == again.chain and len(rec["psnr"]) == len(again.chain) + 1
    assert rec["psnr"][-1] == pytest.approx(psnr(again.image[None], img[None]).item(), abs=1e-3)
    assert rec["loss_db"] == pytest.approx(max(rec["psnr"]) - rec["psnr"][-1], abs=1e-4)


def _voted(votes_per_step, stop_share=None):
    """restore_by_votes with scripted votes: at step t every patch votes as votes_per_step[t] says (stop = 2)."""
    def vote(crops, rows, k, step):
        counts = votes_per_step[step]
        return torch.cat([torch.full((n,), a) for a, n in enumerate(counts)])[:len(crops)]

    def apply_choice(x, a):
        return x * 0.9, f"tool-{a}"
    image = torch.full((3, 63, 63 * 4), 0.5)                 # four patches
    return restore_by_votes(image, 3, vote, 2, apply_choice, stop_share=stop_share)


def test_the_cautious_vote_ends_a_chain_on_a_minority_of_stop_votes():
    steps = [[4, 0, 0], [2, 1, 1], [3, 0, 1]]                  # stop gets 0, 1, 1 of 4 votes; never the majority
    assert _voted(steps).chain == ["tool-0", "tool-0", "tool-0"]
    assert _voted(steps, stop_share=0.25).chain == ["tool-0"]
    assert _voted(steps, stop_share=0.5).chain == ["tool-0"] * 3
    assert _voted([[0, 1, 3]], stop_share=1.0).chain == []     # the majority still stops
    for bad in (0, 1.5, True, "0.3"):
        with pytest.raises(ValueError, match="stop_share must be None or a number in"):
            _voted(steps, stop_share=bad)


def test_cautious_figures_are_the_prefixes_that_a_cautious_restoration_takes():
    assert cautious_end([[4, 0, 0], [2, 1, 1], [3, 0, 1]], 3, 0.25) == 1
    assert cautious_end([[4, 0, 0], [2, 1, 1]], 2, 0.5) == 2
    assert cautious_end([[1, 1, 2]], 0, 0.3) == 0
    clean = {k: v[:, :96, :126] for k, v in data.load_set("embedded-test", limit=2).items()}
    agent = AgentRestorer.load("rl-restore")
    s = stopping_study(agent, clean, "noise:25+jpeg:30", seed=3, stop_shares=(0.2, 0.5))
    for share in (0.2, 0.5):
        ends = []
        for i, (name, img) in enumerate(clean.items()):
            x, _ = degrade(img[None], "noise:25+jpeg:30", torch.Generator().manual_seed(3 * 100_003 + i))
            again = agent.restore_image(x[0].clamp(0, 1), reference=img, stop_share=share)
            rec = s["photos"][name]
            assert again.chain == rec["chain"][:len(again.chain)]          # a prefix of the majority's chain
            assert again.psnr == pytest.approx(rec["psnr"][:len(again.psnr)], abs=1e-4)
            ends.append(len(again.chain))
        assert s["cautious"][f"{share:g}"]["mean_calls"] == pytest.approx(sum(ends) / len(ends), abs=1e-3)


def test_refuses_no_photos_and_bad_spec():
    with pytest.raises(ValueError, match="images"):
        stopping_study(Scripted([]), {}, "noise:20")
    with pytest.raises(ValueError, match="spec"):
        stopping_study(Scripted([[1.0]]), _photos(1), "noize:20")
    with pytest.raises(ValueError, match="stop_share"):
        stopping_study(Scripted([[1.0]]), _photos(1), "noise:20", stop_shares=(0.0,))


def test_script_writes_json_and_refuses_bad_input(tmp_path):
    out = tmp_path / "stop.json"
    script = str(ROOT / "scripts" / "stopping_study.py")
    p = subprocess.run([sys.executable, script, "--methods", "rl-restore", "--set", "embedded-test", "--limit", "1",
                        "--stop-shares", "0.25", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result = json.loads(out.read_text())
    s = result["methods"]["rl-restore"]
    assert s["photos_n"] == 1 and result["command"].startswith("python scripts/stopping_study.py --methods")
    assert "ended at its best step on" in p.stdout and "stop share >= 0.25" in p.stdout
    assert s["cautious"]["0.25"]["mean_calls"] <= s["mean_calls"]
    for bad, flag in ((["--methods", "dncnn"], "--methods"), (["--methods", "rl-restore", "--limit", "0"], "--limit"),
                      (["--methods", "rl-restore", "--spec", "blurr:2"], "--spec"),
                      (["--methods", "rl-restore", "--stop-shares", "1.2"], "--stop-shares"),
                      (["--methods", "rl-restore", "--json", str(out)], "--json")):
        p = subprocess.run([sys.executable, script, *bad], capture_output=True, text=True, timeout=300)
        assert p.returncode == 2 and flag in p.stderr and len(p.stderr.strip().splitlines()) <= 4, p.stderr
    assert json.loads(out.read_text()) == result                      # not overwritten


def test_the_share_is_chosen_by_the_smallest_loss_on_training_photos():
    study = {"mean_loss_db": 0.47, "cautious": {"0.1": {"mean_loss_db": 0.27}, "0.2": {"mean_loss_db": 0.29},
                                                "0.3": {"mean_loss_db": 0.27}, "0.4": {"mean_loss_db": 0.47}}}
    assert choose_stop_share(study) == 0.3                            # a tie goes to the larger share
    assert choose_stop_share({"mean_loss_db": 0.2, "cautious": {"0.1": {"mean_loss_db": 0.2}}}) is None
    assert choose_stop_share({"mean_loss_db": 0.2, "cautious": {}}) is None


def test_update_keeps_the_other_methods_of_the_same_study_only(tmp_path):
    out = tmp_path / "stop.json"
    script = str(ROOT / "scripts" / "stopping_study.py")
    base = ["--set", "embedded-test", "--limit", "1", "--spec", "noise:20", "--json", str(out)]
    first = subprocess.run([sys.executable, script, "--methods", "rl-restore", *base], capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    refused = subprocess.run([sys.executable, script, "--methods", "hirl", *base], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "--json" in refused.stderr             # no overwrite without --update
    again = subprocess.run([sys.executable, script, "--methods", "hirl", *base, "--update"], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    methods = json.loads(out.read_text())["methods"]
    assert set(methods) == {"rl-restore", "hirl"}
    assert "--methods rl-restore " in methods["rl-restore"]["command"] and "--methods hirl " in methods["hirl"]["command"]
    other = [a if a != "noise:20" else "noise:30" for a in base]
    bad = subprocess.run([sys.executable, script, "--methods", "hirl", *other, "--update"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "another study" in bad.stderr
    assert set(json.loads(out.read_text())["methods"]) == {"rl-restore", "hirl"}
    no_json = subprocess.run([sys.executable, script, "--methods", "hirl", "--update"], capture_output=True,
                             text=True, timeout=300)
    assert no_json.returncode == 2 and "--update needs --json" in no_json.stderr
