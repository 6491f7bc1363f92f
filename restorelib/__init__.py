"""restorelib: the small library behind the book "Reinforcement learning for image restoration".

One subpackage per part of the book, each exporting what its chapter uses:

- :mod:`restorelib.core`: the ground floor (scales, data, degradations of chapter 1, metrics, patches, checks,
  atomic writes, resumable states, the checkpoint reader), which knows no algorithm;
- :mod:`restorelib.toolbox` (chapter 2), :mod:`restorelib.search` (3), :mod:`restorelib.rlrestore` (4),
  :mod:`restorelib.joint` (5), :mod:`restorelib.hirl` (6), :mod:`restorelib.pixelrl` (7),
  :mod:`restorelib.labelfree` (8): each chapter's models, its training loop and its restoration method;
- :mod:`restorelib.teaching`: exercise checks, explorers, plots and the wording of glued numbers;
- on top, :mod:`restorelib.methods` and :mod:`restorelib.evaluate` (every method, measured alike) and
  :mod:`restorelib.cli` (``python -m restorelib``).

The flat module names of 0.1 (``restorelib.tools``, ``restorelib.dqn``, ...) still import (:mod:`restorelib._moved`).
"""
from . import _moved
from .core import plugins
from .core.config import get_device, get_profile, seed_everything
from .core.degradations import degrade, parse_spec
from .core.metrics import psnr, ssim

_moved.install()
# the chapters' modules that register methods, scorers and search toolboxes, in the book's order; a registry imports
# them the first time it is asked for a name it does not hold (restorelib.core.plugins)
plugins.add_providers("restorelib.toolbox.method", "restorelib.search.method", "restorelib.rlrestore.restore",
                      "restorelib.joint.baselines", "restorelib.hirl.tools", "restorelib.hirl.restore",
                      "restorelib.pixelrl.method", "restorelib.pixelrl.color_method", "restorelib.labelfree.policy",
                      "restorelib.labelfree.quality_net")

__version__ = "0.2.0"
__all__ = ["degrade", "get_device", "get_profile", "parse_spec", "psnr", "seed_everything", "ssim", "__version__"]
