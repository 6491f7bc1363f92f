"""restorelib.pixelrl.baselines (chapter 7): test pairs, the classical-filter sweep, the supervised twin, the script."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib.core.metrics import psnr
from restorelib.pixelrl.a2c import PixelRLConfig, PixelRLNet, TrainRecord, pretrain_shared, save_pixelrl
from restorelib.pixelrl.actions import ACTIONS, filter_bank, median_filter
from restorelib.pixelrl.baselines import (
    FILTERS, Denoiser, best_filter, denoise, filter_sweep, degraded_pairs, train_denoiser)

ROOT = Path(__file__).resolve().parents[1]


def smooth_images(n=2, size=40, seed=0):
    """Smooth random images, {name: (1, H, W)}: low-pass noise, so filters and denoisers can help."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size // 4, size // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return {f"img{i}": x[i] for i in range(n)}


def test_test_pairs_are_deterministic_gray_and_cropped():
    imgs = {"a": torch.rand(3, 50, 60), "b": torch.rand(1, 40, 40)}
    p1, p2 = degraded_pairs(imgs, "noise:25", size=32), degraded_pairs(imgs, "noise:25", size=32)
    assert list(p1) == ["a", "b"]
    for k in p1:
        clean, deg = p1[k]
        assert clean.shape == deg.shape == (1, 1, 32, 32)
        assert torch.equal(deg, p2[k][1]) and not torch.equal(deg, clean)
    whole = degraded_pairs(imgs, "saltpepper:0.5")
    assert whole["a"][0].shape == (1, 1, 50, 60)
    frac = ((whole["b"][1] == 0) | (whole["b"][1] == 1)).float().mean().item()
    assert 0.4 < frac < 0.6                                   # about half the pixels are salt or pepper
    other = degraded_pairs(imgs, "noise:25", size=32, seed=1)
    assert not torch.equal(other["a"][1], p1["a"][1])


def test_filter_sweep_matches_repeated_filters_and_best_filter_picks_the_max():
    pairs = degraded_pairs(smooth_images(), "saltpepper:0.1")
    clean, deg = pairs["img0"]
    sweep = filter_sweep(deg, clean, t_max=2)
    assert list(sweep) == list(FILTERS) and all(len(v) == 2 for v in sweep.values())
    assert "do nothing" not in sweep and "pixel +1" not in sweep
    twice = median_filter(median_filter(deg))
    assert sweep["median"][1] == pytest.approx(psnr(twice, clean).item(), abs=1e-4)
    once = filter_bank(deg)[:, ACTIONS.index("box")]
    assert sweep["box"][0] == pytest.approx(psnr(once, clean).item(), abs=1e-4)
    sweeps = [filter_sweep(d, c, 2) for c, d in pairs.values()]
    name, passes, value = best_filter(sweeps)
    means = {(f, t + 1): (sweeps[0][f][t] + sweeps[1][f][t]) / 2 for f in FILTERS for t in range(2)}
    assert (name, passes) == max(means, key=means.get) and value == pytest.approx(max(means.values()))
    assert name == "median"                                   # the classical answer to salt-and-pepper noise


def test_denoiser_learns_and_pretrain_shared_copies_it_into_pixelrl():
    bank = torch.stack(list(smooth_images(8, 32).values()))
    torch.manual_seed(0)
    model, losses, secs = train_denoiser(bank, "noise:25", steps=100, batch=8, crop=24, lr=3e-3,
                                         model=Denoiser(1, width=8))
    assert len(losses) == 100 and secs >= 0 and not model.training
    assert sum(losses[-10:]) < sum(losses[:10])
    clean, deg = degraded_pairs(smooth_images(1, 32, seed=5), "noise:25")["img0"]
    out = denoise(model, deg)
    assert out.shape == deg.shape and out.min() >= 0 and out.max() <= 1
    assert psnr(out, clean).item() > psnr(deg, clean).item() + 1          # seeded: +4.2 dB
    net = PixelRLNet(1, width=8)
    pretrain_shared(net, bank, "noise:25", steps=2, batch=2, crop=24)
    for a, b in zip(net.pi_head.parameters(), net.v_head.parameters()):
        assert torch.equal(a, b)                               # both branches start from the denoiser's convs


@pytest.mark.parametrize("call,message", [
    (lambda: degraded_pairs({"a": torch.rand(1, 8, 8)}, "noise:25", size=-1), "size must be"),
    (lambda: degraded_pairs({"a": torch.rand(1, 8, 8)}, "fog:3"), "task must be"),
    (lambda: filter_sweep(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 9, 8)), "same shape"),
    (lambda: filter_sweep(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), t_max=0), "t_max must be"),
    (lambda: best_filter([]), "sweeps must"),
    (lambda: train_denoiser(torch.rand(4, 1, 32, 32), steps=-1), "steps must"),
    (lambda: train_denoiser(torch.rand(4, 1, 16, 16), steps=1, crop=24), "clean_bank"),
    (lambda: denoise(Denoiser(1, 8), torch.rand(1, 3, 8, 8)), "image"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_eval_script_writes_the_tables_for_the_agents_it_is_given(tmp_path):
    cfg = PixelRLConfig(episodes=1, batch=2, crop=24, t_max=2, width=8, pretrain_steps=1)
    folder = tmp_path / "noise25-tiny"
    torch.manual_seed(0)
    save_pixelrl(PixelRLNet(1, width=8, rmc=True), cfg, TrainRecord(seconds=1.0), folder, command="test", scale="ci",
                 task="noise:25")
    out = tmp_path / "b.json"
    out.write_text(json.dumps({"tasks": {"text": {"input": 1.0}}}))          # rows of other tasks are kept
    cmd = [sys.executable, str(ROOT / "scripts" / "eval_pixelrl.py"), "--models", str(folder), "--test-set",
           "embedded-test", "--images", "1", "--train-set", "embedded-test", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    row = res["tasks"]["noise:25"]
    assert res["tasks"]["text"] == {"input": 1.0}
    assert row["images"] == 1 and row["command"].startswith("python scripts/eval_pixelrl.py") and row["seconds"] > 0
    assert row["agents"]["noise25-tiny"]["source"] == "measured"       # its record holds no matching evaluation
    assert row["supervised"]["steps"] == 2 and row["supervised"]["params"] == sum(
        p.numel() for p in Denoiser(1, 8).parameters())
    assert row["best_filter"]["psnr"] == max(max(v) for v in row["filters"].values())
    assert row["input"] < row["best_filter"]["psnr"]                  # some filter helps against sigma-25 noise
    twin = tmp_path / "noise25-twin"
    save_pixelrl(PixelRLNet(1, width=8, rmc=True), cfg, TrainRecord(seconds=1.0), twin, command="test", scale="ci",
                 task="noise:25")
    cmd[3] = str(twin)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0 and "kept the baselines" in p.stdout, p.stderr
    again = json.loads(out.read_text())["tasks"]["noise:25"]
    assert set(again["agents"]) == {"noise25-tiny", "noise25-twin"} and again["supervised"] == row["supervised"]
    # the row still names the run that measured its baselines; each agent names the run that added it
    assert (again["command"], again["seconds"]) == (row["command"], row["seconds"]) and " ".join(cmd[2:]) in \
        again["agents"]["noise25-twin"]["command"]
    bad = subprocess.run([*cmd[:2], "--models", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c.json")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "model must be one of" in bad.stderr and not (tmp_path / "c.json").exists()


def test_load_baselines_reads_the_script_output_and_names_a_missing_file(tmp_path):
    from restorelib.pixelrl.baselines import PAPER, load_baselines
    f = tmp_path / "b.json"
    f.write_text(json.dumps({"tasks": {"noise:25": {"input": 20.0}}}))
    assert load_baselines(str(f)) == {"noise:25": {"input": 20.0}}
    with pytest.raises(FileNotFoundError, match="path must be"):
        load_baselines(str(tmp_path / "none.json"))
    assert PAPER["gaussian"]["PixelRL +convGRU +RMC"] == (31.40, 28.85, 25.88) and PAPER["text"]["DnCNN"] == 29.75
