"""scripts/gpu_smoke.py: every chapter's training path for a few steps, timed, on the CPU at CI scale."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_smoke.py"
sys.path.insert(0, str(ROOT / "scripts"))

import gpu_paths  # noqa: E402
import gpu_smoke  # noqa: E402


def test_smoke_times_every_path_and_projects_every_chapter(tmp_path):
    out = tmp_path / "smoke.json"
    p = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--scale", "ci", "--steps", "1", "--json",
                        str(out)], capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res["paths"]) == set(gpu_paths.PATHS) and res["scale"] == "ci" and res["device"] == "cpu"
    for name, r in res["paths"].items():
        assert r["units"][1] > r["units"][0] >= 1 and r["seconds_per_unit"] >= 0, name
    assert set(res["chapters"]) == {c.label for c in gpu_paths.CHAPTERS}
    ch4 = res["chapters"]["4. The RL-Restore agent"]
    assert ch4["minutes"] == pytest.approx(ch4["units"]["dqn"] * res["paths"]["dqn"]["seconds_per_unit"] / 60)
    assert "projected training minutes" in p.stdout and f"wrote {out}" in p.stdout


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "--steps must be a positive"),
    (["--device", "bogus"], "--device: device must be"),
    (["--only", "dqn,nope"], "--only must name paths"),
    (["--scale", "paper"], "invalid choice"),
])
def test_smoke_refuses_bad_arguments(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        gpu_smoke.main([*args, "--json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err, err
    assert len([line for line in err.splitlines() if "error" in line]) == 1
    assert not (tmp_path / "s.json").exists()


def test_smoke_refuses_cuda_without_a_gpu(tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit) as e:
        gpu_smoke.main(["--device", "cuda", "--json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--device" in err and "not available" in err
