"""Every public image function, fed every class of bad value, raises a clear error that names the argument.

The classes: NaN, +inf and -inf anywhere in the image, a 0-255 scale, negative values, an integer dtype, an empty
image, a wrong rank, and a value that is not a tensor at all. Each must give ValueError or TypeError whose message
names the argument, never a result (NaN, 0 or a clamped image) or a raw error from deep inside torch or Pillow.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from restorelib import data, degradations as D, metrics
from restorelib.tools import Toolbox


def good() -> torch.Tensor:
    return torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))


def with_value(v: float) -> torch.Tensor:
    x = good()
    x[1, 2, 7, 5] = v                                   # one bad pixel, deep inside the batch
    return x


BAD: dict[str, tuple[object, str]] = {                 # class -> (value, what the message must say)
    "nan": (with_value(float("nan")), "finite"),
    "+inf": (with_value(float("inf")), "finite"),
    "-inf": (with_value(float("-inf")), "finite"),
    "0-255": (good() * 255, "values in"),
    "negative": (good() - 2.0, "values in"),
    "int dtype": ((good() * 255).to(torch.uint8), "floating-point"),
    "empty": (torch.zeros(2, 3, 0, 0), "pixels"),
    "rank 3": (good()[0], "shape"),
    "not a tensor": (good().numpy(), "torch.Tensor"),
}
_box = Toolbox()
G = torch.Generator().manual_seed(1)
# name -> (call with the image, the argument's name in the message, the classes that do not apply)
FUNCTIONS = {
    "psnr(x, .)": (lambda x: metrics.psnr(x, good()), "x", ()),
    "psnr(., y)": (lambda y: metrics.psnr(good(), y), "y", ()),
    "ssim(x, .)": (lambda x: metrics.ssim(x, good()), "x", ()),
    "ssim(., y)": (lambda y: metrics.ssim(good(), y), "y", ()),
    "mse": (lambda x: metrics.mse(x, good()), "x", ("0-255", "negative")),    # any scale, by definition
    "gaussian_blur": (lambda x: D.gaussian_blur(x, 1.0), "x", ()),
    "add_gaussian_noise": (lambda x: D.add_gaussian_noise(x, 10, G), "x", ()),
    "add_poisson_noise": (lambda x: D.add_poisson_noise(x, 30, G), "x", ()),
    "add_salt_pepper": (lambda x: D.add_salt_pepper(x, 0.1, G), "x", ()),
    "jpeg": (lambda x: D.jpeg(x, 40), "x", ()),
    "degrade": (lambda x: D.degrade(x, "noise:10", G), "x", ()),
    "apply_levels": (lambda x: D.apply_levels(x, [{"noise": 5.0}] * 2, G), "x", ()),
    "Toolbox.apply": (lambda x: _box.apply(x, 0), "x", ()),
    "to_uint8": (lambda x: data.to_uint8(one_image(x)), "image", ("0-255", "negative", "empty")),  # clips, by its
}                                                                # docstring; an empty (C, 0, 0) image is an image


def one_image(x: object) -> object:
    """to_uint8 takes one (C, H, W) image: the bad one of a batch, and a batch for the wrong rank."""
    if isinstance(x, torch.Tensor):
        return x[1] if x.dim() == 4 else x[None]
    return x


@pytest.mark.parametrize("fn, bad", [(f, b) for f in sorted(FUNCTIONS) for b in sorted(BAD)
                                     if b not in FUNCTIONS[f][2]])
def test_bad_images_are_refused_by_name(fn, bad):
    call, arg, _ = FUNCTIONS[fn]
    value, words = BAD[bad]
    with pytest.raises((ValueError, TypeError)) as err:
        call(value.clone() if isinstance(value, torch.Tensor) else np.array(value))
    msg = str(err.value)
    assert msg.startswith(f"{arg} ") or f" {arg} " in msg, f"{fn} on {bad}: {msg!r} does not name {arg!r}"
    assert words in msg, f"{fn} on {bad}: {msg!r}"


@pytest.mark.parametrize("fn, call", [
    ("gaussian_blur", lambda v: D.gaussian_blur(good(), v)),
    ("add_gaussian_noise", lambda v: D.add_gaussian_noise(good(), v, G)),
    ("add_poisson_noise", lambda v: D.add_poisson_noise(good(), v, G)),
    ("add_salt_pepper", lambda v: D.add_salt_pepper(good(), v, G)),
    ("jpeg", lambda v: D.jpeg(good(), v)),
])
@pytest.mark.parametrize("level", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_levels_are_refused(fn, call, level):
    with pytest.raises(ValueError, match="sigma|peak|density|quality"):
        call(level)


def test_good_images_still_pass():
    x, y = good(), good().flip(-1)
    assert torch.isfinite(metrics.psnr(x, y)).all() and torch.isfinite(metrics.ssim(x, y)).all()
    assert D.degrade(x, "blur:1+noise:10+jpeg:50", torch.Generator().manual_seed(0))[0].shape == x.shape
    assert data.to_uint8(x[0]).shape == (16, 16, 3)
