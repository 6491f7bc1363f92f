"""The ground floor, which knows no algorithm: configuration and scales, images and data sets, degradations
(chapter 1), full- and no-reference metrics, patches and tiles, argument checks, atomic writes, resumable
states, the one training log, the checkpoint reader, what a method is (its registry) and the evaluation engine.
"""
from .validation import check_images, check_image, per_image, positive_ints, flag_int, flag_float
from .atomic import (
    temp_path, sweep_stale, atomic_open, write_bytes, write_text, check_writable, check_output,
    exit_unless_writable, save_figure, json_ready)
from .config import (
    PROFILES, Profile, get_profile, get_device, check_device, seed_everything, cache_dir, data_dir, weights_dir,
    hardware, widgets_available)
from .scales import SCALE_SETTINGS, build_scales, scale_settings
from .imagefile import (
    IMAGE_EXTENSIONS, DEFAULT_MAX_PIXELS, pixel_limit, to_tensor, to_uint8, to_rgb, read_pixels, read_image,
    image_format, save_image, read_for_restore, describe, write_restored)
from .data import (
    EMBEDDED, EMBEDDED_TEST, EMBEDDED_TRAIN, embedded, embedded_set, RemoteFile, registry, dataset_names,
    sha256_file, DownloadError, MAX_DOWNLOAD_BYTES, check_url, download, set_files, load_set, load_folder,
    load_train_sets)
from .degradations import (
    BLUR_KERNEL, BLUR_EDGES, NOISE_EDGES, JPEG_EDGES, GROUPS, STAGE_ORDER, gaussian_kernel1d, gaussian_blur,
    add_gaussian_noise, add_poisson_noise, add_salt_pepper, jpeg, interval, severity, group_triples, Stage, Spec,
    NAMED_SPECS, register_spec, parse_spec, HIRL_BLUR_SIGMA, hirl_blur_sigma, HIRL_MIXTURES, HIRL_SINGLE,
    apply_levels, degrade)
from .metrics import MSE_FLOOR, mse, psnr, ssim, paired_difference
from .patches import CROP_SCALES, grid_patches, rescale, patch_bank, random_patches, augment, split_names, CropSampler
from .banks import draw_clean, check_bank, add_train_set_flag, train_sampler, train_set_record, crops_phrase
from .resume import (
    atomic_save, Checkpointer, autocast, amp_active, precision, amp_dtype, MixedPrecision, ConfigMismatch,
    check_same_config, RunCheckpoint, add_resume_flags, partial_state, finish_partial)
from .long_runs import (
    CHECKPOINT_EVERY, ESTIMATE_AFTER, Progress, checkpoint_dir, checkpoint_every, duration, fingerprint,
    progress_bar, progress_label, run_checkpoint, run_kwargs)
from .checkpoints import (
    RECORD, CheckpointError, check_fields, load_checkpoint, load_state, read_json, read_record, save_state, sha256_bytes,
    weights_file, write_checkpoint)
from .artifacts import ArtifactKind, CARD, has_record, load_or_train, produced, resolve, shipped, write_readme
from .plugins import PROVIDERS, add_providers, load_providers
from .tiling import TOOL_RADIUS, apply_tiled, patch_grid, receptive_radius
from .quality import (
    QUALITY_DIR, NIQE_FILE, Scorer, mscn, fit_ggd, fit_aggd, niqe_features, NIQEModel, fit_niqe, load_niqe_model,
    niqe, noise_sigma, register_scorer, get_scorer, scorer_names, check_scores, quality_pairs, spearman,
    rank_correlation)
from .method import (
    Capabilities, Identity, Method, MethodFactory, OptionError, Restored, capabilities, device_of, get_method,
    method_names, register_method)
from .training_log import TrainingLog
from .evaluation import GRID_LEVELS, evaluate, evaluate_no_reference, gain_matrix, measured_on, summary
from .flags import (
    SCALE_WORDS, device_flag, add_device_flag, add_seed_flag, add_scale_flag, add_out_flag, add_force_flag,
    add_common_flags, add_test_flags, check_test_flags)
from . import validation, atomic, config, scales, imagefile, data, degradations, metrics, patches, banks, resume, long_runs, checkpoints, training_log, artifacts, plugins, tiling, quality, method, evaluation, flags  # the modules themselves, e.g. core.validation
