"""Every method, measured alike: the public face of evaluation (``python -m restorelib evaluate``).

The engine is :mod:`restorelib.core.evaluation` and the registry of methods :mod:`restorelib.core.method`; each
chapter's module registers its methods where it defines them. This module gathers them for readers' code and the
command line: ``from restorelib.evaluate import evaluate, get_method, SearchMethod``.
"""
from __future__ import annotations

from .core.evaluation import GRID_LEVELS, evaluate, evaluate_no_reference, gain_matrix, measured_on, summary
from .core.method import (  # noqa: F401  (gathered here for readers' code)
    Capabilities, Identity, Method, MethodFactory, OptionError, Restored, capabilities, get_method, method_names,
    register_method)
from .search.method import MAX_TRIALS_WITHOUT_BUDGET, FixedChain, SearchMethod
from .toolbox.method import SingleTool
