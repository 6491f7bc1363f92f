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
