"""restorelib.pixelrl.a2c (chapter 7): OpenCV-exact actions, the network, rewards, RMC returns, A2C, training, the script."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restorelib.pixelrl import actions as pixelrl_actions
from restorelib.core.metrics import psnr
from restorelib.pixelrl.a2c import (
    ACTIONS, N_ACTIONS, SCALES, PixelRLConfig, PixelRLNet, RewardMapConv, a2c_loss, action_counts, apply_actions,
    draw_text_mask, filter_bank, load_pixelrl, make_task, nstep_returns, overlay_text,
    pixel_reward, pixelrl_restore, pretrain_shared, reward_map_step, train_pixelrl)
from restorelib.pixelrl.actions import (
    bilateral_filter, box_filter, gaussian_filter, median_filter, resolve_backend)

ROOT = Path(__file__).resolve().parents[1]
TOL = 2e-6                      # float32 rounding; OpenCV's bilateral uses an interpolated exp table


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def opencv(x, fn):
    """Apply an OpenCV function to every (image, channel) plane of x (N, C, H, W)."""
    a = x.numpy()
    return torch.from_numpy(np.stack([[fn(np.ascontiguousarray(p)) for p in img] for img in a]))


# ----------------------------------------------------------------------------- the actions
OURS_VS_CV2 = {
    "box": (box_filter, lambda cv2, p: cv2.blur(p, (5, 5))),
    "gaussian 0.5": (lambda x: gaussian_filter(x, 0.5), lambda cv2, p: cv2.GaussianBlur(p, (5, 5), 0.5)),
    "gaussian 1.5": (lambda x: gaussian_filter(x, 1.5), lambda cv2, p: cv2.GaussianBlur(p, (5, 5), 1.5)),
    "bilateral 0.1": (lambda x: bilateral_filter(x, 0.1), lambda cv2, p: cv2.bilateralFilter(p, 5, 0.1, 5)),
    "bilateral 1.0": (lambda x: bilateral_filter(x, 1.0), lambda cv2, p: cv2.bilateralFilter(p, 5, 1.0, 5)),
    "median": (median_filter, lambda cv2, p: cv2.medianBlur(p, 5)),
}


@pytest.mark.parametrize("name", sorted(OURS_VS_CV2))
@pytest.mark.parametrize("shape", [(3, 1, 23, 31), (2, 3, 9, 7), (1, 1, 3, 4)])
def test_torch_filters_match_opencv(name, shape):
    cv2 = pytest.importorskip("cv2")
    ours, theirs = OURS_VS_CV2[name]
    x = rand(*shape, seed=len(name))
    x[0, 0, :2, :2] = 0.0                      # a flat corner and extreme values, as after salt-and-pepper
    x[-1, -1, -1, :] = 1.0
    got, want = ours(x), opencv(x, lambda p: theirs(cv2, p))
    assert got.shape == x.shape and got.dtype == x.dtype
    assert (got - want).abs().max().item() < TOL


@pytest.mark.parametrize("channels", [1, 3])
def test_filter_bank_backends_agree_and_follow_the_authors_order(channels):
    pytest.importorskip("cv2")
    x = rand(4, channels, 20, 17, seed=1)
    a, b = filter_bank(x, "cv2"), filter_bank(x, "torch")
    assert a.shape == (4, N_ACTIONS, channels, 20, 17) and len(ACTIONS) == N_ACTIONS == 9
    assert (a - b).abs().max().item() < TOL
    assert (filter_bank(x.double(), "cv2") - b.double()).abs().max().item() < TOL
    view = x.transpose(-1, -2)                                          # non-contiguous input
    assert (filter_bank(view, "cv2") - filter_bank(view.contiguous(), "torch")).abs().max().item() < TOL
    assert resolve_backend("auto", x) == "cv2"
    assert torch.equal(b[:, 1], x)
    assert torch.allclose(b[:, 0], (x - 1 / 255).clamp(0, 1)) and torch.allclose(b[:, 2], (x + 1 / 255).clamp(0, 1))
    assert torch.allclose(b[:, 3], gaussian_filter(x, 0.5)) and torch.allclose(b[:, 6], gaussian_filter(x, 1.5))
    assert torch.allclose(b[:, 4], bilateral_filter(x, 0.1)) and torch.allclose(b[:, 7], bilateral_filter(x, 1.0))
    assert torch.equal(b[:, 5], median_filter(x)) and torch.allclose(b[:, 8], box_filter(x))
    assert ACTIONS[1] == "do nothing" and ACTIONS[5] == "median" and ACTIONS[8] == "box"


def test_without_opencv_auto_falls_back_to_torch(monkeypatch):
    monkeypatch.setattr(pixelrl_actions, "_cv2", lambda: None)
    x = rand(2, 1, 8, 8)
    assert resolve_backend("auto", x) == "torch"
    assert apply_actions(x, torch.full((2, 8, 8), 5)).shape == x.shape
    with pytest.raises(ValueError, match="backend 'cv2' needs OpenCV"):
        filter_bank(x, "cv2")


def test_bilateral_is_edge_preserving_and_median_removes_salt():
    step = torch.zeros(1, 1, 10, 10)
    step[..., 5:] = 1.0
    assert torch.allclose(bilateral_filter(step, 0.1), step, atol=1e-6)      # sigma_color 0.1 keeps a 0/1 edge
    assert not torch.allclose(box_filter(step), step)
    flat = torch.full((1, 1, 9, 9), 0.5)
    flat[0, 0, 4, 4] = 1.0
    assert torch.equal(median_filter(flat), torch.full_like(flat, 0.5))


def test_apply_actions_semantics():
    x = torch.tensor([[[[0.0, 0.5, 1.0, 1 / 255]]]]).expand(2, 3, 4, 4).contiguous()
    for backend in ("torch", "auto"):
        same = apply_actions(x, torch.ones(2, 4, 4, dtype=torch.long), backend=backend)
        assert torch.equal(same, x)                                               # 1 = do nothing, exactly
    down = apply_actions(x, torch.zeros(2, 4, 4, dtype=torch.long))
    up = apply_actions(x, torch.full((2, 4, 4), 2))
    assert torch.allclose(down, (x - 1 / 255).clamp(0, 1)) and down.min() == 0
    assert torch.allclose(up, (x + 1 / 255).clamp(0, 1)) and up.max() == 1
    assert torch.allclose(up[..., 1], torch.full_like(up[..., 1], 0.5 + 1 / 255))
    a = torch.randint(N_ACTIONS, (2, 4, 4), generator=torch.Generator().manual_seed(0))
    bank = filter_bank(x)
    mixed = apply_actions(x, a, bank)
    for i, y, z in [(0, 0, 0), (1, 3, 2), (0, 2, 3)]:
        assert torch.equal(mixed[i, :, y, z], bank[i, a[i, y, z], :, y, z])      # every channel of a pixel alike


# ----------------------------------------------------------------------------- the network
@pytest.mark.parametrize("gru", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 7, 9), (2, 1, 33, 20), (2, 3, 12, 12)])
def test_network_shapes_and_softmax(gru, shape):
    n, c, h, w = shape
    net = PixelRLNet(in_channels=c, width=8, gru=gru)
    lp, v, hidden = net(rand(*shape))
    assert lp.shape == (n, N_ACTIONS, h, w) and v.shape == (n, 1, h, w)
    assert torch.allclose(lp.exp().sum(dim=1), torch.ones(n, h, w), atol=1e-5)
    if gru:
        assert hidden.shape == (n, 8, h, w)
        lp2, _, _ = net(rand(*shape), hidden)
        assert lp2.shape == lp.shape
    else:
        assert hidden is None and net.gru is None


def test_paper_network_layers():
    net = PixelRLNet()
    dil = [m.dilation[0] for m in net.trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    assert dil == [1, 2, 3, 4]
    for head in (net.pi_head, net.v_head):
        assert [m.dilation[0] for m in head.modules() if isinstance(m, torch.nn.Conv2d)] == [3, 2]
    assert net.trunk[0][0].out_channels == 64 and net.pi_out.out_channels == 9 and net.v_out.out_channels == 1
    assert PixelRLNet(gru=True, rmc=True).rmc.weight.shape == (1, 1, 33, 33)


# ----------------------------------------------------------------------------- rewards, returns, RMC
def test_reward_sign_and_scale():
    clean = torch.full((1, 1, 2, 2), 0.5)
    before = clean + 10 / 255
    assert torch.allclose(pixel_reward(clean, before, clean), torch.full((1, 1, 2, 2), 100.0))   # 10^2 - 0^2
    assert (pixel_reward(clean, before, clean + 5 / 255) > 0).all()
    assert (pixel_reward(clean, before, clean + 12 / 255) < 0).all()
    assert torch.equal(pixel_reward(clean, before, before), torch.zeros(1, 1, 2, 2))
    rgb = torch.full((1, 3, 2, 2), 0.5)
    assert pixel_reward(rgb, rgb + 1 / 255, rgb).shape == (1, 1, 2, 2)


def test_rmc_identity_init_gives_the_plain_nstep_return():
    g = torch.Generator().manual_seed(0)
    rewards = [torch.randn(2, 1, 9, 11, generator=g) for _ in range(5)]
    boot = torch.randn(2, 1, 9, 11, generator=g)
    plain = nstep_returns(rewards, 0.95, bootstrap=boot)
    with_rmc = nstep_returns(rewards, 0.95, RewardMapConv(), bootstrap=boot)
    by_hand = sum(0.95**k * r for k, r in enumerate(rewards)) + 0.95**5 * boot
    assert torch.allclose(plain[0], by_hand, atol=1e-5)
    for a, b in zip(plain, with_rmc):
        assert torch.allclose(a, b, atol=1e-6)


def test_rmc_kernel_spreads_the_return_to_neighbours():
    rmc = RewardMapConv(size=3)
    with torch.no_grad():
        rmc.weight.zero_()
        rmc.weight[0, 0, 1, 2] = 1.0                  # cross-correlation: R_i <- R_{i + (0, 1)}
    r1 = torch.zeros(1, 1, 5, 5)
    r1[0, 0, 2, 3] = 1.0
    R0 = nstep_returns([torch.zeros(1, 1, 5, 5), r1], gamma=0.5, rmc=rmc)[0]
    assert R0[0, 0, 2, 2] == 0.5 and R0.sum() == 0.5


def test_check_reward_map_conv_accepts_ours_and_names_mistakes():
    from restorelib.teaching.checks import check_reward_map_conv
    assert "all 2 cases pass" in check_reward_map_conv(reward_map_step)
    with pytest.raises(AssertionError, match="flipped"):
        check_reward_map_conv(lambda R, r, g, w: reward_map_step(R, r, g, w.flip(-1, -2)))
    with pytest.raises(AssertionError, match="gamma is missing"):
        check_reward_map_conv(lambda R, r, g, w: r + F.conv2d(R, w, padding=w.shape[-1] // 2))
    with pytest.raises(AssertionError, match="(?s)raised RuntimeError.*padding K // 2"):
        check_reward_map_conv(lambda R, r, g, w: r + g * F.conv2d(R, w))
    with pytest.raises(AssertionError, match="reward is convolved"):
        check_reward_map_conv(lambda R, r, g, w: F.conv2d(r + g * R, w, padding=w.shape[-1] // 2))
    with pytest.raises(AssertionError, match="(?s)returned:.*padding K // 2"):
        check_reward_map_conv(lambda R, r, g, w: r + g * F.conv2d(R, w, padding=w.shape[-1] // 2) + 1)


def test_a2c_loss_backpropagates_and_rmc_learns_through_the_value_loss_only():
    torch.manual_seed(0)                        # a net this narrow can start with a dead value branch (seed 7 does)
    net = PixelRLNet(width=8, gru=True, rmc=True)
    x, clean = rand(2, 1, 12, 12), rand(2, 1, 12, 12, seed=1)
    lps, vs, acts, rews, hidden = [], [], [], [], None
    for _ in range(2):
        lp, v, hidden = net(x, hidden)
        a = lp.argmax(dim=1)
        nxt = apply_actions(x, a)
        lps.append(lp), vs.append(v), acts.append(a), rews.append(pixel_reward(clean, x, nxt) / 255)
        x, hidden = nxt, hidden.detach()
    terms = a2c_loss(lps, vs, acts, rews, 0.95, net.rmc)
    terms["policy"].backward(retain_graph=True)
    assert net.rmc.weight.grad is None
    assert net.pi_out.weight.grad.abs().sum() > 0 and net.gru.wx.weight.grad.abs().sum() > 0
    net.zero_grad(set_to_none=True)
    terms["loss"].backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), [n for n, g in grads.items() if g is None]
    assert grads["rmc.weight"].abs().sum() > 0 and grads["v_out.weight"].abs().sum() > 0


# ----------------------------------------------------------------------------- tasks
def test_text_masks_are_seeded_and_plausible():
    a = draw_text_mask(3, 40, 50, torch.Generator().manual_seed(0))
    b = draw_text_mask(3, 40, 50, torch.Generator().manual_seed(0))
    c = draw_text_mask(3, 40, 50, torch.Generator().manual_seed(1))
    assert a.shape == (3, 1, 40, 50) and a.dtype == torch.bool
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0.02 < a.float().mean() < 0.6
    clean = torch.full((4, 1, 30, 30), 0.5)
    text = overlay_text(clean, torch.Generator().manual_seed(0))
    changed = text != clean
    assert changed.any() and set(text[changed].unique().tolist()) <= {0.0, 1.0}


def test_tasks_from_specs():
    clean = torch.full((2, 1, 30, 30), 0.5)
    g = torch.Generator().manual_seed(0)
    noisy = make_task("noise:25")(clean, g)
    assert 20 < (noisy - clean).std().item() * 255 < 30
    sp = make_task("saltpepper:0.5")(clean, g)
    assert 0.4 < (sp != clean).float().mean() < 0.6
    assert make_task("text") is overlay_text


# ----------------------------------------------------------------------------- training and inference
EASY = PixelRLConfig(episodes=20, batch=4, crop=16, t_max=1, width=16, gru=False, rmc=False, reward_scale=1.0,
                     lr=3e-3, log_every=5)


def offset_task(clean, generator):
    """Everything one grey level too bright: the best action is obvious (0, pixel -1/255)."""
    return (clean + 1 / 255).clamp(0, 1)


def test_training_on_an_easy_task_improves_return_and_psnr():
    g = torch.Generator().manual_seed(0)
    bank = (0.1 + 0.8 * torch.rand(8, 1, 1, 1, generator=g) + 0.05 * torch.rand(8, 1, 32, 32, generator=g))
    net, rec = train_pixelrl(bank, offset_task, EASY, device="cpu")
    assert rec.episodes == [5, 10, 15, 20] and rec.seconds > 0
    assert rec.returns[-1] > rec.returns[0] + 1 and rec.psnr_gain[-1] > rec.psnr_gain[0]
    clean = bank[:, :, :20, :20]
    restored, maps = pixelrl_restore(net, offset_task(clean, None), t_max=1)
    assert psnr(restored, clean).mean() > psnr(offset_task(clean, None), clean).mean() + 10
    assert action_counts(maps)[0, 0] > 0.9


def test_ci_scale_stepwise_training_and_pretraining_run():
    bank = rand(6, 3, 30, 30)                                            # RGB is converted to gray
    cfg = replace(SCALES["ci"], episodes=2, rmc_start=0.5, pretrain_steps=1)
    net, rec = train_pixelrl(bank, "saltpepper:0.5", cfg, device="cpu")
    assert net.in_channels == 1 and len(rec.pretrain_loss) == 1 and rec.episodes == [1, 2]
    delta = RewardMapConv().weight
    assert not torch.equal(net.rmc.weight, delta)                        # RMC switched on for the 2nd episode
    net2 = PixelRLNet(width=8)
    before = net2.trunk[0][0].weight.clone()
    losses = pretrain_shared(net2, bank, "noise:25", steps=2, batch=2, crop=16)
    assert len(losses) == 2 and not torch.equal(net2.trunk[0][0].weight, before)
    assert torch.equal(net2.pi_head[0][0].weight, net2.v_head[0][0].weight)


def test_restore_any_size_batched_and_greedy():
    net = PixelRLNet(width=8, gru=True)
    x = rand(3, 1, 13, 21)
    out, maps = pixelrl_restore(net, x, t_max=3)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert len(maps) == 3 and all(m.shape == (3, 13, 21) and m.dtype == torch.long for m in maps)
    one, maps1 = pixelrl_restore(net, x[1:2], t_max=3)
    assert torch.allclose(one, out[1:2], atol=1e-6) and all(torch.equal(a[1:2], b) for a, b in zip(maps, maps1))
    again, _ = pixelrl_restore(net, x, t_max=3)
    assert torch.equal(again, out)
    counts = action_counts(maps)
    assert counts.shape == (3, N_ACTIONS) and torch.allclose(counts.sum(1), torch.ones(3))


# ----------------------------------------------------------------------------- bad input
BAD = [
    (lambda: apply_actions(rand(1, 1, 5, 5), torch.zeros(1, 5, 5)), "actions must be an integer tensor"),
    (lambda: apply_actions(rand(1, 1, 5, 5), torch.full((1, 5, 5), 9)), "actions must hold action ids in 0..8"),
    (lambda: apply_actions(rand(1, 1, 5, 5), torch.zeros(1, 4, 5, dtype=torch.long)), "actions must have shape"),
    (lambda: filter_bank(rand(1, 1, 5, 5), backend="gpu"), "backend must be one of"),
    (lambda: filter_bank(rand(1, 1, 2, 5)), "x must be at least 3x3"),
    (lambda: filter_bank(rand(1, 1, 5, 5) * 2), r"x must have values in \[0, 1\]"),
    (lambda: gaussian_filter(rand(1, 1, 5, 5), 0), "sigma must be a positive number"),
    (lambda: pixelrl_restore(PixelRLNet(width=4), rand(1, 1, 8, 8), t_max=0), "t_max must be a positive int"),
    (lambda: pixelrl_restore(PixelRLNet(width=4), rand(1, 8, 8)), r"image must have shape \(N, C, H, W\)"),
    (lambda: pixelrl_restore(PixelRLNet(width=4), rand(1, 3, 8, 8)), "image must have 1 channels"),
    (lambda: pixelrl_restore("net", rand(1, 1, 8, 8)), "net must be a PixelRLNet"),
    (lambda: PixelRLConfig(gamma=1.5), "gamma must be in"),
    (lambda: PixelRLConfig(t_max=0), "t_max must be a positive int"),
    (lambda: PixelRLConfig(rmc_start=1.0), "rmc_start must be in"),
    (lambda: PixelRLNet(width=0), "width must be a positive int"),
    (lambda: train_pixelrl(rand(2, 1, 10, 10), "noise:25", SCALES["ci"]), "clean_bank must be at least 24x24"),
    (lambda: train_pixelrl(rand(2, 2, 30, 30), "noise:25", SCALES["ci"]), "clean_bank must have 1 channel"),
    (lambda: train_pixelrl(rand(2, 1, 30, 30), "blurry", SCALES["ci"]), "task must be a degradation spec"),
    (lambda: draw_text_mask(0, 10, 10), "n must be a positive int"),
    (lambda: draw_text_mask(1, 10, 10, sizes=(30, 10)), "sizes must be"),
    (lambda: nstep_returns([], 0.9), "rewards must hold at least one step"),
    (lambda: pixel_reward(rand(1, 1, 4, 4), rand(1, 1, 4, 4), rand(1, 1, 4, 5)), "must have the same shape"),
    (lambda: RewardMapConv(size=4), "size must be a positive odd int"),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m.split(" must")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- the script
def test_train_script_ci_scale_writes_a_checked_checkpoint(tmp_path):
    out = tmp_path / "agent"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_pixelrl.py"), "--scale", "ci", "--task", "noise:25",
           "--episodes", "2", "--eval-size", "32", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"].startswith("python scripts/train_pixelrl.py --scale ci")
    assert record["scale"] == "ci" and record["task"] == "noise:25" and record["config"]["episodes"] == 2
    assert record["seconds"] >= 0 and len(record["sha256"]) == 64 and record["curve"]["episodes"] == [1, 2]
    assert record["evaluation"]["mean"]["psnr_in"] > 0 and record["hardware"]
    assert record["command"] in (out / "README.md").read_text()
    net, cfg = load_pixelrl(out)
    assert cfg.gru and cfg.rmc and net.rmc is not None and not net.training
    restored, maps = pixelrl_restore(net, rand(1, 1, 16, 16), t_max=cfg.t_max)
    assert restored.shape == (1, 1, 16, 16) and len(maps) == cfg.t_max
    weights = out / "pixelrl.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_pixelrl(out)


# ----------------------------------------------------------------------------- the evaluate / restore method
def _saved_pixelrl(tmp_path):
    from restorelib.pixelrl.a2c import PixelRLConfig, PixelRLNet, TrainRecord, save_pixelrl
    torch.manual_seed(0)
    cfg = PixelRLConfig(episodes=1, batch=1, crop=24, t_max=2, width=8, pretrain_steps=0)
    net = PixelRLNet(1, width=8, gru=True, rmc=True)
    folder = tmp_path / "noise25-test"
    save_pixelrl(net, cfg, TrainRecord(seconds=1.0), folder, command="python scripts/train_pixelrl.py --scale ci",
                 scale="ci", task="noise:25")
    return folder, net


def test_pixelrl_method_restores_each_channel_on_its_own(tmp_path):
    from restorelib import evaluate as E
    from restorelib.pixelrl.a2c import pixelrl_restore
    folder, net = _saved_pixelrl(tmp_path)
    m = E.get_method(f"pixelrl:{folder}", "cpu")
    assert m.name == "pixelrl:noise25-test(t=2)" and m.params == sum(p.numel() for p in net.parameters())
    x = torch.rand(2, 3, 20, 24, generator=torch.Generator().manual_seed(1))
    res = m.restore(x)
    counts = m.last_counts.clone()
    ref, _ = pixelrl_restore(net.eval(), x.reshape(6, 1, 20, 24), 2)
    assert torch.allclose(res.images, ref.reshape(2, 3, 20, 24)) and res.tool_calls == [2, 2] and res.macs[0] > 0
    assert m.last_counts.shape == (2, 9)
    m.pixels_per_chunk = 20 * 24 * 2                            # two channels at a time: the same result
    chunked = m.restore(x)
    assert torch.allclose(chunked.images, res.images) and torch.allclose(m.last_counts, counts)
    gray = x[:, :1].expand(-1, 3, -1, -1)                       # a gray image as RGB: the grayscale result, thrice
    out = m.restore(gray).images
    assert torch.allclose(out[:, 0], out[:, 2]) and torch.allclose(out[:, :1], pixelrl_restore(net, x[:, :1], 2)[0])
    r = E.evaluate(m, {"a": torch.rand(3, 40, 40)}, "noise:25", patch=32)
    assert r["tool_calls"] == 2 and r["params"] == m.params
    assert E.get_method(f"pixelrl:{folder}", "cpu", max_length=4).t_max == 4
    with pytest.raises(ValueError, match="max_length"):
        E.get_method(f"pixelrl:{folder}", "cpu", max_length=0)
    with pytest.raises(FileNotFoundError, match="model must be one of"):
        E.get_method("pixelrl:nowhere", "cpu")


def test_restore_cli_with_pixelrl_prints_the_actions(tmp_path, capsys):
    from restorelib.core import data
    from restorelib.cli import main
    folder, _ = _saved_pixelrl(tmp_path)
    img = tmp_path / "in.png"
    data.save_image(torch.rand(1, 30, 40, generator=torch.Generator().manual_seed(2)), img)
    assert main(["restore", str(img), "-o", str(tmp_path / "out.png"), "--method", f"pixelrl:{folder}",
                 "--reference", str(img)]) == 0
    text = capsys.readouterr().out
    assert "every pixel takes 2 actions" in text and "step 1: " in text and "chain:" not in text
    assert "PSNR" in text and (tmp_path / "out.png").is_file()


def test_get_pixelrl_trains_at_ci_scale_and_loads_the_shipped_agent_at_book_scale():
    from restorelib.core.config import get_profile
    from restorelib.pixelrl.method import DEFAULT_MODEL, get_pixelrl
    bank = rand(6, 1, 32, 32)
    net, cfg, rec = get_pixelrl(get_profile("ci"), bank, "saltpepper:0.5")
    assert cfg == SCALES["ci"] and rec["task"] == "saltpepper:0.5" and not net.training
    assert rec["curve"]["episodes"] == [1, 2, 3] and len(rec["curve"]["pretrain_loss"]) == 2
    with pytest.raises(ValueError, match="bank must"):
        get_pixelrl(get_profile("ci"), None)
    net, cfg, rec = get_pixelrl(get_profile("book"))
    assert rec["command"].startswith("python scripts/train_pixelrl.py") and rec["task"] == "noise:25"
    assert cfg.width == 64 and cfg.gru and len(rec["sha256"]) == 64 and DEFAULT_MODEL == "noise25-gru-rmc"


def test_time_inference_reports_both_medians_and_their_ratio():
    from restorelib.pixelrl.method import time_inference
    r = time_inference(PixelRLNet(1, width=8), size=(20, 24), t_max=2, repeats=2)
    assert r["size"] == [20, 24] and r["t_max"] == 2 and r["repeats"] == 2 and r["backend"] in ("cv2", "torch")
    assert r["network_s"] > 0 and r["inference_s"] > 0
    assert r["ratio"] == pytest.approx(r["inference_s"] / r["network_s"], rel=1e-2)
    assert r["policy_s"] > 0 and r["actions_ratio"] == pytest.approx(r["inference_s"] / r["policy_s"], rel=1e-2)
    assert "torch_ratio" not in r
    r = time_inference(PixelRLNet(1, width=8, gru=False), size=(20, 24), t_max=2, repeats=1, torch_filters=True)
    assert r["torch_ratio"] == pytest.approx(r["torch_inference_s"] / r["network_s"], rel=1e-2)
    with pytest.raises(ValueError, match="repeats must"):
        time_inference(PixelRLNet(1, width=8), repeats=0)


@pytest.mark.parametrize("amp", [False, True])
def test_train_pixelrl_resumes_from_its_checkpoint_to_the_same_agent(tmp_path, monkeypatch, amp):
    import restorelib.pixelrl.a2c as P
    from restorelib.core.patches import CropSampler
    sampler = CropSampler([rand(3, 50, 60, seed=4)], 24, scales=(1.0,))      # RGB crops, made gray
    cfg = replace(SCALES["ci"], episodes=7, rmc_start=0.5, pretrain_steps=2, log_every=2, width=8, amp=amp)
    net_a, rec_a = train_pixelrl(sampler, "noise:25", cfg, device="cpu")
    assert all(p.is_contiguous() for p in net_a.parameters())          # channels-last undone for the checkpoint
    ck = tmp_path / "state.pt"
    real, calls = P.draw_crops, [0]

    def killed(*a, **k):                                # stopped in episode 5: 4 done, the 3rd and 4th logged
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(P, "draw_crops", killed)
    with pytest.raises(KeyboardInterrupt):
        train_pixelrl(sampler, "noise:25", cfg, device="cpu", checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["episode"] == 4 and len(saved["record"]["pretrain_loss"]) == 2
    net_b, rec_b = train_pixelrl(sampler, "noise:25", cfg, device="cpu", checkpoint=ck)
    assert rec_b.episodes == rec_a.episodes and rec_b.returns == pytest.approx(rec_a.returns)
    assert rec_b.lr == rec_a.lr and rec_b.pretrain_loss == rec_a.pretrain_loss
    for k, v in net_a.state_dict().items():                  # the RMC kernel included
        assert torch.allclose(v, net_b.state_dict()[k], atol=1e-6), k
    with pytest.raises(ValueError, match="task"):
        train_pixelrl(sampler, "noise:15", cfg, device="cpu", checkpoint=ck)
    ck.unlink()
    monkeypatch.setattr(P, "draw_crops", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):                    # stopped in the first episode: the start is kept
        train_pixelrl(sampler, "noise:25", cfg, device="cpu", checkpoint=ck)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["episode"] == 0 and saved["record"]["pretrain_loss"] == rec_a.pretrain_loss
    with pytest.raises(ValueError, match="CropSampler of size 24"):
        train_pixelrl(CropSampler([rand(3, 50, 60)], 32, scales=(1.0,)), "noise:25", cfg)
