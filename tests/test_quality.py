"""No-reference quality (chapter 8): NSS fits, NIQE, the noise estimate, the scorer registry, QualityNet, ranking.

The fits are checked against samples of known distributions; NIQE against degradations of a held-out photo (its
pristine model was fitted on the training photos only); QualityNet by shapes, a short training run and its
checkpoint; rank_correlation by scorers whose answer is known (the true PSNR, a constant).
"""
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from scipy.special import gammaln
from standins import Shift, gen

from restorelib.core import data
from restorelib.core import quality
from restorelib.core.degradations import degrade
from restorelib.rlrestore.env import RestoreEnv
from restorelib.core.metrics import psnr
from restorelib.core.patches import patch_bank
from restorelib.core.quality import (fit_aggd, fit_ggd, fit_niqe, get_scorer, load_niqe_model, mscn, niqe,
                                niqe_features, noise_sigma, rank_correlation, register_scorer, scorer_names)
from restorelib.labelfree.quality_net import (PSNR_RANGE, SCALES, QualityNet, load_quality_net, quality_batch,
                                    quality_net_scorer, save_quality_net, train_quality_net)
from restorelib.toolbox.tools import Toolbox

ROOT = Path(__file__).resolve().parents[1]


def ggd_variance(alpha: float, scale: float) -> float:
    return scale**2 * math.exp(gammaln(3 / alpha) - gammaln(1 / alpha))


def aggd_samples(nu: float, beta_l: float, beta_r: float, n: int, seed: int = 0) -> np.ndarray:
    """Asymmetric GGD: left with probability beta_l / (beta_l + beta_r), |x| ~ beta_side * |GGD(nu, 1)|."""
    rng = np.random.default_rng(seed)
    mag = np.abs(stats.gennorm.rvs(nu, size=n, random_state=rng))
    left = rng.random(n) < beta_l / (beta_l + beta_r)
    return np.where(left, -beta_l * mag, beta_r * mag)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """A held-out photo (not one the pristine model was fitted on): chelsea, (1, 3, 300, 451)."""
    assert "chelsea" in data.EMBEDDED_TEST
    return data.to_rgb(data.embedded("chelsea"))[None]


@pytest.fixture(scope="module")
def bank() -> torch.Tensor:
    return patch_bank(data.load_set("embedded-train"), stride=96)


# ----------------------------------------------------------------------------- natural-scene statistics
@pytest.mark.parametrize("alpha", [0.8, 1.0, 2.0, 3.0])
def test_ggd_fit_recovers_shape_and_variance(alpha):
    x = stats.gennorm.rvs(alpha, scale=1.5, size=100_000, random_state=0)
    a, var = fit_ggd(x)
    assert a == pytest.approx(alpha, rel=0.03)
    assert var == pytest.approx(ggd_variance(alpha, 1.5), rel=0.03)


@pytest.mark.parametrize("nu,beta_l,beta_r", [(0.7, 1.0, 1.0), (1.5, 0.5, 1.2), (2.5, 2.0, 0.8)])
def test_aggd_fit_recovers_shape_mean_and_side_variances(nu, beta_l, beta_r):
    x = aggd_samples(nu, beta_l, beta_r, 200_000)
    fit_nu, eta, var_l, var_r = fit_aggd(x)
    assert fit_nu == pytest.approx(nu, rel=0.05)
    assert eta == pytest.approx(np.mean(x), abs=0.02)                  # eta is the distribution's mean
    assert var_l == pytest.approx(ggd_variance(nu, beta_l), rel=0.03)
    assert var_r == pytest.approx(ggd_variance(nu, beta_r), rel=0.03)


def test_fits_of_degenerate_samples_are_nan():
    assert math.isnan(fit_ggd(np.zeros(100))[0])
    assert all(math.isnan(v) for v in fit_aggd(np.abs(np.random.default_rng(0).normal(size=100))))


def test_mscn_is_zero_on_flat_images_and_nearly_contrast_invariant():
    m, sigma = mscn(np.full((40, 50), 77.0))
    assert m.shape == (40, 50) and np.abs(m).max() == 0 and np.abs(sigma).max() < 1e-5
    img = np.random.default_rng(0).normal(128, 40, (128, 128))
    m1, s1 = mscn(img)
    m2, _ = mscn(0.5 * img + 30)                                       # the +1 of the denominator is all that differs
    assert abs(m1.mean()) < 0.01 and 30 < s1.mean() < 42
    assert np.abs(m1 - m2).max() < 0.1 and np.abs(m1).mean() > 0.5
    with pytest.raises(ValueError, match="gray"):
        mscn(np.zeros((2, 8, 8)))


def test_niqe_features_per_block():
    f, s = niqe_features(np.random.default_rng(0).uniform(0, 255, (200, 300)))
    assert f.shape == (2 * 3, 36) and s.shape == (6,)                  # 96x96 blocks, 36 features at two scales
    f, s = niqe_features(np.random.default_rng(0).uniform(0, 255, (63, 63)))
    assert f.shape == (1, 36)                                          # a small image is one block
    with pytest.raises(ValueError, match="32x32"):
        niqe_features(np.zeros((31, 64)))


# ----------------------------------------------------------------------------- NIQE
def test_shipped_pristine_model_was_fitted_on_the_training_photos_only():
    shipped = load_niqe_model()
    assert shipped.mean.shape == (36,) and shipped.cov.shape == (36, 36)
    assert shipped.info["train_set"] == "embedded-train" and shipped.info["seconds"] > 0
    assert not set(shipped.info["photos"]) & set(data.EMBEDDED_TEST)
    assert np.allclose(shipped.cov, shipped.cov.T) and np.linalg.eigvalsh(shipped.cov).min() > -1e-9
    with pytest.raises(ValueError, match="sharpness"):
        fit_niqe(data.load_set("embedded-train", limit=1), sharpness=1.5)
    with pytest.raises(ValueError, match="images"):
        fit_niqe([])


def test_niqe_gets_worse_with_noise_and_with_blur_on_a_held_out_photo(photo):
    for kind, levels in (("noise", (0, 15, 40)), ("blur", (0, 1.5, 3.5))):
        batch = torch.cat([degrade(photo, f"{kind}:{v}", gen(0))[0] for v in levels])
        q = niqe(batch)
        assert q.shape == (3,) and q.dtype == torch.float32
        assert q[0] < q[1] < q[2], (kind, q.tolist())
        assert q[2] > q[0] + 10
    assert torch.allclose(get_scorer("niqe")(photo), -niqe(photo))


def test_niqe_edge_cases(photo):
    crop = photo[..., :63, :63]
    assert torch.isfinite(niqe(crop)).all()                            # a patch: one block, the pristine covariance
    assert torch.isnan(niqe(torch.full((1, 3, 64, 64), 0.5)))          # no structure at all: no statistics
    with pytest.raises(ValueError, match="images"):
        niqe(photo[..., :31, :])
    with pytest.raises(ValueError, match="images"):
        niqe(photo * 2)
    with pytest.raises(FileNotFoundError, match="fit_niqe"):
        load_niqe_model("/nonexistent/niqe.json")


def test_noise_sigma_estimates_white_noise_and_ignores_smooth_structure():
    ramp = torch.linspace(0.2, 0.8, 128).view(1, 1, 1, -1).expand(2, 3, 128, 128).contiguous()
    assert noise_sigma(ramp).abs().max() < 1e-3                        # a plane has no noise
    noisy = (ramp + torch.randn(ramp.shape, generator=gen(0)) * torch.tensor([10.0, 25.0]).view(2, 1, 1, 1) / 255)
    est = noise_sigma(noisy.clamp(0, 1))
    # one channel's noise on luma: sqrt(sum of the squared weights) of the per-channel sigma
    expected = torch.tensor([10.0, 25.0]) * math.sqrt(sum(w * w for w in quality._LUMA))
    assert torch.allclose(est, expected, rtol=0.05)
    assert torch.equal(get_scorer("neg-sigma")(noisy.clamp(0, 1)), -est)


# ----------------------------------------------------------------------------- the registry
def test_registry_names_and_errors():
    assert {"niqe", "neg-sigma", "quality-net"} <= set(scorer_names())
    with pytest.raises(ValueError, match="scorer must be one of .*'nope'"):
        get_scorer("nope")
    with pytest.raises(ValueError, match="name"):
        register_scorer("", lambda x: x.mean(dim=(1, 2, 3)))
    with pytest.raises(ValueError, match="fn"):
        register_scorer("broken", 3)
    fn = lambda x: x.mean(dim=(1, 2, 3))                               # noqa: E731
    assert get_scorer(fn) is fn                                        # a callable passes through


def test_a_user_scorer_plugs_in_as_the_env_reward():
    register_scorer("brightness", lambda images: images.mean(dim=(1, 2, 3)))
    try:
        box = Toolbox()
        box.nets[0] = Shift(0.1)
        env = RestoreEnv(box, t_max=2, reward="nr", scorer="brightness")
        x = torch.full((2, 3, 8, 8), 0.3)
        env.reset(x)                                                   # no ground truth needed
        _, r, _, _ = env.step(torch.tensor([0, env.stop]))
        assert torch.allclose(r, torch.tensor([0.1, 0.0]), atol=1e-6)
    finally:
        quality._SCORERS.pop("brightness")


def test_quality_net_scorer_needs_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_quality"):
        quality_net_scorer(tmp_path / "missing")(torch.rand(1, 3, 32, 32))


# ----------------------------------------------------------------------------- QualityNet
@pytest.mark.parametrize("size", [(32, 32), (63, 63), (48, 80), (101, 37)])
def test_quality_net_is_fully_convolutional(size):
    net = QualityNet().eval()
    out = net(torch.rand(3, 3, *size, generator=gen(0)))
    assert out.shape == (3,) and torch.isfinite(out).all()


def test_quality_net_size_and_errors():
    assert sum(p.numel() for p in QualityNet().parameters()) == 29_809
    with pytest.raises(ValueError, match="32x32"):
        QualityNet()(torch.rand(1, 3, 31, 64))
    with pytest.raises(ValueError, match="channels"):
        QualityNet()(torch.rand(1, 1, 32, 32))


def test_quality_batch_targets(bank):
    cfg = replace(SCALES["ci"], batch=32)
    x, y = quality_batch(bank, cfg, gen(0))
    assert x.shape == (32, 3, 63, 63) and y.shape == (32,)
    assert (y >= PSNR_RANGE[0]).all() and (y <= PSNR_RANGE[1]).all() and y.std() > 3
    _, y_clean = quality_batch(bank, replace(cfg, clean_fraction=1.0), gen(0))
    assert (y_clean == PSNR_RANGE[1]).all()                            # clean patches: 100 dB, clipped to 50
    x2, y2 = quality_batch(bank, cfg, gen(0))
    assert torch.equal(x, x2) and torch.equal(y, y2)                   # seeded


def test_ci_training_reduces_the_loss_and_the_checkpoint_round_trips(bank, tmp_path):
    x, y = quality_batch(bank, replace(SCALES["ci"], batch=128), gen(7))
    torch.manual_seed(SCALES["ci"].seed)
    with torch.no_grad():
        before = F.l1_loss(QualityNet()(x), y).item()                  # the same initial weights as training's
    net, rec = train_quality_net(bank, SCALES["ci"])
    with torch.no_grad():
        after = F.l1_loss(net(x), y).item()
    assert after < before - 0.5, (before, after)
    assert rec.steps[-1] == SCALES["ci"].steps and len(rec.losses) == len(rec.steps) and rec.seconds > 0

    save_quality_net(net, SCALES["ci"], rec, tmp_path, command="pytest", scale="ci", train_patches=len(bank))
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["command"] == "pytest" and record["params"] == 29_809 and len(record["sha256"]) == 64
    assert "PSNR" in (tmp_path / "README.md").read_text()
    loaded, cfg = load_quality_net(tmp_path)
    assert cfg == SCALES["ci"]
    with torch.no_grad():
        assert torch.equal(loaded(x[:4]), net(x[:4]))
    assert torch.allclose(quality_net_scorer(tmp_path)(x[:4]), net(x[:4]).detach())

    blob = bytearray((tmp_path / "quality-net.pt").read_bytes())
    blob[-10] ^= 0xFF
    (tmp_path / "quality-net.pt").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="sha256"):
        load_quality_net(tmp_path)


def test_bf16_training_learns_too_and_ships_float32_weights(bank):
    """``amp`` (bf16 autocast, on at book scale): the same net, the loss as fast down, weights in float32."""
    x, y = quality_batch(bank, replace(SCALES["ci"], batch=128), gen(7))
    nets = {amp: train_quality_net(bank, replace(SCALES["ci"], amp=amp))[0] for amp in (False, True)}
    with torch.no_grad():
        errors = {amp: F.l1_loss(net(x), y).item() for amp, net in nets.items()}
    assert abs(errors[True] - errors[False]) < 0.5, errors
    for k, v in nets[True].state_dict().items():
        assert v.dtype == torch.float32 and v.is_contiguous(), k


def test_training_rejects_bad_inputs(bank):
    with pytest.raises(ValueError, match="bank"):
        train_quality_net(bank[:, :1], SCALES["ci"])
    with pytest.raises(ValueError, match="steps"):
        train_quality_net(bank, replace(SCALES["ci"], steps=0))


# ----------------------------------------------------------------------------- rank correlation
@pytest.fixture(scope="module")
def clean_patches(bank) -> torch.Tensor:
    return bank[::20][:12]


def test_rank_correlation_of_known_scorers(clean_patches):
    specs = ["moderate", "noise:5..50", "poisson:5..200"]
    truth = lambda d: psnr(d, clean_patches)                           # noqa: E731 (the batch holds every image)
    rho = rank_correlation(truth, clean_patches, specs, seed=0)
    assert set(rho) == set(specs) | {"all"}
    assert all(v == pytest.approx(1.0) for v in rho.values())
    worst = rank_correlation(lambda d: -psnr(d, clean_patches), clean_patches, specs, seed=0)
    assert all(v == pytest.approx(-1.0) for v in worst.values())
    flat = rank_correlation(lambda d: torch.zeros(len(d)), clean_patches, specs, seed=0)
    assert all(math.isnan(v) for v in flat.values())                   # a constant ranks nothing
    assert rank_correlation(truth, clean_patches, specs, seed=0) == rho  # seeded


def test_rank_correlation_of_the_classical_scores(clean_patches):
    rho = rank_correlation("neg-sigma", clean_patches, ["noise:0..50"], seed=1)
    assert rho["noise:0..50"] > 0.8                                    # a noise estimate ranks noise
    rho = rank_correlation("niqe", clean_patches, ["noise:0..50", "blur:0..4"], seed=1)
    assert rho["all"] > 0.3


def test_rank_correlation_errors(clean_patches):
    with pytest.raises(ValueError, match="specs"):
        rank_correlation("niqe", clean_patches, "moderate")
    with pytest.raises(ValueError, match="spec"):
        rank_correlation("niqe", clean_patches, ["fog:3"])
    with pytest.raises(ValueError, match=r"scorer must return one score per image, shape \(12,\)"):
        rank_correlation(lambda d: d.mean(dim=(2, 3)), clean_patches, ["moderate"])
    with pytest.raises(ValueError, match="scorer"):
        rank_correlation("unknown", clean_patches, ["moderate"])
    with pytest.raises(ValueError, match="clean"):
        rank_correlation("niqe", clean_patches[:, :1], ["moderate"])


# ----------------------------------------------------------------------------- the scripts
def test_train_quality_script_at_ci_scale(tmp_path):
    out = tmp_path / "qn"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_quality.py"), "--scale", "ci", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"] == f"python scripts/train_quality.py --scale ci --out {out}"
    assert record["val"]["set"] == "embedded-test" and "saltpepper:0.005..0.1" in record["val"]["specs"]
    net, cfg = load_quality_net(out)
    assert cfg.steps == SCALES["ci"].steps


def test_fit_niqe_script_writes_model_record_and_card(tmp_path):
    out = tmp_path / "niqe.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "fit_niqe.py"), "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    model, shipped = load_niqe_model(str(out)), load_niqe_model()
    assert model.info["command"].startswith("python scripts/fit_niqe.py") and model.info["date"]
    assert model.info["patches"] == shipped.info["patches"]              # the shipped model is this fit
    assert np.allclose(model.mean, shipped.mean) and np.allclose(model.cov, shipped.cov)
    assert "Mittal" in (tmp_path / "README.md").read_text()


def test_quality_batch_runs_a_share_through_tool_chains(bank):
    from restorelib.toolbox.tools import Toolbox

    from standins import Shift
    tb = Toolbox()
    for i in range(len(tb)):
        tb.nets[i] = Shift(0.2)                                         # every tool brightens: PSNR must fall
    cfg = replace(SCALES["ci"], batch=16, clean_fraction=1.0)
    x0, y0 = quality_batch(bank, cfg, gen(3))
    x1, y1 = quality_batch(bank, replace(cfg, chain_fraction=1.0), gen(3), toolbox=tb.eval())
    assert (y0 == PSNR_RANGE[1]).all() and (y1 < 20).all()             # clean, then brightened by 0.2 to 0.6
    assert ((x1 - x0).mean(dim=(1, 2, 3)) > 0.15).all()
    x2, _ = quality_batch(bank, replace(cfg, chain_fraction=0.5), gen(3), toolbox=tb.eval())
    changed = ((x2 - x0).abs().flatten(1).max(dim=1).values > 0).float().mean()
    assert 0.1 < changed < 0.9
    assert "quality-net-naive" in scorer_names()


def test_train_quality_net_resumes_from_its_checkpoint_to_the_same_net(tmp_path, monkeypatch):
    import restorelib.labelfree.quality_net as Q
    from restorelib.core.patches import CropSampler
    tb = Toolbox()
    for i in range(len(tb)):
        tb.nets[i] = Shift(0.05 * (i % 3 - 1))
    sampler = CropSampler([torch.rand(3, 80, 90, generator=gen(8))], 63, scales=(1.0,))
    cfg = replace(SCALES["ci"], steps=100, batch=4, chain_fraction=0.5)      # a log every 2 steps
    net_a, rec_a = train_quality_net(sampler, cfg, toolbox=tb.eval())
    ck = tmp_path / "state.pt"
    real, calls = Q.quality_batch, [0]

    def killed(*a, **k):                                       # stopped in step 8, a loss of step 7 pending
        calls[0] += 1
        if calls[0] == 8:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(Q, "quality_batch", killed)
    with pytest.raises(KeyboardInterrupt):
        train_quality_net(sampler, cfg, toolbox=tb, checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["step"] == 7 and len(saved["record"]["running"]["loss"]) == 1
    assert saved["parts"]["sched"]["last_epoch"] == 7
    net_b, rec_b = train_quality_net(sampler, cfg, toolbox=tb, checkpoint=ck)
    assert rec_b.steps == rec_a.steps and rec_b.losses == pytest.approx(rec_a.losses, rel=1e-6)
    for k, v in net_a.state_dict().items():
        assert torch.allclose(v, net_b.state_dict()[k], atol=1e-6), k
    with pytest.raises(ValueError, match="configuration"):
        train_quality_net(sampler, replace(cfg, clean_fraction=0.2), toolbox=tb, checkpoint=ck)
    with pytest.raises(ValueError, match="bank"):
        train_quality_net(CropSampler([torch.rand(3, 40, 40)], 24, scales=(1.0,)), cfg)
