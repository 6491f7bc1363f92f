"""restorelib.core.metrics: PSNR values and SSIM against scikit-image."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from restorelib.core.data import embedded
from restorelib.core.degradations import degrade
from restorelib.evaluate import Identity, SingleTool, evaluate
from restorelib.core.metrics import MSE_FLOOR, mse, paired_difference, psnr, ssim
from restorelib.toolbox.tools import Toolbox


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sk_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """scikit-image's SSIM of two (C, H, W) tensors with the settings restorelib follows."""
    a64, b64 = (t.double().permute(1, 2, 0).numpy() for t in (a, b))
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    if a.shape[0] == 1:
        return structural_similarity(a64[..., 0], b64[..., 0], **kw)
    return structural_similarity(a64, b64, channel_axis=-1, **kw)


# ----------------------------------------------------------------------------- PSNR
def test_psnr_identical_is_100db(images):
    p = psnr(images, images)
    assert p.shape == (2,)
    assert torch.isfinite(p).all()
    assert torch.allclose(p, torch.full((2,), 100.0))
    assert 10 * math.log10(1 / MSE_FLOOR) == pytest.approx(100.0)


def test_psnr_known_value():
    x = torch.rand(1, 3, 16, 16, generator=gen(0)) * 0.9
    assert psnr(x, x + 0.1).item() == pytest.approx(20.0, abs=1e-3)
    assert psnr(x + 0.1, x).item() == pytest.approx(20.0, abs=1e-3)


def test_psnr_batched():
    x = torch.rand(3, 1, 8, 8, generator=gen(1)) * 0.5
    offsets = torch.tensor([0.1, 0.01, 0.001]).view(-1, 1, 1, 1)
    p = psnr(x, x + offsets)
    assert p.shape == (3,)
    assert torch.allclose(p, torch.tensor([20.0, 40.0, 60.0]), atol=1e-2)
    assert torch.allclose(mse(x, x + offsets), offsets.flatten() ** 2, rtol=1e-3)


def test_psnr_data_range(images):
    y = (images + 0.05).clamp(0, 1)
    assert torch.allclose(psnr(images * 255, y * 255, data_range=255), psnr(images, y), atol=1e-3)
    assert torch.allclose(psnr(images * 255, images * 255, data_range=255), torch.full((2,), 100.0))
    assert torch.allclose(psnr(images, y, data_range=2.0), psnr(images, y) + 20 * math.log10(2), atol=1e-3)


@pytest.mark.parametrize("fn", [psnr, ssim])
@pytest.mark.parametrize("data_range", [0, -1.0, float("nan")])
def test_bad_data_range(fn, data_range):
    x = torch.rand(1, 1, 16, 16, generator=gen(0))
    with pytest.raises(ValueError, match="data_range must be positive"):
        fn(x, x, data_range=data_range)


# ----------------------------------------------------------------------------- SSIM
@pytest.fixture(scope="module")
def chelsea_pair() -> tuple[torch.Tensor, torch.Tensor]:
    im = embedded("chelsea")
    clean = torch.stack([im[:, 40:104, 60:140], im[:, 150:214, 250:330], im[:, 200:264, 20:100]])
    noisy, _ = degrade(clean, "noise:10..40", gen(3))
    return clean, noisy


def test_ssim_matches_skimage_rgb(chelsea_pair):
    clean, noisy = chelsea_pair
    s = ssim(clean, noisy)
    assert s.shape == (3,)
    ref = torch.tensor([sk_ssim(a, b) for a, b in zip(clean, noisy)], dtype=torch.float32)
    assert torch.allclose(s, ref, atol=1e-3)
    assert (s < 0.99).all()                                  # a real difference was measured


def test_ssim_matches_skimage_gray():
    im = embedded("camera")
    clean = torch.stack([im[:, 100:140, 100:157], im[:, 300:340, 200:257]])           # odd sizes: 40x57
    degraded, _ = degrade(clean, "blur:1.2+noise:15", gen(4))
    s = ssim(clean, degraded)
    ref = torch.tensor([sk_ssim(a, b) for a, b in zip(clean, degraded)], dtype=torch.float32)
    assert torch.allclose(s, ref, atol=1e-3)


def test_ssim_minimum_size_matches_skimage():
    a = torch.rand(1, 1, 11, 11, generator=gen(5))
    b = (a + 0.1 * torch.rand(1, 1, 11, 11, generator=gen(6))).clamp(0, 1)
    assert ssim(a, b).item() == pytest.approx(sk_ssim(a[0], b[0]), abs=1e-3)


def test_ssim_identical_is_one(chelsea_pair):
    clean, _ = chelsea_pair
    assert torch.allclose(ssim(clean, clean), torch.ones(3), atol=1e-6)


def test_ssim_symmetric_and_monotone(chelsea_pair):
    clean, noisy = chelsea_pair
    assert torch.allclose(ssim(clean, noisy), ssim(noisy, clean), atol=1e-6)
    mild, _ = degrade(clean, "noise:5", gen(0))
    strong, _ = degrade(clean, "noise:50", gen(0))
    assert (ssim(clean, mild) > ssim(clean, strong)).all()


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [mse, psnr, ssim])
def test_shape_mismatch(fn):
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17)
    with pytest.raises(ValueError, match=r"x and y must have the same shape.*\(1, 3, 16, 16\).*\(1, 3, 16, 17\)"):
        fn(x, y)


def test_ssim_too_small():
    x = torch.rand(1, 1, 10, 40)
    with pytest.raises(ValueError, match="x must be at least 11x11"):
        ssim(x, x)


@pytest.mark.parametrize("fn", [mse, psnr, ssim])
def test_non_tensor(fn):
    x = torch.rand(1, 1, 16, 16)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        fn(x.numpy(), x)
    with pytest.raises(TypeError, match="y must be a torch.Tensor"):
        fn(x, [[0.5]])


@pytest.mark.parametrize("fn", [mse, psnr, ssim])
def test_bad_dtype_and_rank(fn):
    x = torch.rand(1, 1, 16, 16)
    with pytest.raises(TypeError, match="y must be a floating-point tensor"):
        fn(x, (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        fn(x[0], x[0])


def test_psnr_accepts_unclipped_values():
    x = torch.zeros(1, 1, 4, 4)
    assert psnr(x, x - 0.1).item() == pytest.approx(20.0, abs=1e-3)     # no range check: outputs may overshoot
    assert np.isfinite(ssim(torch.zeros(1, 1, 11, 11), torch.full((1, 1, 11, 11), 1.2)).item())


@pytest.fixture(scope="module")
def photos() -> dict[str, torch.Tensor]:
    """Three embedded photos, cropped small: evaluate() inputs for the paired-difference tests."""
    return {k: embedded(k)[:, :96, :96] for k in ("chelsea", "coffee", "camera")}


def test_paired_difference_matches_numpy(photos):
    a = evaluate(SingleTool("noise-2", Toolbox.load()), photos, "moderate", patch=63, patches_per_image=3, seed=1)
    b = evaluate(Identity(), photos, "moderate", patch=63, patches_per_image=3, seed=1)
    d = np.array([ra["psnr_out"] - rb["psnr_out"] for ra, rb in zip(a["per_image"], b["per_image"])])
    r = paired_difference(a, b)
    assert r["n"] == 9 and r["wins"] == int((d > 0).sum())
    assert r["mean"] == pytest.approx(a["psnr_out"] - b["psnr_out"], abs=1e-9)
    assert r["se"] == pytest.approx(d.std(ddof=1) / 3, rel=1e-9) and r["se"] > 0
    assert paired_difference(b, a)["mean"] == pytest.approx(-r["mean"])
    assert paired_difference(a, b, key="ssim_out")["mean"] == pytest.approx(a["ssim_out"] - b["ssim_out"])
    one = evaluate(Identity(), dict(list(photos.items())[:1]), "moderate", patch=63, seed=1)
    assert paired_difference(one, one) == {"mean": 0.0, "se": 0.0, "wins": 0, "n": 1}


def test_paired_difference_refuses_unpaired_results(photos):
    pics = dict(list(photos.items())[:2])
    a = evaluate(Identity(), pics, "moderate", patch=63, seed=0)
    with pytest.raises(ValueError, match="same degraded patches"):
        paired_difference(a, evaluate(Identity(), pics, "moderate", patch=63, seed=1))
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired_difference(a, evaluate(Identity(), pics, "moderate", patch=63, patches_per_image=2, seed=0))
    with pytest.raises(ValueError, match="key must be one of"):
        paired_difference(a, a, key="psnr")
