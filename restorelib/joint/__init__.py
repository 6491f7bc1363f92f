"""Chapter 5: joint training of the tools along the agent's chains, and the single-network baselines.

``restorelib.joint`` was one module before 0.2; its names are all here, and the module itself is
:mod:`restorelib.joint.joint`.
"""
from .joint import JointConfig, JointRecord, SCALES, get_joint_toolbox, joint_step, train_joint
from .baselines import (
    ARCHS, BASELINES, BaselineConfig, BaselineMethod, COMPARISON_FILE, GROUPS, PAPER_TABLE2, PAPER_TABLE3, PAPER_TABLE5,
    PlainResidualCNN, build_baseline, compare, get_baseline, load_baseline, load_comparison, params_used,
    save_baseline, train_baseline)
from . import joint, baselines  # the modules themselves, e.g. joint.joint
