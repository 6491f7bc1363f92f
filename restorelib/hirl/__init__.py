"""Chapter 6, HIRL: a hierarchical deep-Q agent that picks a tool type, then its degree.

``restorelib.hirl`` was one module before 0.2; its names are all here, and the module itself is
:mod:`restorelib.hirl.hirl`.
"""
from .tools import (
    TYPES, TYPE_DISTORTION, HIRL_TOOLS, HIRL_TOOL_NAMES, PAPER_ROLE, HIRL_TOOLS_DIR, tool_index, type_degree,
    hirl_toolbox, shipped_hirl_tools_available, train_hirl_tools)
from .nets import ResBlock, ARCHS, HirlQNet, HirlAgent, TransitionMemory, choose, hierarchical_tool
from .rollout import greedy_gain, greedy_rollout
from .hirl import (
    HIRL_SPECS, PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3, LOSSES, hirl_epsilon, hirl_targets, HirlConfig, SCALES,
    mixture_degrader, HirlRecord, train_hirl)
from .restore import (
    HIRL_AGENTS, HirlMethod, HirlRestorer, equal_trials, get_hirl, hirl_factory, degraded_patches, usage_table)
from . import tools, nets, rollout, hirl, restore  # the modules themselves, e.g. hirl.tools
