"""Every method, measured alike: the public face of evaluation (``python -m restorelib evaluate``).

The engine is :mod:`restorelib.core.evaluation` and the registry of methods :mod:`restorelib.core.method`; each
chapter's module registers its methods where it defines them. This module gathers them for readers' code and the
command line: ``from restorelib.evaluate import evaluate, get_method, SearchMethod``.
"""
from __future__ import annotations

from .core.evaluation import GRID_LEVELS, evaluate, evaluate_no_reference, gain_matrix, measured_on, summary
from .core.method import (
    Capabilities, Identity, Method, MethodFactory, OptionError, Restored, capabilities, get_method, method_names,
    register_method)
from .search.method import MAX_TRIALS_WITHOUT_BUDGET, FixedChain, SearchMethod
from .toolbox.method import SingleTool

__all__ = ["GRID_LEVELS", "MAX_TRIALS_WITHOUT_BUDGET", "Capabilities", "FixedChain", "Identity", "Method",
           "MethodFactory", "OptionError", "Restored", "SearchMethod", "SingleTool", "capabilities", "evaluate",
           "evaluate_no_reference", "gain_matrix", "get_method", "measured_on", "method_names", "register_method",
           "summary"]
