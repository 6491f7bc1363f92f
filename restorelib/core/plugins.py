"""Where the registries' entries come from: the modules that register methods, scorers and toolboxes on import.

The ground floor keeps registries (methods in :mod:`restorelib.core.method`, no-reference scorers in
:mod:`restorelib.core.quality`, search toolboxes in :mod:`restorelib.search.method`) but knows no chapter. The
package's ``__init__`` names the chapters' modules that fill them (:data:`PROVIDERS`, in the book's order); a
registry asked for a name it does not hold imports them once (:func:`load_providers`). A reader's own method or
scorer joins by calling the ``register_*`` function, or by :func:`add_providers` with the name of its module.
"""
from __future__ import annotations

import importlib

#: Modules whose import registers entries, in the book's order (filled by ``restorelib/__init__.py``).
PROVIDERS: list[str] = []
_loaded: set[str] = set()


def add_providers(*modules: str) -> None:
    """Add module names (``"restorelib.hirl.restore"``) to :data:`PROVIDERS`; each is imported on the next lookup."""
    for m in modules:
        if not isinstance(m, str) or not m:
            raise ValueError(f"a provider must be a module name, got {m!r}")
        if m not in PROVIDERS:
            PROVIDERS.append(m)


def load_providers() -> None:
    """Import every provider not imported yet (their imports register their entries)."""
    for m in PROVIDERS:
        if m not in _loaded:
            _loaded.add(m)                      # first: a provider that looks a name up while it loads does not loop
            importlib.import_module(m)


__all__ = ["PROVIDERS", "add_providers", "load_providers"]
