"""What the book's pages use: exercise checks, the explorers, plots and number wording for glued prose.
"""
from .prose import (
    glue, signed, and_list, span, slashed, db, clear_sign, capitalised, plural, md_table, training_data, training_words)
from .plotting import show_images, heatmap, action_maps, action_histogram, cost_scatter
from .exercise import Mistake, close, run_check
from .checks_images import (
    check_psnr, check_gaussian_blur, env_stepwise_reward, check_stepwise_reward, check_brute_force_trials,
    beam_search, check_beam_search)
from .checks_agents import (
    check_td_target, check_double_td_target, rl_restore_macs, check_rl_restore_macs, check_hierarchical_tool,
    check_reward_map_conv, check_group_advantages)
from .explorer import ToolchainSession, toolchain_explorer
from .static_explorer import (
    AGENT, CROP, MAX_LENGTH, PHOTOS, QUALITY, all_chains, chain_file, chain_key, compute_cases, crop_photo,
    decode_image, encode_jpeg, fingerprint, models_used, write_explorer)
from . import prose, plotting, exercise, checks_images, checks_agents, checks, explorer, static_explorer, report  # the modules themselves, e.g. teaching.prose
