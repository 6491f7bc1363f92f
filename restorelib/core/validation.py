"""Argument checks shared by the public functions: one clear error that names the argument."""
from __future__ import annotations

import argparse
import re

import torch


def check_images(x: object, name: str = "x", *, channels: int | None = None, min_size: int = 1,
                 check_range: bool = True, high: float = 1.0, slack: float = 0.0) -> torch.Tensor:
    """Check that ``x`` is a float tensor of shape (N, C, H, W) with finite values in [0, ``high``]; return it.

    ``slack`` widens the range by that fraction of ``high`` on either side, for functions that take unclipped
    network outputs (0.5: [-0.5, 1.5] for ``high=1``, which still refuses images on a 0-255 scale). Raises
    ``TypeError`` for a non-tensor or a non-float dtype and ``ValueError`` for a wrong rank, channel count, size, a
    NaN or infinite value, or (unless ``check_range`` is False) a value out of range, each naming ``name``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels, got shape {tuple(x.shape)}")
    if min(x.shape[-2:]) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got {tuple(x.shape[-2:])}")
    if x.numel() == 0:
        return x
    finite = torch.isfinite(x)
    if not finite.all():
        bad = x[~finite]
        kinds = " and ".join(k for k, f in (("NaN", torch.isnan), ("inf", torch.isinf)) if f(bad).any())
        raise ValueError(f"{name} must be finite, got {bad.numel()} {kinds} value(s)")
    lo, hi = -slack * high - 1e-6 * high, (1 + slack) * high * (1 + 1e-6)
    if check_range and (x.min() < lo or x.max() > hi):
        allowed = f"[0, {high:g}]" + (f" (unclipped outputs: [{-slack * high:g}, {(1 + slack) * high:g}])"
                                      if slack else "")
        hint = "; 0-255 values? divide by 255" if high == 1 and x.max() > 2 else ""
        raise ValueError(f"{name} must have values in {allowed}, got [{x.min().item():.3g}, "
                         f"{x.max().item():.3g}]{hint}")
    return x


def check_image(x: object, name: str = "image", *, channels: int | None = None, min_size: int = 1,
                check_range: bool = True) -> torch.Tensor:
    """:func:`check_images` for one image of shape (C, H, W); return it. The errors name ``name`` likewise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (C, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}")
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (C, H, W), got {tuple(x.shape)}")
    check_images(x[None], name, channels=channels, min_size=min_size, check_range=check_range)
    return x


def per_image(value: object, n: int, name: str, *, low: float | None = None,
              high: float | None = None) -> torch.Tensor:
    """Broadcast a scalar or a length-``n`` sequence/tensor to a float64 tensor of shape (n,), range-checked."""
    if isinstance(value, (bool, str, bytes)) or (isinstance(value, (list, tuple)) and any(
            isinstance(v, (bool, str, bytes)) for v in value)) or getattr(value, "dtype", None) == torch.bool:
        raise TypeError(f"{name} must be a number or a sequence of {n} numbers, got {value!r}")
    try:
        t = torch.as_tensor(value, dtype=torch.float64).flatten().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a number or a sequence of {n} numbers, got {value!r}") from None
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n:
        raise ValueError(f"{name} must be a number or have one value per image ({n}), got {t.numel()}")
    if torch.isnan(t).any():
        raise ValueError(f"{name} must not be NaN")
    if torch.isinf(t).any():
        raise ValueError(f"{name} must be finite, got {t[torch.isinf(t)][0].item():g}")
    if low is not None and (t < low).any():
        raise ValueError(f"{name} must be >= {low}, got {t.min().item():g}")
    if high is not None and (t > high).any():
        raise ValueError(f"{name} must be <= {high}, got {t.max().item():g}")
    return t


def positive_ints(obj: object, *names: str) -> None:
    """Raise ``ValueError`` naming the first attribute of ``names`` that is not a positive int (configs' check)."""
    for name in names:
        v = getattr(obj, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")


_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def flag_int(text: str) -> int:
    """An ``argparse`` type for integer flags: ASCII digits only (``int()`` also takes ``1_0`` and non-ASCII digits,
    which a user who typed them did not mean as a number), else ``argparse.ArgumentTypeError``."""
    if not _INT.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"expected an integer in ASCII digits, got {text!r}")
    return int(text)


def flag_float(text: str) -> float:
    """An ``argparse`` type for real-valued flags: a finite decimal number in ASCII (no ``1_0``, no ``nan``, no
    ``inf``, no non-ASCII digits), else ``argparse.ArgumentTypeError``."""
    if not _FLOAT.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"expected a finite number in ASCII digits, got {text!r}")
    return float(text)
