"""restorelib.core.degradations: the operators against reference implementations, the level grid and specs."""
from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from restorelib.core import degradations as D
from restorelib.core.data import embedded
from restorelib.core.degradations import (
    GROUPS, STAGE_ORDER, Spec, Stage, add_gaussian_noise, add_poisson_noise, add_salt_pepper, apply_levels,
    degrade, gaussian_blur, group_triples, interval, jpeg, parse_spec, register_spec, severity)
from restorelib.core.metrics import psnr


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """A natural RGB crop (1, 3, 64, 80)."""
    return embedded("astronaut")[:, 100:164, 150:230][None].contiguous()


# ----------------------------------------------------------------------------- blur
def test_blur_sigma_zero_is_identity(images):
    assert torch.allclose(gaussian_blur(images, 0.0), images, atol=1e-6)


def test_blur_preserves_constant():
    x = torch.full((2, 3, 30, 25), 0.37)
    assert torch.allclose(gaussian_blur(x, 3.0), x, atol=1e-6)


@pytest.mark.parametrize("sigma", [0.5, 1.5, 3.0, 5.0])
def test_blur_matches_opencv(sigma):
    img = np.random.default_rng(0).random((40, 50, 3), dtype=np.float32)
    ref = cv2.GaussianBlur(img, (21, 21), sigma, borderType=cv2.BORDER_REPLICATE)
    out = gaussian_blur(torch.from_numpy(img).permute(2, 0, 1)[None], sigma)[0].permute(1, 2, 0).numpy()
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_blur_smooths(images):
    y = gaussian_blur(images, 2.0)
    assert y.shape == images.shape
    assert y.std() < 0.5 * images.std()


def test_blur_per_image_sigma():
    x = torch.rand(3, 3, 32, 32, generator=gen(1))
    sigmas = [0.0, 1.0, 2.5]
    y = gaussian_blur(x, sigmas)
    for i, s in enumerate(sigmas):
        assert torch.allclose(y[i:i + 1], gaussian_blur(x[i:i + 1], s), atol=1e-6)
    assert torch.allclose(gaussian_blur(x, torch.tensor(sigmas)), y)


def test_blur_bad_size(images):
    for size in (0, 4, 2.5):
        with pytest.raises(ValueError, match="size"):
            gaussian_blur(images, 1.0, size=size)


# ----------------------------------------------------------------------------- Gaussian noise
def test_noise_seeded(images):
    a = add_gaussian_noise(images, 20, gen(3))
    b = add_gaussian_noise(images, 20, gen(3))
    c = add_gaussian_noise(images, 20, gen(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_noise_std_matches_sigma():
    x = torch.full((1, 1, 256, 256), 0.5)
    for sigma in (5.0, 20.0):
        y = add_gaussian_noise(x, sigma, gen(0))
        assert y.min() > 0 and y.max() < 1                      # no clipping at mid-grey
        assert abs((y - x).std().item() - sigma / 255) < 0.02 * sigma / 255
        assert abs((y - x).mean().item()) < 3 * sigma / 255 / 256


def test_noise_clipped(images):
    y = add_gaussian_noise(images, 150, gen(0))
    assert y.min() == 0 and y.max() == 1                        # strong noise hits both bounds exactly


def test_noise_sigma_zero_and_per_image(images):
    assert torch.equal(add_gaussian_noise(images, 0, gen(0)), images)
    y = add_gaussian_noise(images, [0.0, 30.0], gen(0))
    assert torch.equal(y[0], images[0])
    assert not torch.equal(y[1], images[1])


# ----------------------------------------------------------------------------- JPEG
def _pillow_jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Reference: quantise to uint8, encode and decode with Pillow, back to [0, 1]."""
    out = []
    for img in x:
        a = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        buf = io.BytesIO()
        Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(buf, format="JPEG", quality=quality)
        d = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        d = d[..., None] if d.ndim == 2 else d
        out.append(torch.from_numpy(d.copy()).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def test_jpeg_range_and_shape(images):
    y = jpeg(images, 30)
    assert y.shape == images.shape and y.dtype == images.dtype
    assert y.min() >= 0 and y.max() <= 1


def test_jpeg_quality_ordering(photo):
    p = [psnr(jpeg(photo, q), photo).item() for q in (100, 70, 40, 10)]
    assert p[0] > 40
    assert p == sorted(p, reverse=True) and p[0] - p[-1] > 10


@pytest.mark.parametrize("quality", [10, 55, 95])
def test_jpeg_matches_pillow(photo, quality):
    assert torch.equal(jpeg(photo, quality), _pillow_jpeg(photo, quality))


def test_jpeg_grayscale(photo):
    g = photo.mean(dim=1, keepdim=True)
    y = jpeg(g, 40)
    assert y.shape == g.shape
    assert torch.equal(y, _pillow_jpeg(g, 40))


def test_jpeg_per_image_quality_rounded(photo):
    x = torch.cat([photo, photo])
    y = jpeg(x, [20.4, 79.6])
    assert torch.equal(y[0:1], jpeg(photo, 20)) and torch.equal(y[1:2], jpeg(photo, 80))


def test_jpeg_bad_channels_and_quality(images):
    with pytest.raises(ValueError, match="x must have 1 or 3 channels"):
        jpeg(images[:, :2], 50)
    for q in (0, 101):
        with pytest.raises(ValueError, match="quality"):
            jpeg(images, q)


# ----------------------------------------------------------------------------- salt and pepper, Poisson
def test_salt_pepper_density():
    x = torch.rand(2, 3, 128, 128, generator=gen(0)) * 0.98 + 0.01      # no pixel is already 0 or 1
    y = add_salt_pepper(x, 0.3, gen(1))
    changed = (y != x).any(dim=1)                                        # (N, H, W)
    frac = changed.float().mean(dim=(1, 2))
    assert torch.allclose(frac, torch.full((2,), 0.3), atol=0.015)
    hit = y.permute(0, 2, 3, 1)[changed]                                  # (K, C) values at the changed pixels
    assert ((hit == 0) | (hit == 1)).all()
    assert (hit == hit[:, :1]).all()                                      # all channels alike
    assert abs((hit[:, 0] == 1).float().mean().item() - 0.5) < 0.03       # half salt, half pepper
    keep = ~changed[:, None].expand_as(x)
    assert torch.equal(y[keep], x[keep])


def test_salt_pepper_extremes_and_per_image(images):
    assert torch.equal(add_salt_pepper(images, 0.0, gen(0)), images)
    full = add_salt_pepper(images, 1.0, gen(0))
    assert ((full == 0) | (full == 1)).all()
    y = add_salt_pepper(images, [0.0, 0.5], gen(0))
    assert torch.equal(y[0], images[0]) and not torch.equal(y[1], images[1])
    with pytest.raises(ValueError, match="density"):
        add_salt_pepper(images, 1.5)


def test_poisson_seeded_and_statistics():
    x = torch.full((1, 1, 128, 128), 0.5)
    a = add_poisson_noise(x, 30, gen(2))
    assert torch.equal(a, add_poisson_noise(x, 30, gen(2)))
    assert not torch.equal(a, add_poisson_noise(x, 30, gen(3)))
    assert a.min() >= 0 and a.max() <= 1
    assert abs(a.mean().item() - 0.5) < 0.01
    assert abs(a.std().item() - (0.5 / 30) ** 0.5) < 0.05 * (0.5 / 30) ** 0.5
    counts = a * 30                                                      # whole photon counts
    assert torch.allclose(counts, counts.round(), atol=1e-4)


def test_poisson_lower_peak_is_noisier(images):
    e_low = (add_poisson_noise(images, 5, gen(0)) - images).abs().mean()
    e_high = (add_poisson_noise(images, 500, gen(0)) - images).abs().mean()
    assert e_low > 3 * e_high
    with pytest.raises(ValueError, match="peak"):
        add_poisson_noise(images, 0)


# ----------------------------------------------------------------------------- bad input, every operator
OPERATORS = {
    "gaussian_blur": lambda x: gaussian_blur(x, 1.0),
    "add_gaussian_noise": lambda x: add_gaussian_noise(x, 10, gen()),
    "add_poisson_noise": lambda x: add_poisson_noise(x, 30, gen()),
    "add_salt_pepper": lambda x: add_salt_pepper(x, 0.1, gen()),
    "jpeg": lambda x: jpeg(x, 50),
    "apply_levels": lambda x: apply_levels(x, [{"noise": 5.0}] * 2, gen()),
    "degrade": lambda x: degrade(x, "noise:5", gen()),
}


@pytest.mark.parametrize("op", OPERATORS)
def test_bad_rank(op, images):
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        OPERATORS[op](images[0])


@pytest.mark.parametrize("op", OPERATORS)
def test_bad_dtype(op, images):
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        OPERATORS[op]((images * 255).to(torch.uint8))


@pytest.mark.parametrize("op", OPERATORS)
def test_not_a_tensor(op, images):
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        OPERATORS[op](images.numpy())


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("value", [-0.5, 1.5])
def test_out_of_range(op, images, value):
    x = images.clone()
    x[0, 0, 0, 0] = value
    with pytest.raises(ValueError, match=r"x must have values in \[0, 1\]"):
        OPERATORS[op](x)


PER_IMAGE = {  # operator, the name of its per-image level
    "gaussian_blur": (lambda x, v: gaussian_blur(x, v), "sigma"),
    "add_gaussian_noise": (lambda x, v: add_gaussian_noise(x, v), "sigma"),
    "add_poisson_noise": (lambda x, v: add_poisson_noise(x, v), "peak"),
    "add_salt_pepper": (lambda x, v: add_salt_pepper(x, v), "density"),
    "jpeg": (lambda x, v: jpeg(x, v), "quality"),
}


@pytest.mark.parametrize("op", PER_IMAGE)
def test_wrong_number_of_levels(op, images):
    fn, name = PER_IMAGE[op]
    with pytest.raises(ValueError, match=f"{name} must be a number or have one value per image \\(2\\), got 3"):
        fn(images, [0.1, 0.2, 0.3])


@pytest.mark.parametrize("op", PER_IMAGE)
def test_non_numeric_level(op, images):
    fn, name = PER_IMAGE[op]
    with pytest.raises(TypeError, match=name):
        fn(images, "abc")


@pytest.mark.parametrize("op", PER_IMAGE)
def test_nan_level(op, images):
    fn, name = PER_IMAGE[op]
    with pytest.raises(ValueError, match=f"{name} must not be NaN"):
        fn(images, float("nan"))


@pytest.mark.parametrize("fn", [gaussian_blur, add_gaussian_noise])
def test_negative_sigma(fn, images):
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        fn(images, -1.0)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        fn(images, [1.0, -0.1])


def test_apply_levels_wrong_count(images):
    with pytest.raises(ValueError, match="levels must have one dict per image"):
        apply_levels(images, [{"noise": 5.0}])


# ----------------------------------------------------------------------------- the level grid
@pytest.mark.parametrize("kind,index,expected", [
    ("blur", 1, (0.0, 0.5)), ("blur", 10, (4.5, 5.0)), ("noise", 1, (0.0, 5.0)), ("noise", 10, (45.0, 50.0)),
    ("jpeg", 1, (80.0, 100.0)), ("jpeg", 2, (60.0, 80.0)), ("jpeg", 10, (10.0, 15.0))])
def test_interval(kind, index, expected):
    assert interval(kind, index) == expected


def test_interval_grid_is_contiguous():
    for kind in ("blur", "noise"):
        spans = [interval(kind, i) for i in range(1, 11)]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))    # increasing levels
    spans = [interval("jpeg", i) for i in range(1, 11)]
    assert all(a[0] == b[1] for a, b in zip(spans, spans[1:]))        # decreasing quality


@pytest.mark.parametrize("index", [0, 11, -1, 1.0, "1", None])
def test_interval_bad_index(index):
    with pytest.raises(ValueError, match="index"):
        interval("noise", index)


@pytest.mark.parametrize("kind", ["poisson", "Blur", ""])
def test_interval_bad_kind(kind):
    with pytest.raises(ValueError, match="kind"):
        interval(kind, 1)


def test_severity():
    assert severity(1, 1, 1) == 1 and severity(10, 10, 10) == 28 and severity(3, 5, 7) == 13


@pytest.mark.parametrize("group,count", [("mild", 163), ("moderate", 434), ("severe", 163)])
def test_group_triples(group, count):
    triples = group_triples(group)
    assert len(triples) == count == len(set(triples))
    lo, hi = GROUPS[group]
    assert all(lo <= severity(*t) <= hi for t in triples)
    assert all(1 <= v <= 10 for t in triples for v in t)
    everything = list(itertools.product(range(1, 11), repeat=3))       # and no triple of the group is missing
    assert sum(lo <= severity(*t) <= hi for t in everything) == count


def test_group_triples_bad_group():
    with pytest.raises(ValueError, match="group"):
        group_triples("extreme")


# ----------------------------------------------------------------------------- specs
def test_parse_spec_fixed_levels():
    sp = parse_spec("blur:1.5+noise:20+jpeg:40")
    assert sp.group is None
    assert sp.stages == (Stage("blur", 1.5, 1.5), Stage("noise", 20.0, 20.0), Stage("jpeg", 40.0, 40.0))


def test_parse_spec_range_and_others():
    assert parse_spec("noise:15..25").stages == (Stage("noise", 15.0, 25.0),)
    assert parse_spec("noise:15..15").stages == (Stage("noise", 15.0, 15.0),)
    assert parse_spec("poisson:1e3+blur:.5").stages == (Stage("blur", 0.5, 0.5), Stage("poisson", 1000.0, 1000.0))
    assert parse_spec("saltpepper:0.5").stages == (Stage("saltpepper", 0.5, 0.5),)
    assert parse_spec("poisson:30").stages == (Stage("poisson", 30.0, 30.0),)
    assert parse_spec(" Blur:1 + Noise:5 ").stages == (Stage("blur", 1.0, 1.0), Stage("noise", 5.0, 5.0))


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_parse_spec_groups(group):
    sp = parse_spec(group)
    assert sp.group == group and sp.stages == ()
    assert parse_spec(group.upper()).group == group


def test_parse_spec_clean_and_passthrough(images):
    sp = parse_spec("none")
    assert sp.stages == () and sp.group is None
    assert parse_spec(sp) is sp
    y, levels = degrade(images, "clean", gen())
    assert torch.equal(y, images) and levels == [{}, {}]


def test_parse_spec_order_is_canonical(images):
    sp = parse_spec("jpeg:30+saltpepper:0.01+noise:20+poisson:50+blur:1")
    assert tuple(s.kind for s in sp.stages) == STAGE_ORDER
    # JPEG written first is still applied last: the same as noise then JPEG by hand, not JPEG then noise.
    y, levels = degrade(images, "jpeg:30+noise:20", gen(5))
    g = gen(5)
    assert parse_spec("noise:20+jpeg:30").sample(2, g) == levels
    assert list(levels[0]) == ["noise", "jpeg"]
    assert torch.equal(y, jpeg(add_gaussian_noise(images, 20, g), 30))
    g = gen(5)
    parse_spec("noise:20+jpeg:30").sample(2, g)
    assert not torch.allclose(y, add_gaussian_noise(jpeg(images, 30), 20, g))


@pytest.mark.parametrize("bad", ["", "   ", "foo:1", "noise", "noise:abc", "noise:1..x", "jpeg:0", "jpeg:101",
                                 "blur:-1", "noise:nan", "noise:5..inf", "saltpepper:2", "noise:1+noise:2",
                                 "noise:5+", 123, None, 1.5,
                                 "noise:5..", "noise:..5", "noise:25..15", "noise:1..2..3", "noise:\uff12\uff10",
                                 "noise:1_0", "noise:inf", "noise:0x10", "jpeg:40..\u0662\u0660"])
def test_parse_spec_bad(bad):
    with pytest.raises(ValueError, match="spec"):
        parse_spec(bad)


@pytest.mark.parametrize("bad, message", [("noise:5..", "not a number or a range LOW..HIGH"),
                                          ("noise:25..15", "LOW <= HIGH"), ("noise:1_0", "plain digits")])
def test_parse_spec_lenient_forms_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(bad)


def test_sample_fixed_and_range():
    levels = parse_spec("blur:1.5+noise:10..20").sample(50, gen(0))
    assert len(levels) == 50
    assert all(lv["blur"] == 1.5 and 10 <= lv["noise"] <= 20 for lv in levels)
    assert len({lv["noise"] for lv in levels}) == 50
    assert parse_spec("blur:1.5+noise:10..20").sample(50, gen(0)) == levels
    assert parse_spec("noise:5").sample(0) == []
    with pytest.raises(ValueError, match="n must be"):
        parse_spec("noise:5").sample(-1)


def _indices(kind: str, level: float) -> set[int]:
    """The grid intervals of ``kind`` that contain ``level`` (two at a shared edge)."""
    return {i for i in range(1, 11) if interval(kind, i)[0] <= level <= interval(kind, i)[1]}


def test_sample_moderate_inside_group():
    levels = Spec("moderate", group="moderate").sample(300, gen(0))
    lo, hi = GROUPS["moderate"]
    severities = []
    for lv in levels:
        assert list(lv) == ["blur", "noise", "jpeg"]
        assert lv["jpeg"] == int(lv["jpeg"])
        ks, ms, ns = (_indices(k, lv[k]) for k in ("blur", "noise", "jpeg"))
        assert ks and ms and ns
        ok = [severity(k, m, n) for k in ks for m in ms for n in ns if lo <= severity(k, m, n) <= hi]
        assert ok, f"levels {lv} fit no triple of the moderate group"
        severities.append(min(ok))
    assert min(severities) <= 13 and max(severities) >= 16      # the draws cover the group
    assert parse_spec("moderate").sample(300, gen(0)) == levels


def test_degrade_levels_and_reproducibility(images):
    y1, l1 = degrade(images, "noise:15..25+jpeg:40..60", gen(9))
    y2, l2 = degrade(images, "noise:15..25+jpeg:40..60", gen(9))
    y3, l3 = degrade(images, "noise:15..25+jpeg:40..60", gen(10))
    assert torch.equal(y1, y2) and l1 == l2
    assert not torch.equal(y1, y3) and l1 != l3
    assert len(l1) == 2 and all(15 <= lv["noise"] <= 25 and 40 <= lv["jpeg"] <= 60 for lv in l1)
    assert y1.shape == images.shape and y1.min() >= 0 and y1.max() <= 1


def test_degrade_moderate(images):
    y, levels = degrade(images, "moderate", gen(0))
    assert y.shape == images.shape and len(levels) == 2
    assert all(set(lv) == {"blur", "noise", "jpeg"} for lv in levels)


def test_degrade_blur_equals_operator(images):
    y, levels = degrade(images, "blur:2", gen())
    assert levels == [{"blur": 2.0}] * 2
    assert torch.equal(y, gaussian_blur(images, 2.0))


def test_apply_levels_partial(images):
    y = apply_levels(images, [{"noise": 20.0}, {}], gen(0))
    assert not torch.equal(y[0], images[0])
    assert torch.equal(y[1], images[1])


def test_register_spec(monkeypatch, images):
    monkeypatch.setattr(D, "NAMED_SPECS", dict(D.NAMED_SPECS))
    register_spec("test-mix", "noise:10+jpeg:50")
    assert parse_spec("test-mix").stages == parse_spec("noise:10+jpeg:50").stages
    y, levels = degrade(images, "test-mix", gen(1))
    assert levels == [{"noise": 10.0, "jpeg": 50.0}] * 2
    assert torch.equal(y, degrade(images, "noise:10+jpeg:50", gen(1))[0])


def test_register_spec_bad_text(monkeypatch):
    monkeypatch.setattr(D, "NAMED_SPECS", dict(D.NAMED_SPECS))
    with pytest.raises(ValueError, match="spec"):
        register_spec("broken", "noise:oops")
    assert "broken" not in D.NAMED_SPECS
    with pytest.raises(ValueError, match="spec"):
        parse_spec("broken")


def test_register_spec_name_is_case_insensitive():
    D.register_spec("My-Mix", "blur:1+noise:5")
    assert D.parse_spec("my-mix").stages == D.parse_spec("blur:1+noise:5").stages
    with pytest.raises(ValueError, match="name"):
        D.register_spec("a:b", "noise:5")


# ----------------------------------------------------------------------------- HIRL's mixtures (chapter 6)
def test_hirl_blur_sigma_mapping():
    assert [D.hirl_blur_sigma(k) for k in (5, 10, 15)] == [1.0, 2.0, 3.0]          # sigma = kernel / 5
    with pytest.raises(ValueError, match="kernel"):
        D.hirl_blur_sigma(7)


@pytest.mark.parametrize("name,blur,noise,quality", [("hirl-mild", 1.0, 15.0, 30.0),
                                                     ("hirl-moderate", 2.0, 25.0, 20.0),
                                                     ("hirl-severe", 3.0, 35.0, 10.0)])
def test_hirl_mixtures(name, blur, noise, quality, photo):
    spec = parse_spec(name)
    assert [(s.kind, s.low, s.high) for s in spec.stages] == [("blur", blur, blur), ("noise", noise, noise),
                                                               ("jpeg", quality, quality)]
    x = photo.expand(2, -1, -1, -1).contiguous()
    y, levels = degrade(x, name, gen(3))
    assert levels == [{"blur": blur, "noise": noise, "jpeg": quality}] * 2
    explicit = degrade(x, f"jpeg:{quality:g}+noise:{noise:g}+blur:{blur:g}", gen(3))[0]   # applied blur first
    assert torch.equal(y, explicit) and torch.equal(y, degrade(x, name, gen(3))[0])
    assert not torch.equal(y, degrade(x, name, gen(4))[0])


def test_hirl_single_distortion_specs():
    assert [(s.kind, s.low, s.high) for s in parse_spec("hirl-awgn").stages] == [("noise", 15.0, 35.0)]
    assert [(s.kind, s.low, s.high) for s in parse_spec("hirl-jpeg").stages] == [("jpeg", 10.0, 30.0)]
    assert [(s.kind, s.low, s.high) for s in parse_spec("hirl-blur").stages] == [("blur", 1.0, 3.0)]
