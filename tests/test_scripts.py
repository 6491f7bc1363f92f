"""The scripts: toolbox training at CI scale (checkpoints, manifest with sha256, record) and the env benchmark."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from restorelib.toolbox.tools import Toolbox

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
    summary = tmp_path / "summary.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_agents.py"), "--agents", str(out), "--set",
                        "embedded-test", "--summary", str(summary)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    test = json.loads((out / "record.json").read_text())["test"]
    assert json.loads(summary.read_text())["agent"] == {"command": record["command"], "config": record["config"],
                                                        "seconds": record["seconds"], "train_patches":
                                                        record["train_patches"], "train_sets": ["embedded-train"],
                                                        "test": test}
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_agents.py"), "--agents", str(out),
                        "--summary", str(summary)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "exists" in p.stderr
    assert set(test["groups"]) == {"mild", "moderate", "severe"} and test["images"] == 4
    assert all(0 <= g["tool_calls"] <= 2 for g in test["groups"].values())
    card = (out / "README.md").read_text()
    assert "| moderate |" in card and record["command"] in card
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_agents.py"), "--agents", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "record.json" in p.stderr
    # the campaign's paired test: the agent against the shipped fixed chain on the same patches
    cmp = tmp_path / "cmp.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare_agents.py"), "--agents", str(out), "--set",
                        "embedded-test", "--patches-per-image", "1", "--json", str(cmp)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result = json.loads(cmp.read_text())
    moderate = result["groups"]["moderate"]
    agent = moderate[str(out)]                                      # keyed by --agents as given
    assert agent["psnr"] - moderate["fixed"] == pytest.approx(agent["diff"], abs=1e-6)
    assert agent["psnr"] == pytest.approx(test["groups"]["moderate"]["psnr_out"], abs=1e-3)
    assert moderate["patches"] == 4 and result["fixed_chain"] and 0 <= agent["calls"] <= 2
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare_agents.py"), "--agents", str(out), "--json",
                        str(cmp)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--json" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_train_agent_validates_and_keeps_the_best_snapshot(tmp_path):
    out = tmp_path / "agent"
    args = ["--scale", "ci", "--double", "--end-if-worse", "--amp", "--val-set", "embedded-test", "--val-every", "60",
            "--out", str(out)]
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_agent.py"), *args], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["config"]["double"] is True and record["config"]["end_if_worse"] is True
    assert record["config"]["amp"] is True                      # the learning step in bf16 autocast (or fp16 on a GPU)
    assert record["train_sets"] == ["embedded-train"] and "`embedded-train`" in (out / "README.md").read_text()
    val = record["validation"]
    assert val["set"] == "embedded-test" and val["group"] == "moderate" and len(val["steps"]) >= 3
    assert val["steps"] == sorted(set(val["steps"])) and val["steps"][-1] == record["curve"]["steps"][-1]
    best = val["steps"][max(range(len(val["psnr"])), key=val["psnr"].__getitem__)]
    assert val["kept_step"] == best and f"kept the snapshot of step {best}" in p.stdout
    assert f"the snapshot of step {best:,} is kept" in (out / "README.md").read_text()
    # the saved weights are the kept snapshot: re-validating them gives the recorded best PSNR
    from restorelib.core import data
    from restorelib.rlrestore import dqn
    from restorelib.evaluate import evaluate
    from restorelib.rlrestore.restore import AgentMethod, AgentRestorer
    from restorelib.toolbox.tools import Toolbox
    net, cfg = dqn.load_agent(out)
    r = evaluate(AgentMethod(AgentRestorer(net, cfg, Toolbox.load())), data.load_set("embedded-test"), "moderate",
                 patch=63, patches_per_image=4, seed=0)
    assert r["psnr_out"] == pytest.approx(max(val["psnr"]), abs=1e-3)
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_agent.py"), "--scale", "ci", "--val-set",
                          "nope", "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--val-set" in bad.stderr and not (tmp_path / "bad").exists()
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_agent.py"), "--scale", "ci", "--train-set",
                          "embedded-train", "nope", "--out", str(tmp_path / "bad")], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "--train-set" in bad.stderr and not (tmp_path / "bad").exists()


def _report():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_report", ROOT / "scripts" / "make_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(psnr_in: float, psnr_out: float, command: str) -> dict:
    return {"method": "m", "distortion": "d", "psnr_in": psnr_in, "psnr_out": psnr_out, "ssim_in": 0.5,
            "ssim_out": 0.6, "tool_calls": 2.0, "trials": 2.0, "seconds": 1.0, "images": 68, "command": command,
            "date": "2026-11-23", "hardware": "x86_64 CPU, 2 cores"}


def test_report_notes_are_made_from_the_records_and_tables_not_typed():
    rep = _report()
    task = {"agents": {"saltpepper0.9-gru-rmc-t400": {"psnr": 11.11}}, "best_filter": {"filter": "box", "psnr": 12.34},
            "supervised": {"psnr": 13.57, "steps": 777}}
    text = {"agents": {"text-gru-rmc-t400": {"psnr": 21.0}}, "best_filter": {"filter": "median", "psnr": 19.5},
            "supervised": {"psnr": 22.25}}
    why = rep.px_why({"saltpepper:0.9": task, "text": text})
    assert "11.11 dB, the best classical filter 12.34" in why["saltpepper"] and "777 updates" in why["saltpepper"]
    assert "above the best filter (median, 19.50) and below the supervised CNN (22.25)" in why["text"]
    episodes = json.loads((ROOT / "restorelib/weights/pixelrl/noise25-gru-rmc-t400/record.json").read_text())
    assert f"{episodes['config']['episodes']:,} episodes of {episodes['config']['batch']} crops" in why["sigmas"]
    steps = json.loads((ROOT / "restorelib/weights/agents/ablation-base/record.json").read_text())["config"]["steps"]
    assert rep.steps_of("agents/ablation-base") == f"{steps:,}" and rep.steps_of("agents/none") == "?"
    assert "not measured" in rep.px_why({})["saltpepper"]


def test_reproduction_report_verdicts_come_from_the_runs(tmp_path):
    rep = _report()
    runs = {rid: _run(20.0, 22.0, "python -m restorelib evaluate " + " ".join(a)) for rid, a in rep.WANTED.items()}
    for g, d in zip(rep.GROUPS, (0.3, 0.1, 0.2)):                   # no-stop beats base: the claim fails
        runs[rep.run_id("rl-restore:ablation-no-stop", g)]["psnr_out"] = 22.0 + d
    for g in rep.GROUPS:                                              # final -MSE is worse: the claim holds
        runs[rep.run_id("rl-restore:ablation-final-mse", g)]["psnr_out"] = 21.0
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    out = tmp_path / "page.md"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_report.py"), "--offline", "--runs",
                        str(tmp_path / "runs.json"), "--out", str(out), "--comparison", str(tmp_path / "none.json")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    page = out.read_text()
    rows = {line.split(" | ")[1]: line for line in page.splitlines() if line.startswith("| RL-Restore")}
    assert rows["The stop action helps (Table 7)"].endswith("| no |")
    assert "mild -0.30, moderate -0.10, severe -0.20 dB" in rows["The stop action helps (Table 7)"]
    assert rows["A stepwise PSNR reward beats a final −MSE reward (Table 6)"].endswith("| yes |")
    assert "not measured" in page and "is not in chapter 5's comparison.json" in page and "2026-11-23" in page
    commands = page.replace(" \\\n    ", " ").splitlines()               # the shell lines of a command, joined
    commands = [line for line in commands if line.startswith("python -m restorelib evaluate ")]
    assert sorted(commands) == sorted(r["command"] for r in runs.values()) and len(commands) == len(rep.WANTED)
    table = page[page.index("## The runs"):]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "\u00a0of\u00a0" in line]
    assert len(rows) == len(rep.WANTED) and not any("python -m" in row for row in rows)      # short rows
    hirl = next(row for row in rows if "| hirl `--max-length 2` | hirl-mild | 68\u00a0of\u00a0CBSD68 |" in row)
    assert "20.00\u00a0→\u00a022.00" in hirl
    del runs[rep.run_id("hirl", "hirl-mild", "--max-length", "7")]
    claims = {c["claim"]: c for c in rep.claims(runs)}
    assert claims["Longer paths help a little (Table 3, path 7 vs 3)"]["ours"].startswith("not measured")


def test_reproduction_report_has_no_empty_section(monkeypatch):
    """A section the claims leave empty is left out (a heading with nothing under it is a defect of the page)."""
    rep = _report()
    done = [{"paper": "P", "claim": "c", "theirs": "1 dB", "ours": "2 dB", "ok": True, "why_not": "", "caveat": ""}]
    monkeypatch.setattr(rep, "claims", lambda *a: done)
    page = rep.render({"r": _run(20.0, 21.0, "python -m restorelib evaluate --method pixelrl:x --images BSD68 "
                                              "--distortion noise:25 --limit 20")})
    assert "## Not measured yet" not in page and "## Why some" not in page and "## Reproduced, with" not in page
    assert "| pixelrl:x whole images | noise:25 | 68\u00a0of\u00a0BSD68 | 20.00\u00a0→\u00a021.00 |" in page
    headings = [i for i, line in enumerate(page.splitlines()) if line.startswith("#")]
    lines = page.splitlines()
    assert all(any(x.strip() for x in lines[a + 1:b]) for a, b in zip(headings, headings[1:] + [len(lines)]))
    monkeypatch.setattr(rep, "claims", lambda *a: done + [dict(done[0], ours="not measured: no model", ok=None)])
    assert "## Not measured yet\n\n* **P: c.** No model." in rep.render({})


def test_reproduction_report_pixelrl_claims_come_from_the_tables():
    rep = _report()

    def row(agents, cnn):
        return {"agents": {k: {"psnr": v} for k, v in agents.items()}, "supervised": {"psnr": cnn}}
    tables = {"noise:15": row({"noise15-gru-rmc-t400": 31.0}, 31.5), "noise:50": row({"noise50-gru-rmc-t400": 25.0}, 26),
              "noise:25": row({"noise25-gru-rmc-t400": 28.5, "noise25-gru-t400": 28.6, "noise25-fcn-t400": 28.0}, 29),
              "saltpepper:0.5": row({"saltpepper0.5-gru-rmc-t400": 30.0}, 29.0),
              "saltpepper:0.9": row({"saltpepper0.9-gru-rmc-t400": 24.0}, 23.0)}
    claims = {c["claim"].split(" (")[0]: c for c in rep.claims({}, tables)}
    sig = claims["PixelRL denoises BSD68 at σ 15 / 25 / 50"]
    assert sig["ours"] == "31.00 / 28.50 / 25.00 dB" and sig["ok"] is False          # sigma 50 is 0.88 dB short
    assert claims["PixelRL beats the CNN on salt-and-pepper noise of density 0.5 and 0.9"]["ok"] is True
    abl = claims["convGRU and then RMC each raise the PSNR"]
    assert abl["ours"] == "convGRU +0.60, RMC -0.10 dB" and abl["ok"] is False
    text = claims["PixelRL with RMC beats the CNN on blind text inpainting"]
    assert text["ours"].startswith("not measured") and "text" in text["ours"] and text["ok"] is None


def test_reproduction_report_chapter5_claims_come_from_the_comparison():
    rep = _report()
    psnr = {"dncnn": (27.0, 25.0, 23.0), "vdsr-s": (26.5, 24.5, 22.5), "rl-restore+noise": (27.1, 25.1, 23.4),
            "rl-restore+joint": (27.2, 25.0, 23.5), "rl-restore+original": (27.0, 24.8, 23.4)}
    macs = {"dncnn": 2.2e9, "vdsr-s": 0.8e9, "rl-restore+noise": 0.3e9, "rl-restore+joint": 0.3e9,
            "rl-restore+original": 0.3e9}
    rows = [{"method": m, "group": g, "psnr_out": v[k], "macs": macs[m]} for m, v in psnr.items()
            for k, g in enumerate(rep.GROUPS)]
    claims = {c["claim"].split(" (")[0]: c for c in rep.claims({}, {}, rows)}
    cnn = claims["RL-Restore ≥ DnCNN on moderate and ahead on severe, ahead of VDSR-s, at ≤ 25% of DnCNN's multiply-adds"]
    assert cnn["ours"].startswith("25.00 vs 25.00, 23.50 vs 23.00 dB") and "14% of DnCNN" in cnn["ours"] and cnn["ok"]
    joint = claims["Joint training of the tools helps"]
    assert joint["ours"] == "mild +0.10, moderate -0.10, severe +0.10 dB" and joint["ok"] is False
    noise = claims["Slight noise and JPEG in the tools' training inputs help"]
    assert noise["ours"] == "mild +0.10, moderate +0.30, severe +0.00 dB" and noise["ok"] is True
    psnr["rl-restore+joint"] = (27.2, 25.2, 23.5)                   # joint reproduces: its caveat is shown
    rows_ok = [dict(r, psnr_out=psnr[r["method"]][rep.GROUPS.index(r["group"])]) for r in rows]
    joint_ok = {c["claim"].split(" (")[0]: c for c in rep.claims({}, {}, rows_ok)}["Joint training of the tools helps"]
    assert joint_ok["ok"] is True and joint_ok["caveat"] == rep.C5_CAVEAT["joint"]
    assert "standard error" in joint_ok["caveat"] and noise["caveat"] == rep.C5_CAVEAT["noise"]
    page = rep.render({}, {}, rows_ok)
    caveats = page.split("## Reproduced, with a caveat\n\n")[1].split("\n## ")[0]
    assert f"* **RL-Restore: {joint_ok['claim']}.** {joint_ok['caveat']}" in caveats
    assert f"* **RL-Restore: {noise['claim']}.** {noise['caveat']}" in caveats
    macs["rl-restore+joint"] = 0.6e9                               # 27% of DnCNN: over the paper's budget
    rows = [dict(r, macs=macs[r["method"]]) for r in rows]
    assert {c["claim"].split(" (")[0]: c for c in rep.claims({}, {}, rows)}[cnn["claim"].split(" (")[0]]["ok"] is False
    empty = {c["claim"].split(" (")[0]: c for c in rep.claims({}, {}, [])}
    assert empty["Joint training of the tools helps"]["ours"].startswith("not measured")
    no_original = [r for r in rows if r["method"] != "rl-restore+original"]
    noise = {c["claim"].split(" (")[0]: c for c in rep.claims({}, {}, no_original)}[noise["claim"].split(" (")[0]]
    assert "rl-restore+original is not in chapter 5's comparison.json" in noise["ours"] and noise["ok"] is None


def test_shipped_reproduction_page_is_the_scripts_output(tmp_path):
    """book/reproduction.md is exactly what make_report.py writes from the stored runs (nobody edited it by hand)."""
    out = tmp_path / "page.md"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_report.py"), "--offline", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == (ROOT / "book" / "reproduction.md").read_text()


def test_bench_pixelrl_reports_both_times_and_their_ratio(tmp_path):
    out = tmp_path / "b.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_pixelrl.py"), "--repeats", "1", "--height", "16",
                        "--width", "20", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text())
    assert r["size"] == [16, 20] and r["network_s"] > 0 and r["inference_s"] > 0
    assert r["ratio"] == pytest.approx(r["inference_s"] / r["network_s"], rel=0.01) and "goal <= 1.2" in p.stdout


def test_train_agent_refuses_to_restart_over_a_stopped_run(tmp_path):
    out = tmp_path / "agent"
    (out / ".partial").mkdir(parents=True)
    (out / ".partial" / "agent.state.pt").write_bytes(b"a stopped run")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_agent.py"), "--scale", "ci", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--resume" in p.stderr and "Traceback" not in p.stderr
    assert sorted(p.name for p in out.iterdir()) == [".partial"]


@pytest.mark.parametrize("script, args, state", [
    ("train_baseline.py", ["--model", "vdsr-s", "--scale", "ci"], "baseline.state.pt"),
    ("train_joint.py", ["--scale", "ci"], "joint.state.pt"),
    ("train_hirl.py", ["--part", "agent", "--scale", "ci"], "agent.state.pt"),
    ("train_quality.py", ["--scale", "ci"], "quality.state.pt"),
    ("train_label_free.py", ["--scale", "ci"], "agent.state.pt"),
    ("train_pixelrl.py", ["--scale", "ci"], "pixelrl.state.pt"),
])
def test_training_scripts_refuse_to_restart_over_a_stopped_run(tmp_path, script, args, state):
    out = tmp_path / "run"
    (out / ".partial").mkdir(parents=True)
    (out / ".partial" / state).write_bytes(b"a stopped run")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--resume" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert sorted(p.name for p in out.iterdir()) == [".partial"]
    assert (out / ".partial" / state).read_bytes() == b"a stopped run"


TRAINERS = [("train_baseline.py", ["--model", "vdsr-s", "--scale", "ci"]), ("train_joint.py", ["--scale", "ci"]),
            ("train_hirl.py", ["--part", "agent", "--scale", "ci"]), ("train_quality.py", ["--scale", "ci"]),
            ("train_label_free.py", ["--scale", "ci"]), ("train_pixelrl.py", ["--scale", "ci"]),
            ("train_agent.py", ["--scale", "ci"])]


@pytest.mark.parametrize("script, args", TRAINERS)
def test_training_scripts_keep_a_finished_model_unless_forced(tmp_path, script, args):
    out = tmp_path / "run"
    out.mkdir()
    (out / "record.json").write_text('{"finished": true}')
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--force" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert sorted(p.name for p in out.iterdir()) == ["record.json"]
    assert (out / "record.json").read_text() == '{"finished": true}'


@pytest.mark.parametrize("script, args", TRAINERS[:3])
def test_training_scripts_find_an_unwritable_out_before_the_work(tmp_path, script, args):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args, "--out", str(blocker / "run")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--out" in p.stderr and "not a folder" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def test_train_baseline_saves_its_state_and_removes_it_when_done(tmp_path):
    out = tmp_path / "vdsr-s"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_baseline.py"), "--model", "vdsr-s", "--scale",
                        "ci", "--train-set", "embedded-train", "embedded-test", "--checkpoint-every", "1e-6",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["train_sets"] == ["embedded-train", "embedded-test"] and record["train_images"] >= 4
    assert record["train_patches"] > 10_000 and "fresh 63x63 crops" in (out / "README.md").read_text()
    assert not (out / ".partial").exists()
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_baseline.py"), "--model", "vdsr-s",
                          "--checkpoint-every", "0", "--out", str(tmp_path / "x")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "--checkpoint-every" in bad.stderr and not (tmp_path / "x").exists()


def test_amp_check_pixelrl_trains_both_ways_and_refuses_bad_flags(tmp_path, monkeypatch, capsys):
    import importlib.util
    from dataclasses import replace

    from restorelib.pixelrl.a2c import SCALES
    spec = importlib.util.spec_from_file_location("amp_check", ROOT / "scripts" / "amp_check_pixelrl.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "SCALES", {"book": replace(SCALES["ci"], width=8)})   # seconds, not 18 minutes
    monkeypatch.setattr(mod, "TRAIN", ("astronaut",))
    out = tmp_path / "amp.json"
    assert mod.main(["--episodes", "20", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert set(r["runs"]) == {"float32", "amp"} and r["runs"]["float32"]["precision"] == "fp32"
    for run in r["runs"].values():
        assert run["episodes"] == [20] and run["seconds"] > 0
        assert set(run["test_psnr_in_out"]) == set(mod.TEST)
        assert all(len(v) == 2 and 0 < v[0] < 60 for v in run["test_psnr_in_out"].values())
    for argv, message in ((["--episodes", "5", "--out", str(out)], "--episodes must be at least 20"),
                          (["--task", "bogus", "--out", str(out)], "--task: task must be"),
                          (["--out", str(tmp_path / "no" / "x.json")], "--out: folder")):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err


def test_shipped_models_table_reads_every_record_but_a_training_state(tmp_path):
    from restorelib.teaching.report import models_table, shipped_records
    weights = tmp_path / "weights"
    for rel, rec in {"agents/a": {"command": "python scripts/train_agent.py --scale book --out runs/x",
                                  "seconds": 1234.0, "date": "2026-12-01", "hardware": "Intel(R) Xeon(R) Processor"},
                     "tools": {"command": "python scripts/train_tools.py --scale book",
                               "tools": {"t1": {"seconds": "60"}, "t2": {"seconds": "120"}}},
                     "agents/b/.partial": {"command": "in progress", "seconds": 1.0}}.items():
        (weights / rel).mkdir(parents=True)
        (weights / rel / "record.json").write_text(json.dumps(rec))
    rows = shipped_records(weights)
    assert [r["model"] for r in rows] == ["agents/a", "tools"] and rows[1]["seconds"] == 180.0   # tools: the sum
    lines = models_table(rows)
    assert "(shipped-models)=" in lines and "| `agents/a` | `train_agent.py` | 21 | 2026-12-01 | Intel Xeon |" in lines
    assert "| `tools` | `train_tools.py` | 3 | — | — |" in lines and models_table([]) == []
    assert "python scripts/train_agent.py --scale book --out runs/x" in lines     # the command, as it was run


def test_ablation_notes_are_made_from_the_figures():
    from restorelib.teaching.report import small_diff_caveat, stop_why, tmax_why, tools_why
    assert "takes 2.71 tools a patch of a possible 3: at 9,000 training" in stop_why(2.714, "9,000")
    why = tmax_why({"mild": -0.2, "moderate": 0.01, "severe": 0.3}, 2.9)
    assert "helps on moderate and severe and costs on mild" in why and "takes 2.90 tools" in why
    why = tools_why({"blur-1": -0.4, "noise-3": 7.6}, "24,000")
    assert "(blur-1, noise-3; blur-1 gains -0.40 dB" in why and "24,000 steps" in why
    assert small_diff_caveat({"mild": 0.3, "severe": -0.05}).startswith("On severe the difference is under 0.1 dB")
    assert small_diff_caveat({"mild": 0.3}) == ""
