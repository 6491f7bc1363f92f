"""What the book's pages use: exercise checks, the explorers, plots and number wording for glued prose.
"""
from .prose import glue, signed, and_list, span, slashed, db, clear_sign, capitalised, plural, md_table
from .plotting import show_images, heatmap, action_maps, action_histogram, cost_scatter
from .checks import (
    Mistake, close, run_check, check_psnr, env_stepwise_reward, check_stepwise_reward, check_brute_force_trials,
    check_td_target, check_hierarchical_tool, check_group_advantages, check_reward_map_conv, rl_restore_macs,
    check_rl_restore_macs, check_gaussian_blur, beam_search, check_beam_search, check_double_td_target)
from .explorer import ToolchainSession, toolchain_explorer
from .static_explorer import (
    AGENT, CROP, MAX_LENGTH, PHOTOS, QUALITY, all_chains, chain_file, chain_key, compute_cases, crop_photo,
    decode_image, encode_jpeg, fingerprint, models_used, write_explorer)
from . import prose, plotting, checks, explorer, static_explorer  # the modules themselves, e.g. teaching.prose
