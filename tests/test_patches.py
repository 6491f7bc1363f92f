"""restorelib.core.patches: grid and random patches, rescaling, the patch bank, augmentation, splits by image."""
from __future__ import annotations

import pytest
import torch

from restorelib.core.patches import CROP_SCALES, PATCH, augment, grid_patches, patch_bank, random_patches, rescale, split_names


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(3, 200, 300, generator=gen(0))


def coord_image(h: int, w: int) -> torch.Tensor:
    """(2, h, w) whose channels hold each pixel's row and column: a patch tells where it came from."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    return torch.stack([ys, xs]) / max(h, w)


# ----------------------------------------------------------------------------- grid patches
@pytest.mark.parametrize("size,stride", [(63, 96), (63, 32), (50, 50), (200, 1)])
def test_grid_patches_count_and_content(image, size, stride):
    p = grid_patches(image, size, stride)
    nh, nw = (200 - size) // stride + 1, (300 - size) // stride + 1
    assert p.shape == (nh * nw, 3, size, size)
    for i in range(nh):
        for j in (0, nw - 1):
            assert torch.equal(p[i * nw + j], image[:, i * stride:i * stride + size, j * stride:j * stride + size])


def test_grid_patches_known_count(image):
    assert grid_patches(image).shape == (((200 - 63) // 96 + 1) * ((300 - 63) // 96 + 1), 3, 63, 63) == (6, 3, 63, 63)
    assert PATCH == 63


def test_grid_patches_too_large(image):
    with pytest.raises(ValueError, match="size 201 is larger than the image"):
        grid_patches(image, size=201)
    with pytest.raises(ValueError, match="size 64 is larger than the image"):
        grid_patches(torch.rand(1, 100, 63), size=64)


@pytest.mark.parametrize("kw,name", [({"size": 0}, "size"), ({"size": 2.5}, "size"),
                                     ({"stride": 0}, "stride"), ({"stride": 1.0}, "stride")])
def test_grid_patches_bad_args(image, kw, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        grid_patches(image, **kw)


@pytest.mark.parametrize("bad", [torch.rand(1, 3, 64, 64), torch.zeros(3, 64, 64, dtype=torch.uint8), [[0.5]]])
def test_bad_image(bad):
    for fn in (lambda x: grid_patches(x), lambda x: rescale(x, 0.5), lambda x: random_patches(x, 1)):
        with pytest.raises((ValueError, TypeError),
                           match="image must (be a torch.Tensor|be a floating-point tensor|have shape)"):
            fn(bad)


# ----------------------------------------------------------------------------- rescale
def test_rescale_shapes():
    x = torch.rand(3, 90, 120, generator=gen(1))
    assert rescale(x, 2 / 3).shape == (3, 60, 80)
    assert rescale(x, 1 / 3).shape == (3, 30, 40)
    assert rescale(torch.rand(1, 10, 10), 0.01).shape == (1, 1, 1)      # never below one pixel
    y = rescale(x, 1 / 3)
    assert y.min() >= 0 and y.max() <= 1


def test_rescale_identity_and_constant():
    x = torch.rand(3, 30, 40, generator=gen(2))
    assert torch.equal(rescale(x, 1), x)
    c = torch.full((1, 60, 90), 0.25)
    assert torch.allclose(rescale(c, 2 / 3), torch.full((1, 40, 60), 0.25), atol=1e-6)


@pytest.mark.parametrize("scale", [0, -0.5, 1.5, 2])
def test_rescale_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be in"):
        rescale(torch.rand(3, 30, 30), scale)


# ----------------------------------------------------------------------------- the patch bank
def test_patch_bank_scales(image):
    bank = patch_bank({"a": image})
    expected = torch.cat([grid_patches(rescale(image, s)) for s in CROP_SCALES])
    assert CROP_SCALES == (1.0, 2 / 3, 1 / 3)
    # x1: 200x300 -> 2*3; x2/3: 133x200 -> 1*2; x1/3: 67x100 -> 1*1
    assert bank.shape == (6 + 2 + 1, 3, 63, 63) == expected.shape
    assert torch.equal(bank, expected)


def test_patch_bank_skips_small_scales_and_stacks_images(image):
    small = torch.rand(3, 100, 100, generator=gen(3))                  # x1: 1 patch, x2/3: 1, x1/3 (33): none
    bank = patch_bank([image, small])
    assert bank.shape[0] == 9 + 2
    assert torch.equal(bank[-2], small[:, :63, :63])


def test_patch_bank_gray_to_rgb():
    g = torch.rand(1, 100, 120, generator=gen(4))
    rgb = patch_bank({"g": g}, size=40, stride=50, scales=(1.0,))
    assert rgb.shape == (2 * 2, 3, 40, 40)
    assert torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2])
    assert torch.equal(rgb[0, 0], g[0, :40, :40])
    assert patch_bank({"g": g}, size=40, stride=50, scales=(1.0,), rgb=False).shape == (4, 1, 40, 40)


def test_patch_bank_errors():
    with pytest.raises(ValueError, match=r"images\['tiny'\] of size \(40, 40\) is smaller than size 63"):
        patch_bank({"tiny": torch.rand(3, 40, 40)})
    with pytest.raises(ValueError, match="images must not be empty"):
        patch_bank({})
    with pytest.raises(ValueError, match=r"images\[0\] must have shape \(C, H, W\)"):
        patch_bank([torch.rand(1, 3, 64, 64)])


# ----------------------------------------------------------------------------- random patches
def test_random_patches_seeded_and_inside():
    img = coord_image(70, 90)
    a = random_patches(img, 20, size=16, generator=gen(5))
    assert a.shape == (20, 2, 16, 16)
    assert torch.equal(a, random_patches(img, 20, size=16, generator=gen(5)))
    assert not torch.equal(a, random_patches(img, 20, size=16, generator=gen(6)))
    for p in a:
        y, x = round(p[0, 0, 0].item() * 90), round(p[1, 0, 0].item() * 90)
        assert 0 <= y <= 70 - 16 and 0 <= x <= 90 - 16
        assert torch.equal(p, img[:, y:y + 16, x:x + 16])


def test_random_patches_errors():
    img = torch.rand(3, 30, 40)
    with pytest.raises(ValueError, match="size 63 is larger than the image"):
        random_patches(img, 2)
    for n in (0, -1, 2.0):
        with pytest.raises(ValueError, match="n must be a positive int"):
            random_patches(img, n, size=8)


# ----------------------------------------------------------------------------- augmentation
def _dihedral(x: torch.Tensor) -> list[torch.Tensor]:
    rots = [torch.rot90(x, k, dims=(-2, -1)) for k in range(4)]
    return rots + [r.flip(-1) for r in rots]


def test_augment_shape_and_dihedral():
    x = torch.rand(4, 3, 16, 16, generator=gen(7))
    seen = set()
    for seed in range(12):
        y = augment(x, gen(seed))
        assert y.shape == x.shape
        assert torch.equal(y, augment(x, gen(seed)))
        matches = [i for i, d in enumerate(_dihedral(x)) if torch.equal(y, d)]
        assert matches, "augment must be one flip/rotation of the whole batch"
        seen.add(matches[0])
    assert len(seen) > 3


# ----------------------------------------------------------------------------- split by image
def test_split_names():
    names = [f"img{i:02d}" for i in range(10)]
    train, test = split_names(names, 0.2, seed=0)
    assert len(test) == 2 and len(train) == 8
    assert not set(train) & set(test) and set(train) | set(test) == set(names)
    assert train == sorted(train) and test == sorted(test)
    assert split_names(names, 0.2, seed=0) == (train, test)
    assert len({tuple(split_names(names, 0.2, seed=s)[1]) for s in range(10)}) > 1


def test_split_names_at_least_one_each():
    assert split_names(["a", "b"], 0.01) == (["a"], ["b"]) or split_names(["a", "b"], 0.01) == (["b"], ["a"])
    train, test = split_names(["a", "b", "c"], 0.99)
    assert len(train) == 1 and len(test) == 2


def test_split_names_errors():
    with pytest.raises(ValueError, match="names must hold at least two images"):
        split_names(["only"])
    for f in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_fraction must be in"):
            split_names(["a", "b", "c"], f)


# ----------------------------------------------------------------------------- crops on the fly
def test_crop_sampler_crops_come_from_the_images():
    from restorelib.core.patches import CropSampler
    img = coord_image(90, 120)
    img = torch.cat([img, img[:1]])                                   # 3 channels: row, column, row
    sampler = CropSampler({"a": img}, 20, scales=(1.0,))
    assert len(sampler) == (90 - 19) * (120 - 19)
    crops = sampler.sample(50, gen(1))
    assert crops.shape == (50, 3, 20, 20) and crops.dtype == torch.float32
    u8 = (img * 255).round() / 255
    for c in crops[:10]:                                              # each crop is a window of the (uint8) image
        y, x = round(c[0, 0, 0].item() * 120), round(c[1, 0, 0].item() * 120)
        assert torch.allclose(c, u8[:, y:y + 20, x:x + 20], atol=1e-6)
    assert torch.equal(sampler.sample(50, gen(1)), crops)             # seeded
    tops = {round(c[0, 0, 0].item() * 120) for c in sampler.sample(400, gen(2))}
    assert min(tops) < 10 and max(tops) > 60                          # positions spread over the image


def test_crop_sampler_scales_weights_and_errors():
    from restorelib.core.patches import CropSampler
    sampler = CropSampler([torch.rand(1, 60, 60, generator=gen(3)), torch.rand(3, 100, 100, generator=gen(4))], 40)
    assert [tuple(im.shape) for im in sampler.images] == [(3, 60, 60), (3, 40, 40), (3, 100, 100), (3, 67, 67)]
    assert sampler.weights.tolist() == [21.0 ** 2, 1.0, 61.0 ** 2, 28.0 ** 2]   # drawn by number of positions
    with pytest.raises(ValueError, match="size"):
        CropSampler([torch.rand(3, 50, 50)], 0)
    with pytest.raises(ValueError, match="no image"):
        CropSampler([torch.rand(3, 30, 30)], 40)
    with pytest.raises(ValueError, match="images must not be empty"):
        CropSampler({}, 10)
    with pytest.raises(ValueError, match="n must be"):
        sampler.sample(0)
