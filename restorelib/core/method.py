"""What a restoration method is, what it declares it can do, and the registry that methods join by themselves.

A *method* turns a batch of degraded images into restored ones and says what it spent (:class:`Restored`): the
identity, one tool, a search, a fixed chain, an agent, a baseline network. :func:`restorelib.core.evaluation.evaluate`
measures any of them alike, and ``python -m restorelib restore / evaluate --method NAME`` builds one by name.

Each chapter's module registers its methods where it defines them (``register_method("hirl", factory, help)`` at
the end of :mod:`restorelib.hirl.restore`), so that adding a method is one class and one registration;
the package names those modules (:mod:`restorelib.core.plugins`), and a lookup imports them, so every name is known. Instead of being
guessed from its attributes, a method declares what it can do beyond ``restore(degraded)`` in its ``can``
(:class:`Capabilities`); an option it refuses raises :class:`OptionError`, which names the option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from .config import get_device
from .plugins import load_providers
from .validation import check_images


@dataclass
class Restored:
    """A method's output for a batch: images (N, 3, H, W) in [0, 1], and per image its cost and chain."""

    images: torch.Tensor
    tool_calls: list[int]
    macs: list[int]
    chains: list[list[str]] = field(default_factory=list)
    trials: list[int] | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a method can do beyond ``restore(degraded)``; the command line asks this instead of guessing.

    ``tiles``: ``restore(..., tile=T)`` runs it in tiles of T px, so a photo of any size fits in memory.
    ``votes``: a chain agent whose ``restorer.restore_image(image, steps, reference=, tile=)`` restores a whole photo
    by patch votes (chapters 4, 6, 8). ``steps``: the most tools (or PixelRL steps) it applies, None where the
    notion does not apply. ``oracle``: it needs the clean image (greedy, brute force). ``per_pixel``: every pixel
    takes its own actions (PixelRL), so there is no chain and ``last_counts`` holds the shares of the actions.
    """

    tiles: bool = False
    votes: bool = False
    steps: int | None = None
    oracle: bool = False
    per_pixel: bool = False


class Method(Protocol):
    """What :func:`restorelib.core.evaluation.evaluate` needs of a method. ``clean`` and ``levels`` are for oracles
    (e.g. greedy search) and for the reverse-order chain, which knows the distortion. A method may declare
    ``can`` (:class:`Capabilities`); one that does not can do nothing more (:func:`restorelib.core.method.capabilities`)."""

    name: str
    params: int

    def restore(self, degraded: torch.Tensor, *, clean: torch.Tensor | None = None,
                levels: list[dict[str, float]] | None = None) -> Restored: ...


def capabilities(method: object) -> Capabilities:
    """The method's declared :class:`Capabilities` (none beyond ``restore`` for a method that declares nothing)."""
    can = getattr(method, "can", None)
    return can if isinstance(can, Capabilities) else Capabilities()


class OptionError(ValueError):
    """A method refused one of its options: ``option`` names it (``max_length``, ``tools``, ...), so that the
    command line can name its flag."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class Identity:
    """Return the degraded image unchanged: the baseline every method must beat."""

    name, params, can = "identity", 0, Capabilities(tiles=True)

    def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
        n = check_images(degraded, "degraded").shape[0]
        return Restored(degraded, [0] * n, [0] * n, [[] for _ in range(n)])


MethodFactory = Callable[..., Method]
_METHODS: dict[str, tuple[MethodFactory, str]] = {}


def register_method(name: str, factory: MethodFactory, help: str = "") -> None:
    """Register ``factory(argument, device, **options) -> Method`` under ``name``; ``name:ARG`` passes ``ARG``.

    Options are the keyword arguments given to :func:`get_method` (``max_length``, ``budget``,
    ``seed``...); a factory takes the ones it understands and ignores the rest. A name registered again replaces
    the earlier factory (a reader's own method may take the place of a shipped one).
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"name must be a non-empty string without ':', got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    _METHODS[name] = (factory, help)


def method_names() -> dict[str, str]:
    """``{name: one-line help}`` of every registered method (the chapters' modules register theirs)."""
    load_providers()
    return {k: h for k, (_, h) in sorted(_METHODS.items())}


def get_method(spec: str, device: torch.device | str | None = None, **options: object) -> Method:
    """Build a method from ``spec`` such as ``identity``, ``tool:noise-2`` or ``brute-force`` (``max_length=2``).

    Raises ValueError naming ``method`` when the name is unknown, :class:`OptionError` when the method refuses an
    option.
    """
    if not isinstance(spec, str):
        raise TypeError(f"method must be a string, got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    if name not in _METHODS:
        load_providers()
    if name not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)} (tool:NAME with a tool name), got {spec!r}")
    return _METHODS[name][0](arg, get_device(device), **options)


register_method("identity", lambda arg, device, **_: Identity(), "the degraded input, unchanged")

def device_of(method: object) -> str:
    """The device a method's networks live on, e.g. ``"cuda:0"`` (``"cpu"`` for methods without any)."""
    if isinstance(getattr(method, "device", None), torch.device):
        return str(method.device)
    box = getattr(method, "toolbox", None)
    return str(next(box.parameters()).device) if box is not None else "cpu"


__all__ = ["Capabilities", "Identity", "Method", "MethodFactory", "OptionError", "Restored", "capabilities",
           "device_of", "get_method", "method_names", "register_method"]
