"""Chapter 5's comparison: tool sets by name, `--tools`, params actually run, the comparison rows and script, the
cost scatter."""
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from restorelib import evaluate as E  # noqa: E402
from restorelib.teaching import plotting  # noqa: E402
from restorelib.joint.baselines import (BaselineConfig, build_baseline, compare, load_comparison, params_used,  # noqa: E402
                                  save_baseline, train_baseline)
from PIL import Image  # noqa: E402
from restorelib.cli import main  # noqa: E402
from restorelib.toolbox.tools import TOOLSETS, Toolbox, count_params, toolset_dir  # noqa: E402

from standins import gen  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def slim(tmp_path_factory):
    """A VDSR-s trained for two steps, saved as a folder."""
    folder = tmp_path_factory.mktemp("c5") / "slim"
    net = build_baseline("vdsr-s")
    cfg = BaselineConfig(steps=2, batch=2, log_every=1, crop=21)
    rec = train_baseline(net, torch.rand(4, 3, 63, 63, generator=gen(0)), cfg)
    save_baseline(net, "vdsr-s", cfg, rec, folder, command="test", scale="ci")
    return folder


def test_baseline_crop_and_he_init():
    with pytest.raises(ValueError, match="crop"):
        BaselineConfig(crop=64)
    with pytest.raises(ValueError, match="crop"):
        BaselineConfig(crop=-1)
    conv = build_baseline("vdsr").body[2]                   # a hidden 64 -> 64 convolution
    assert conv.weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)   # He: sqrt(2 / fan_in)


def test_toolset_dir_names_and_folders(tmp_path):
    assert toolset_dir("noise") == toolset_dir(toolset_dir("noise")) and set(TOOLSETS) == {"original", "noise", "joint"}
    with pytest.raises(FileNotFoundError, match="tools must be one of"):
        toolset_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="tools must be one of"):
        toolset_dir("best")


def test_every_tool_set_of_table_5_is_shipped_with_its_record():
    records = {}
    for name in TOOLSETS:
        box = Toolbox.load(toolset_dir(name))                # checks every file's sha256 against manifest.json
        assert len(box) == 12
        records[name] = json.loads((toolset_dir(name) / "record.json").read_text())
        assert records[name]["command"].startswith("python scripts/train_") and (toolset_dir(name) / "README.md").is_file()
    # "original": trained without the slight noise and JPEG; "noise": with them; "joint": fine-tuned from "noise"
    assert records["original"]["robust"] is False and records["noise"]["robust"] is True
    assert "--no-robust" in records["original"]["command"] and "train_joint.py" in records["joint"]["command"]


def test_rl_restore_tools_option_cli(tmp_path, capsys):
    Toolbox.load().save(tmp_path / "mine")               # a tool set given as a folder
    img = tmp_path / "imgs"
    img.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (70, 70, 3), dtype=np.uint8)).save(img / "a.png")
    base = ["evaluate", "--method", "rl-restore", "--images", str(img), "--distortion", "moderate", "--patch", "63"]
    for tools in ("noise", str(tmp_path / "mine")):
        out = tmp_path / f"{Path(tools).name}.json"
        assert main(base + ["--tools", tools, "--json", str(out)]) == 0
        assert json.loads(out.read_text())["method"].endswith(f"(tools {tools})")
    assert main(base + ["--tools", "best", "--json", str(tmp_path / "x.json")]) == 2
    assert "--tools: tools must be one of" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    assert main(["evaluate", "--method", "identity", "--images", str(img), "--distortion", "moderate",
                 "--tools", "noise"]) == 2
    assert "--tools applies to --method rl-restore only" in capsys.readouterr().err
    restored = tmp_path / "out.png"
    assert main(["restore", str(img / "a.png"), "-o", str(restored), "--tools", "noise", "--max-length", "1"]) == 0
    assert restored.is_file()
    assert main(["restore", str(img / "a.png"), "-o", str(tmp_path / "no.png"), "--method", "tool:noise-1",
                 "--tools", "joint"]) == 2
    assert "--tools applies" in capsys.readouterr().err and not (tmp_path / "no.png").exists()


def test_compare_rows_and_params_actually_run(slim):
    images = {"a": torch.rand(3, 70, 70, generator=gen(1)), "b": torch.rand(3, 64, 80, generator=gen(2))}
    agent = E.get_method("rl-restore", "cpu")
    rows = compare({"slim": f"vdsr-s:{slim}", "agent": agent}, images, groups=("mild", "severe"))
    assert [(r["method"], r["group"]) for r in rows] == [("slim", "mild"), ("slim", "severe"), ("agent", "mild"),
                                                         ("agent", "severe")]
    assert all(r["images"] == 2 and r["macs"] > 0 for r in rows)
    assert rows[0]["params"] == rows[0]["params_used"] == 209_247
    agent_only = count_params(agent.restorer.net)
    for r in rows[2:]:                                      # the agent plus the distinct tools it ran, at most all
        assert agent_only < r["params_used"] <= r["params"] and r["tool_calls"] >= 0
    chains = [["noise-1", "noise-1"], []]
    tool = count_params(agent.restorer.toolbox.nets[agent.restorer.toolbox.index("noise-1")])
    assert params_used(agent, chains) == (2 * agent_only + tool) / 2      # a tool run twice counts once


def test_load_comparison_missing_is_empty(tmp_path):
    assert load_comparison(tmp_path / "none.json") == {}


def test_eval_baselines_script(tmp_path):
    out = tmp_path / "c.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "eval_baselines.py"), "--set", "embedded-test", "--limit", "1"]
    p = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    result = json.loads(out.read_text())
    labels = {r["method"] for r in result["rows"]}
    assert "rl-restore+noise" in labels and result["images"] == 1 and "--limit 1" in result["command"]
    assert labels.isdisjoint(result["skipped"]) and len(result["rows"]) == 3 * len(labels)
    bad = subprocess.run(cmd + ["--out", str(tmp_path / "no" / "c.json")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--out" in bad.stderr


def test_cost_scatter_one_panel_per_group():
    rows = [{"method": m, "group": g, "psnr_out": 25.0 + k, "macs": 1e9 * (k + 1)}
            for k, m in enumerate(("vdsr", "rl-restore+joint")) for g in ("mild", "severe")]
    fig = plotting.cost_scatter(rows, ("mild", "severe"), paper={"vdsr": (6.67e5, 2.65e9)})
    assert len(fig.axes) == 2 and len(fig.axes[0].collections) == 2 and len(fig.axes[0].lines) == 1


def test_agent_macs_follow_the_checks_reference_and_the_check_names_mistakes():
    from restorelib.teaching import checks
    agent = E.get_method("rl-restore", "cpu")
    r = E.evaluate(agent, {"a": torch.rand(3, 80, 80, generator=gen(3)), "b": torch.rand(3, 70, 90, generator=gen(4))},
                   "severe", patch=63, patches_per_image=3)
    box, t_max = agent.restorer.toolbox, agent.restorer.cfg.t_max
    for row in r["per_image"]:
        tools = [round(box.macs_per_pixel(t) * 63 * 63) for t in row["chain"]]
        assert row["macs"] == pytest.approx(checks.rl_restore_macs(tools, t_max, agent.restorer.agent_macs()), abs=2)
    assert "all 3 cases pass" in checks.check_rl_restore_macs(checks.rl_restore_macs)
    with pytest.raises(AssertionError, match="stop decision is missing"):
        checks.check_rl_restore_macs(lambda tm, t, a: sum(tm) + len(tm) * a)


def test_get_baseline_and_joint_toolbox_train_at_ci_scale():
    from restorelib.joint.baselines import get_baseline
    from restorelib.core.config import get_profile
    from restorelib.joint.joint import get_joint_toolbox
    bank = torch.rand(6, 3, 63, 63, generator=gen(5))
    ci = get_profile("ci")
    net, rec = get_baseline("vdsr-s", ci, bank)
    assert rec["curve"]["steps"] == [1, 2, 3] and not net.training
    m = E.get_method("rl-restore", "cpu")
    before = [p.clone() for p in m.restorer.toolbox.parameters()]
    box, jrec = get_joint_toolbox(ci, m.restorer, bank)
    assert all(torch.equal(a, b) for a, b in zip(before, m.restorer.toolbox.parameters()))   # the original is kept
    assert sum(jrec["uses"].values()) > 0 and any(not torch.equal(a, b) for a, b in zip(before, box.parameters()))
    with pytest.raises(ValueError, match="bank"):
        get_baseline("vdsr", ci)
