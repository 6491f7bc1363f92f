"""The scripts: toolbox training at CI scale (checkpoints, manifest with sha256, record) and the env benchmark."""
import json
import subprocess
import sys
from pathlib import Path

from restorelib.tools import Toolbox

ROOT = Path(__file__).resolve().parents[1]


def test_train_tools_ci_scale_writes_loadable_toolbox_and_record(tmp_path):
    out = tmp_path / "tools"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_tools.py"), "--scale", "ci", "--out", str(out),
           "--val-set", "embedded-test", "--val-per-image", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"].startswith("python scripts/train_tools.py --scale ci")
    assert record["scale"] == "ci" and record["train_set"] == "embedded-train"
    assert set(record["tools"]) == {s for s in Toolbox().names}
    for r in record["tools"].values():
        assert r["steps"] in (3, 5) and r["seconds"] >= 0 and r["loss_curve"]
        assert {"psnr_in", "psnr_out", "gain"} <= set(r["val_own"]) and "gain" in r["val_robust"]
    card = (out / "README.md").read_text()
    assert record["command"] in card and "| noise-2 | 5 |" in card
    box = Toolbox.load(out)
    assert len(box) == 12
    assert not (out / ".partial").exists()


def test_train_tools_refuses_overlapping_sets(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_tools.py"), "--scale", "ci", "--out",
                        str(tmp_path / "t"), "--train-set", "embedded-test", "--val-set", "embedded-test"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "shares images" in p.stderr
    assert not (tmp_path / "t").exists()


def test_bench_env_reports_a_ratio(tmp_path):
    out = tmp_path / "bench.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_env.py"), "--batch", "4", "--repeats", "2",
                        "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text())
    assert r["batch"] == 4 and r["rollout_s"] > 0 and r["tools_s"] > 0
    assert r["ratio"] == r["rollout_s"] / r["tools_s"] and "ratio" in p.stdout


def test_train_agent_ci_scale_then_eval_agents_writes_test_results(tmp_path):
    out = tmp_path / "agent"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_agent.py"), "--scale", "ci", "--t-max", "2",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"] == f"python scripts/train_agent.py --scale ci --t-max 2 --out {out}"
    assert record["config"]["t_max"] == 2 and record["curve"]["steps"] and record["seconds"] > 0
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_agents.py"), "--agents", str(out), "--set",
                        "embedded-test"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    test = json.loads((out / "record.json").read_text())["test"]
    assert set(test["groups"]) == {"mild", "moderate", "severe"} and test["images"] == 4
    assert all(0 <= g["tool_calls"] <= 2 for g in test["groups"].values())
    card = (out / "README.md").read_text()
    assert "| moderate |" in card and record["command"] in card
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_agents.py"), "--agents", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "record.json" in p.stderr
