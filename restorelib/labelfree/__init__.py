"""Chapter 8: label-free agents, trained with a no-reference quality reward (NIQE or a learned scorer).
"""
from .quality_net import (
    PSNR_RANGE, TRAIN_SPECS, QualityNet, QualityConfig, quality_batch, QualityRecord, train_quality_net,
    save_quality_net, load_quality_net, quality_net_scorer)
from .ppo import sample_chains, ppo_update
from .policy import (
    LABEL_FREE_AGENTS, LabelFreeConfig, LabelFreeMethod, LabelFreeRestorer, PolicyNet, get_label_free,
    label_free_factory, load_label_free, save_label_free, train_label_free)
from . import quality_net, ppo, policy  # the modules themselves, e.g. labelfree.quality_net
