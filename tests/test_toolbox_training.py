"""restorelib.toolbox.train_toolbox: a whole toolbox trained, resumed across processes, and refused when a tool did not
learn; the mid-levels and floors; scripts/train_tools.py's checks of its arguments."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib.hirl.tools import HIRL_TOOLS
from restorelib.toolbox.tools import TOOL_NAMES, Toolbox, tool_spec
from restorelib.toolbox.train_toolbox import (TOOL_FLOORS, ToolDidNotLearn, mid_level, train_toolbox,
                                         validation_pairs)
from restorelib.toolbox.training import dead_units

ROOT = Path(__file__).resolve().parents[1]
SPECS = (HIRL_TOOLS[0], HIRL_TOOLS[8])                      # a 3-layer denoiser and an 8-layer deblurrer


def test_mid_levels_and_floors():
    assert mid_level(tool_spec("noise-2")) == {"noise": 18.75}
    assert mid_level(tool_spec("jpeg-1")) == {"jpeg": 80.0} and mid_level(tool_spec("jpeg-2")) == {"jpeg": 48.0}
    assert mid_level(tool_spec("blur-4")) == {"blur": 4.375}
    assert set(TOOL_FLOORS) == set(TOOL_NAMES) and all(v > 0 for v in TOOL_FLOORS.values())


def test_validation_pairs_at_mid_level():
    from restorelib.core import data
    imgs = data.load_set("embedded-test", limit=2)
    x, y = validation_pairs(tool_spec("noise-3"), imgs, 3, seed=0, mid=True)
    assert x.shape == y.shape == (6, 3, 63, 63)
    assert (x - y).std().item() * 255 == pytest.approx(31.25, rel=0.1)


def test_refuses_a_toolbox_whose_tool_did_not_learn(tmp_path):
    with pytest.raises(ToolDidNotLearn, match="denoise-15"):
        train_toolbox("ci", tmp_path, val_set="embedded-test", val_per_image=1, specs=SPECS, log=None,
                      min_gain=50.0)
    assert not (tmp_path / "manifest.json").exists() and not (tmp_path / "record.json").exists()
    assert {p.name for p in (tmp_path / ".partial").iterdir()} >= {"denoise-15.pt", "deblur-15.pt"}


def test_two_processes_share_a_folder_and_the_last_writes_the_manifest(tmp_path):
    logs = []
    keep = lambda line, **_: logs.append(line)                        # noqa: E731
    _, rec = train_toolbox("ci", tmp_path, val_set="embedded-test", val_per_image=1, specs=SPECS,
                           only=["deblur-15"], resume=True, log=keep)
    assert list(rec["tools"]) == ["deblur-15"] and not (tmp_path / "manifest.json").exists()
    box, rec = train_toolbox("ci", tmp_path, val_set="embedded-test", val_per_image=1, specs=SPECS,
                             only=["denoise-15"], resume=True, log=keep)
    assert list(rec["tools"]) == ["denoise-15", "deblur-15"]          # the other was loaded, in toolbox order
    assert any("deblur-15: finished before, loaded" in line for line in logs)
    assert (tmp_path / "manifest.json").is_file() and not (tmp_path / ".partial").exists()
    r = rec["tools"]["denoise-15"]
    assert {"val_mid", "val_own", "val_robust", "steps_per_s", "loss_curve"} <= set(r)
    assert rec["config"]["crop"] == 40 and rec["config"]["amp"] is True and rec["train_images"] == 8
    loaded = Toolbox.load(tmp_path)
    assert torch.equal(loaded.nets[1].tail.weight, box.nets[1].tail.weight)
    card = (tmp_path / "README.md").read_text()
    assert "| denoise-15 | 5 |" in card and "mid:" in card


def test_rejects_unknown_only_and_steps(tmp_path):
    with pytest.raises(ValueError, match="only"):
        train_toolbox("ci", tmp_path, val_set="embedded-test", only=["noise-9"], log=None)
    with pytest.raises(ValueError, match="steps"):
        train_toolbox("ci", tmp_path, val_set="embedded-test", steps=0, log=None)
    assert not tmp_path.joinpath(".partial").exists()


def test_dead_units_finds_a_dead_layer():
    from restorelib.toolbox.tools import LargeTool, SmallTool
    x = torch.rand(4, 3, 20, 20, generator=torch.Generator().manual_seed(0))
    net = SmallTool()
    assert dead_units(net, x)["conv2"][1] == 16
    with torch.no_grad():
        net.conv2.bias.fill_(-1e3)                                     # every channel switched off
    assert dead_units(net, x)["conv2"] == (16, 16) and dead_units(net, x)["conv1"][1] == 32
    large = dead_units(LargeTool(), x)
    assert list(large) == ["head", "shrink", "body0", "body1", "body2", "body3", "expand"]
    with pytest.raises(TypeError, match="SmallTool"):
        dead_units(torch.nn.Identity(), x)


def _script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train_tools.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.parametrize("args,needle", [
    (["--only", "noise-9"], "--only"),
    (["--train-set", "NoSuchSet"], "NoSuchSet"),
    (["--steps", "0"], "--steps"),
    (["--checkpoint-every", "0"], "--checkpoint-every"),
])
def test_script_bad_arguments_exit_2_before_any_work(tmp_path, args, needle):
    out = tmp_path / "tools"
    p = _script("--scale", "ci", "--out", str(out), *args)
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def test_script_refuses_a_record_when_a_tool_did_not_learn(tmp_path):
    out = tmp_path / "tools"
    p = _script("--scale", "ci", "--out", str(out), "--val-set", "embedded-test", "--val-per-image", "1",
                "--only", "noise-2", "--min-gain", "40")
    assert p.returncode == 0 and not (out / "record.json").exists()     # 1 of 12 tools: nothing to refuse yet
    p = _script("--scale", "ci", "--out", str(out), "--val-set", "embedded-test", "--val-per-image", "1",
                "--resume", "--min-gain", "40")
    assert p.returncode == 1 and "gain less than 40" in p.stderr and "Traceback" not in p.stderr
    assert not (out / "record.json").exists() and not (out / "manifest.json").exists()
    assert (out / ".partial" / "noise-2.pt").is_file()
