"""The action sets of PixelRL's supplementary Table 8 (chapter 7): agents restricted to a subset of the nine actions."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from restorelib.core.metrics import psnr
from restorelib.pixelrl.a2c import (
    ACTIONS, PixelRLConfig, PixelRLNet, SCALES, TrainRecord, action_counts, build_pixelrl, load_pixelrl,
    pixelrl_restore, save_pixelrl, train_pixelrl)
from restorelib.pixelrl.actions import ACTION_SETS, apply_actions, filter_bank
from restorelib.pixelrl.env import as_env, denoise_env

ROOT = Path(__file__).resolve().parents[1]
EASY = PixelRLConfig(episodes=20, batch=4, crop=16, t_max=1, width=16, gru=False, rmc=False, reward_scale=1.0,
                     lr=3e-3, log_every=5)


def names(key):
    return {ACTIONS[i] for i in ACTION_SETS[key]}


def too_bright(clean, generator):
    """Every pixel one grey level too bright: only "pixel -1" undoes it."""
    return (clean + 1 / 255).clamp(0, 1)


def flat_bank():
    g = torch.Generator().manual_seed(0)
    return 0.1 + 0.8 * torch.rand(8, 1, 1, 1, generator=g) + 0.05 * torch.rand(8, 1, 32, 32, generator=g)


def test_the_sets_are_the_papers_and_each_adds_to_the_last():
    assert names("basic") == {"box", "median", "gaussian 1.5", "do nothing"}
    assert names("bilateral") == names("basic") | {"bilateral 1.0"}
    assert names("pixel") == names("bilateral") | {"pixel +1", "pixel -1"}
    assert names("all") == set(ACTIONS) == names("pixel") | {"bilateral 0.1", "gaussian 0.5"}


@pytest.mark.parametrize("key", ["basic", "pixel"])
def test_a_subset_environment_steps_with_the_actions_it_names(key):
    env = denoise_env("noise:25", key)
    assert env.n_actions == len(ACTION_SETS[key]) and env.action_ids == ACTION_SETS[key]
    x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    a = torch.randint(0, env.n_actions, (2, 12, 12), generator=torch.Generator().manual_seed(2))
    ids = torch.tensor(ACTION_SETS[key])[a]
    assert torch.equal(env.step(x, a), apply_actions(x, ids, filter_bank(x)))
    assert denoise_env("noise:25").action_ids is None and denoise_env("noise:25").n_actions == len(ACTIONS)


def test_an_agent_without_pixel_actions_cannot_undo_a_brightness_offset():
    gains = {}
    for key in ("basic", "pixel"):
        net, _ = train_pixelrl(flat_bank(), too_bright, replace(EASY, action_set=key), device="cpu")
        assert net.n_actions == len(ACTION_SETS[key]) and net.action_ids == ACTION_SETS[key]
        clean = flat_bank()[:, :, :20, :20]
        restored, maps = pixelrl_restore(net, too_bright(clean, None), t_max=1)
        assert set(maps[0].unique().tolist()) <= set(ACTION_SETS[key])       # maps hold ids of ACTIONS
        gains[key] = (psnr(restored, clean) - psnr(too_bright(clean, None), clean)).mean().item()
        counts = action_counts(maps)[0]
        assert counts.shape == (len(ACTIONS),) and counts[[i for i in range(len(ACTIONS))
                                                           if i not in ACTION_SETS[key]]].sum() == 0
    assert gains["pixel"] > 10 and gains["basic"] < 1


def test_a_subset_agent_saves_and_loads_with_its_action_set(tmp_path):
    cfg = replace(SCALES["ci"], action_set="bilateral", width=8)
    torch.manual_seed(0)
    net = build_pixelrl(cfg)
    folder = tmp_path / "noise15-gru-rmc-bilateral"
    save_pixelrl(net, cfg, TrainRecord(seconds=1.0), folder, command="python scripts/train_pixelrl.py --scale ci",
                 scale="ci", task="noise:15")
    record = json.loads((folder / "record.json").read_text())
    assert record["config"]["action_set"] == "bilateral" and set(record["actions"]) == names("bilateral")
    loaded, loaded_cfg = load_pixelrl(folder)
    assert loaded_cfg.action_set == "bilateral" and loaded.action_ids == ACTION_SETS["bilateral"]
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    a, maps_a = pixelrl_restore(net.eval(), x, t_max=2)
    b, maps_b = pixelrl_restore(loaded, x, t_max=2)
    assert torch.equal(a, b) and all(torch.equal(p, q) for p, q in zip(maps_a, maps_b))


def test_a_record_without_an_action_set_loads_as_all_nine(tmp_path):
    cfg = replace(SCALES["ci"], width=8)
    folder = tmp_path / "old"
    save_pixelrl(build_pixelrl(cfg), cfg, TrainRecord(seconds=1.0), folder, command="python x", scale="ci",
                 task="noise:25")
    record = json.loads((folder / "record.json").read_text())
    del record["config"]["action_set"]                                  # a record written before the study
    (folder / "record.json").write_text(json.dumps(record))
    net, cfg = load_pixelrl(folder)
    assert cfg.action_set == "all" and net.action_ids is None and net.n_actions == len(ACTIONS)


@pytest.mark.parametrize("call, message", [
    (lambda: PixelRLConfig(action_set="fancy"), "action_set must be one of"),
    (lambda: denoise_env("noise:25", "fancy"), "action_set must be one of"),
    (lambda: as_env(denoise_env("noise:25"), "basic"), "action_set applies to the denoising tasks"),
    (lambda: PixelRLNet(n_actions=4, action_ids=(0, 1, 2)), "action_ids must be 4 distinct ids"),
    (lambda: PixelRLNet(n_actions=2, action_ids=(0, 0)), "action_ids must be 2 distinct ids"),
    (lambda: PixelRLNet(n_actions=1, action_ids=(9,)), "action_ids must be 1 distinct ids in 0..8"),
])
def test_bad_action_sets_are_refused_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_train_script_takes_an_action_set_and_names_the_run_after_it(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    base = [sys.executable, str(ROOT / "scripts" / "train_pixelrl.py"), "--scale", "ci", "--task", "noise:15"]
    bad = subprocess.run([*base, "--actions", "fancy", "--out", str(tmp_path / "bad")], capture_output=True,
                         text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "--actions" in bad.stderr and not (tmp_path / "bad").exists()
    out = tmp_path / "agent"
    ok = subprocess.run([*base, "--actions", "basic", "--episodes", "1", "--eval-size", "32", "--out", str(out)],
                        capture_output=True, text=True, timeout=300, env=env)
    assert ok.returncode == 0, ok.stderr
    net, cfg = load_pixelrl(out)
    assert cfg.action_set == "basic" and net.n_actions == 4
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from train_pixelrl import run_name
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert run_name("noise:15", cfg) == "noise15-gru-rmc-basic"
    assert run_name("noise:15", replace(cfg, action_set="all")) == "noise15-gru-rmc"
