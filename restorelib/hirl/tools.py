"""HIRL's hierarchical toolset (chapter 6): 3 tool *types* x 3 *degrees*, trained with the chapter-2 toolbox code.

HIRL (Zhang & Gao, Sec. 2.1) uses FFDNet for denoising at sigma 15 / 25 / 35, FastARCNN for JPEG artifacts at
quality 30 / 20 / 10, and Sharpen, SRCNN and SRN, sorted by strength, for Gaussian deblurring. We train our own
residual CNNs (:class:`~restorelib.toolbox.tools.SmallTool`, 3 layers, 21,827 parameters; :class:`~restorelib.toolbox.tools.LargeTool`,
8 layers, 50,851 parameters) in those roles, each on a narrow interval around its level::

    index  tool        trained on               paper's level   network   plays the paper's
    0      denoise-15  noise sigma 12.5..17.5   sigma 15        3-layer   FFDNet (noise map 15)
    1      denoise-25  noise sigma 22.5..27.5   sigma 25        8-layer   FFDNet (noise map 25)
    2      denoise-35  noise sigma 32.5..37.5   sigma 35        8-layer   FFDNet (noise map 35)
    3      dejpeg-30   JPEG quality 27..33      QF 30           3-layer   FastARCNN (QF 30; ARCNN-like 9-5-5 layout)
    4      dejpeg-20   JPEG quality 18..22      QF 20           8-layer   FastARCNN (QF 20)
    5      dejpeg-10   JPEG quality 9..11       QF 10           8-layer   FastARCNN (QF 10)
    6      deblur-5    blur sigma 0.75..1.25    "kernel 5"      3-layer   Sharpen (a detail booster: the mildest)
    7      deblur-10   blur sigma 1.75..2.25    "kernel 10"     3-layer   SRCNN (SmallTool has SRCNN's 9-5-5 layout)
    8      deblur-15   blur sigma 2.75..3.25    "kernel 15"     8-layer   SRN (the strongest deblurrer)

The depth follows RL-Restore's rule (chapter 2): mild levels get the small network, severe ones the large. The
middle degree is 8-layer for noise and JPEG (RL-Restore's toolbox switches to the large network at sigma 25 and below
quality 35) and 3-layer for blur, since SRCNN, the paper's middle deblurrer, is itself a 3-layer network. Blur
"kernel" k is Gaussian sigma k / 5 (:func:`restorelib.core.degradations.hirl_blur_sigma`).
Intervals are +-2.5 for noise sigma, about +-10% for JPEG quality and +-0.25 px for blur sigma.

The toolbox index of tool (type t, degree d) is ``3 * t + d`` (:func:`tool_index`), so an agent's (type, degree)
pair is an action of :class:`~restorelib.rlrestore.env.RestoreEnv` directly.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.config import weights_dir
from ..search.method import register_search_toolbox
from ..toolbox.tools import Toolbox, ToolSpec

#: The three tool types, in index order, and the distortion each undoes.
TYPES: tuple[str, ...] = ("denoise", "dejpeg", "deblur")
TYPE_DISTORTION: dict[str, str] = {"denoise": "noise", "dejpeg": "jpeg", "deblur": "blur"}
N_TYPES, N_DEGREES = 3, 3

#: HIRL's nine tools in toolbox order: type-major, degrees from mild to severe (see the module docstring).
HIRL_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("denoise-15", "noise", 12.5, 17.5, 3), ToolSpec("denoise-25", "noise", 22.5, 27.5, 8),
    ToolSpec("denoise-35", "noise", 32.5, 37.5, 8),
    ToolSpec("dejpeg-30", "jpeg", 27.0, 33.0, 3), ToolSpec("dejpeg-20", "jpeg", 18.0, 22.0, 8),
    ToolSpec("dejpeg-10", "jpeg", 9.0, 11.0, 8),
    ToolSpec("deblur-5", "blur", 0.75, 1.25, 3), ToolSpec("deblur-10", "blur", 1.75, 2.25, 3),
    ToolSpec("deblur-15", "blur", 2.75, 3.25, 8),
)
HIRL_TOOL_NAMES: tuple[str, ...] = tuple(s.name for s in HIRL_TOOLS)
#: The paper's network that each of our tools stands in for.
PAPER_ROLE: dict[str, str] = {
    "denoise-15": "FFDNet (sigma 15)", "denoise-25": "FFDNet (sigma 25)", "denoise-35": "FFDNet (sigma 35)",
    "dejpeg-30": "FastARCNN (QF 30)", "dejpeg-20": "FastARCNN (QF 20)", "dejpeg-10": "FastARCNN (QF 10)",
    "deblur-5": "Sharpen", "deblur-10": "SRCNN", "deblur-15": "SRN",
}
HIRL_TOOLS_DIR: Path = weights_dir() / "hirl-tools"


def tool_index(tool_type: int, degree: int, n_degrees: int = N_DEGREES) -> int:
    """The toolbox index of (type, degree): ``n_degrees * tool_type + degree`` (0..8 for HIRL's 3 x 3)."""
    if not isinstance(n_degrees, int) or n_degrees < 1:
        raise ValueError(f"n_degrees must be a positive int, got {n_degrees!r}")
    if not isinstance(tool_type, int) or isinstance(tool_type, bool) or tool_type < 0:
        raise ValueError(f"tool_type must be a non-negative int, got {tool_type!r}")
    if not isinstance(degree, int) or isinstance(degree, bool) or not 0 <= degree < n_degrees:
        raise ValueError(f"degree must be an int in 0..{n_degrees - 1}, got {degree!r}")
    return n_degrees * tool_type + degree


def type_degree(index: int, n_degrees: int = N_DEGREES) -> tuple[int, int]:
    """The (type, degree) of toolbox index ``index``: the inverse of :func:`tool_index`."""
    if not isinstance(n_degrees, int) or n_degrees < 1:
        raise ValueError(f"n_degrees must be a positive int, got {n_degrees!r}")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    return divmod(index, n_degrees)


def hirl_toolbox(folder: str | Path | None = None, device: str | torch.device = "cpu",
                 trained: bool = True) -> Toolbox:
    """HIRL's 9 tools: trained ones from ``folder`` (default the shipped ``restorelib/weights/hirl-tools``, every
    file's sha256 checked), or fresh untrained ones (identity at start) with ``trained=False``. Chapter 6.

    Raises ``ValueError`` when the folder's tools are not HIRL's nine in toolbox order (the index would be wrong).
    """
    if not trained:
        return Toolbox(HIRL_TOOLS).to(device).eval()
    box = Toolbox.load(folder if folder is not None else HIRL_TOOLS_DIR, device=device)
    if tuple(box.names) != HIRL_TOOL_NAMES:
        raise ValueError(f"folder must hold HIRL's tools {list(HIRL_TOOL_NAMES)} in this order, got {box.names}")
    return box


def shipped_hirl_tools_available() -> bool:
    """True when the package holds trained HIRL tools (``restorelib/weights/hirl-tools/manifest.json``)."""
    return (HIRL_TOOLS_DIR / "manifest.json").is_file()


register_search_toolbox("hirl", lambda device: hirl_toolbox(device=device))      # brute-force:hirl etc. (chapter 6)


def train_hirl_tools(scale: str, out: str | Path = HIRL_TOOLS_DIR, **kwargs: object) -> tuple[Toolbox, dict]:
    """Train the 9 tools at ``scale`` (``ci``, ``book``, ``gpu``, ``paper`` of
    :data:`restorelib.toolbox.train_toolbox.TOOLBOX_SCALES`; ``gpu``: minutes on a Colab T4) into ``out`` with
    :func:`restorelib.toolbox.train_toolbox.train_toolbox` (same robustness trick, validation and record)."""
    from ..toolbox.train_toolbox import train_toolbox
    return train_toolbox(scale, out, specs=HIRL_TOOLS, **kwargs)
