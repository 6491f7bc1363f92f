"""restorelib.core.imagefile: every supported pixel format read faithfully with its note, or refused by name; the pixel
limit; atomic image writes."""
from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from restorelib.core import data, imagefile
from restorelib.core.data import describe, read_for_restore, read_image


def rgb16(seed: int = 0, shape: tuple[int, int] = (9, 11)) -> np.ndarray:
    return (np.random.default_rng(seed).random((*shape, 3)) * 65535).astype(np.uint16)


def test_float_tiff_in_0_1_is_read_as_it_is(tmp_path):
    a = np.random.default_rng(0).random((8, 10)).astype(np.float32)
    Image.fromarray(a).save(tmp_path / "f.tif")
    x, info = read_for_restore(tmp_path / "f.tif")
    assert torch.allclose(x[0], torch.from_numpy(a)) and x.shape == (3, 8, 10)     # not black
    assert info["bits"] == 32 and "32-bit" in describe(info) and any("float" in n for n in info["notes"])


@pytest.mark.parametrize("values, message", [(np.float32([[0, 255.0]]), r"mode F\) must lie in \[0, 1\], got \[0, 255\]"),
                                             (np.float32([[0, np.nan]]), "NaN or inf")])
def test_float_tiff_out_of_range_is_refused(tmp_path, values, message):
    Image.fromarray(values).save(tmp_path / "f.tif")
    with pytest.raises(ValueError, match=message):
        read_image(tmp_path / "f.tif")


def test_32_bit_integer_tiff_is_not_wrapped(tmp_path):
    big = (np.arange(20, dtype=np.int32).reshape(4, 5) * 100_000)          # up to 1.9 million: beyond 16 bits
    Image.fromarray(big).save(tmp_path / "big.tif")
    with pytest.raises(ValueError, match=r"big.tif.*32-bit integer samples \(mode I\) in \[0, 1900000\]"):
        read_image(tmp_path / "big.tif")
    small = (np.arange(20, dtype=np.int32).reshape(4, 5) * 3000)
    Image.fromarray(small).save(tmp_path / "small.tif")
    x, info = read_for_restore(tmp_path / "small.tif")
    assert torch.allclose(x[0], torch.from_numpy(small / 65535).float()) and info["bits"] == 32
    assert any("read as 16-bit" in n for n in info["notes"])


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_is_read_at_full_precision(tmp_path, suffix):
    a = rgb16()
    path = tmp_path / f"c{suffix}"
    if suffix == ".png":
        assert cv2.imwrite(str(path), a[..., ::-1])
    else:
        tifffile.imwrite(path, a)
    with Image.open(path) as im:
        assert im.mode == "RGB"                                  # Pillow itself would read 8 bits
    x, info = read_for_restore(path)
    assert torch.allclose(x, torch.from_numpy(a.transpose(2, 0, 1) / 65535).float(), atol=1e-7)
    assert info["bits"] == 16 and describe(info).endswith("RGB, 16-bit")
    assert any("16-bit input: read at full precision" in n for n in info["notes"])


def test_16_bit_rgba_png_keeps_its_alpha(tmp_path):
    a = np.concatenate([rgb16(1), np.full((9, 11, 1), 65535, np.uint16)], axis=-1)
    a[0, 0, 3] = 0
    assert cv2.imwrite(str(tmp_path / "a.png"), a[..., [2, 1, 0, 3]])
    x, info = read_for_restore(tmp_path / "a.png")
    assert torch.allclose(x, torch.from_numpy(a[..., :3].transpose(2, 0, 1) / 65535).float(), atol=1e-7)
    assert info["alpha"].dtype == np.uint8 and info["alpha"][0, 0] == 0 and info["alpha"][1, 1] == 255


def test_16_bit_colour_png_without_opencv_is_refused_by_name(tmp_path, monkeypatch):
    assert cv2.imwrite(str(tmp_path / "c.png"), rgb16())
    monkeypatch.setitem(sys.modules, "cv2", None)                # as if OpenCV were not installed
    with pytest.raises(ValueError, match="16-bit RGB PNG.*install opencv-python-headless"):
        read_image(tmp_path / "c.png")


def test_one_bit_and_cmyk_are_converted_with_a_note(tmp_path):
    Image.new("1", (6, 4), 1).save(tmp_path / "b.png")
    x, info = read_for_restore(tmp_path / "b.png")
    assert info["gray"] and torch.equal(x, torch.ones(3, 4, 6)) and info["bits"] == 1
    assert any("1-bit" in n for n in info["notes"])
    Image.new("CMYK", (5, 5), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    x, info = read_for_restore(tmp_path / "c.jpg")
    assert x.shape == (3, 5, 5) and any("CMYK" in n for n in info["notes"])


@pytest.mark.parametrize("mode", ["RGBa", "La", "I;16S"])
def test_unsupported_modes_are_refused_by_name(tmp_path, mode):
    opened = SimpleNamespace(mode=mode, tile=[], info={}, format="TIFF")      # what Image.open gives, in short
    with pytest.raises(ValueError, match=rf"x.tif.*mode '{re.escape(mode)}' is not supported"):
        imagefile._decode(tmp_path / "x.tif", opened)


def test_pixel_limit(tmp_path, monkeypatch):
    Image.new("L", (400, 300)).save(tmp_path / "p.png")
    with pytest.raises(ValueError, match=r"400x300 = 120,000 pixels, more than the limit of 100,000"):
        read_image(tmp_path / "p.png", max_pixels=100_000)
    assert read_image(tmp_path / "p.png", max_pixels=120_000).shape == (1, 300, 400)
    monkeypatch.setenv("RESTORELIB_MAX_PIXELS", "1000")
    with pytest.raises(ValueError, match="limit of 1,000"):
        data.load_folder(tmp_path)
    monkeypatch.setenv("RESTORELIB_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="RESTORELIB_MAX_PIXELS must be a positive int"):
        read_image(tmp_path / "p.png")
    with pytest.raises(ValueError, match="max_pixels must be a positive int"):
        read_image(tmp_path / "p.png", max_pixels=0)


def test_corrupt_files_are_named(tmp_path):
    (tmp_path / "t.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="t.png"):
        read_image(tmp_path / "t.png")


def test_save_image_is_atomic_and_names_a_bad_suffix(tmp_path):
    img = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
    data.save_image(img, tmp_path / "a.png")
    data.save_image(img * 0.5, tmp_path / "a.png")                   # replaces, as saving always did
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), data.to_uint8(img * 0.5))
    with pytest.raises(ValueError, match="no image format saves files ending in '.xyz'"):
        data.save_image(img, tmp_path / "a.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
