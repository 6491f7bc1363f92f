"""restorelib: the small library behind the book "Reinforcement learning for image restoration".

One module per concept, in the order of the book: :mod:`~restorelib.config` (scale, seed, device, folders),
:mod:`~restorelib.data` and :mod:`~restorelib.patches` (images), :mod:`~restorelib.degradations`,
:mod:`~restorelib.metrics`, :mod:`~restorelib.tools` and :mod:`~restorelib.training` (the toolbox),
:mod:`~restorelib.evaluate` and :mod:`~restorelib.cli` (``python -m restorelib``), :mod:`~restorelib.plotting`.
"""
from .config import get_device, get_profile, seed_everything
from .degradations import degrade, parse_spec
from .metrics import psnr, ssim

__version__ = "0.1.0"
__all__ = ["degrade", "get_device", "get_profile", "parse_spec", "psnr", "seed_everything", "ssim", "__version__"]
