"""The methods of chapters 1-3 in one place (version 0.1's module; kept for readers' code).

What a method is lives in :mod:`restorelib.core.method` (:class:`~restorelib.core.method.Restored`,
:class:`~restorelib.core.method.Method`, :class:`~restorelib.core.method.Capabilities`, ``identity``); one tool in
:mod:`restorelib.toolbox.method`; the searches and the fixed chain in :mod:`restorelib.search.method`.
"""
from __future__ import annotations

from .core.method import Capabilities, Identity, Method, Restored
from .search.method import FixedChain, SearchMethod
from .toolbox.method import SingleTool
