"""Chapter 7, PixelRL: one agent per pixel, a fully convolutional A2C with a convGRU and reward-map convolution;
denoising, inpainting and local colour enhancement.

``restorelib.pixelrl`` was one module before 0.2; its names are all here, and the module itself is
:mod:`restorelib.pixelrl.a2c`.
"""
from .actions import (
    ACTIONS, N_ACTIONS, ACTION_SETS, DO_NOTHING, BACKENDS, SIGMA_SPACE, TEXT_SIZES, box_filter, gaussian_filter,
    bilateral_filter, median_filter, resolve_backend, filter_bank, check_actions, apply_actions, pixel_reward,
    to_gray, draw_text_mask, overlay_text, make_task)
from .nets import ConvGRU, PixelRLNet, RMC_SIZE, RewardMapConv
from .env import PixelEnv, denoise_env, as_env
from .training import sample_crops, draw_crops, TrainRecord
from .a2c import (
    sample_actions, reward_map_step, nstep_returns, a2c_loss, PixelRLConfig, SCALES, train_pixelrl, pixelrl_restore,
    action_counts, save_pixelrl, load_pixelrl, build_pixelrl)
from .baselines import (
    TEST_SEED, FILTERS, degraded_pairs, filter_sweep, best_filter, Denoiser, train_denoiser, denoise, PAPER,
    pretrain_shared, load_baselines)
from .method import (
    DEFAULT_MODEL, INFERENCE_GOAL, PIXELRL_MODELS, PixelRLMethod, describe_actions, get_pixelrl, pixelrl_factory,
    pixelrl_folder, shipped_pixelrl, time_inference)
from .color import (
    COLOR_ACTIONS, COLOR_DO_NOTHING, COLOR_SCALES, COLOR_T_MAX, GlobalActionNet, N_COLOR_ACTIONS,
    apply_color_actions, color_action_counts, color_bank, color_env, color_restore, lab_distance, lab_input,
    lab_reward, mean_lab_error, rgb_to_lab)
from .color_data import (
    STYLES, YAN_NAME, YAN_STYLES, PairSampler, check_yan2016, is_colour, popout, style_target, styled_pairs,
    subject_mask, watercolor, yan2016_pairs, yan2016_root)
from .color_method import (
    KINDS, PAPER_TABLE6, ColorCNN, ColorCNNRecord, ColorMethod, color_factory, color_table, enhancer, load_color_model,
    oracle_enhance, save_color_model, train_color_cnn)
from . import actions, nets, env, training, a2c, baselines, method, color, color_data, color_method  # the modules themselves, e.g. pixelrl.actions
