"""Chapter 2: the twelve restoration tools of RL-Restore, how one is trained and how the whole toolbox is.
"""
from .tools import (
    ToolSpec, TOOL_SPECS, TOOL_NAMES, tool_spec, zero_init, SmallTool, LargeTool, build_tool, count_params,
    count_macs, Toolbox, TOOLSETS, toolset_dir, shipped_tools_available)
from .training import (
    SLIGHT_NOISE, SLIGHT_JPEG, PatchTrainConfig, PatchTrainRecord, tool_levels, tool_batch, TrainLog, train_tool,
    evaluate_pair, dead_units)
from .train_toolbox import (
    TOOLBOX_SCALES, TOOL_FLOORS, ToolDidNotLearn, mid_level, validation_pairs, write_model_card)
from .method import SingleTool
from . import tools, training, train_toolbox, method  # the modules themselves, e.g. toolbox.tools
