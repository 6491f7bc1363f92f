"""Chapter 3: chains of tools found by search (brute force, greedy, beam, reverse order) and their shipped records.

``restorelib.search`` was one module before 0.2; its names are all here, and the module itself is
:mod:`restorelib.search.chains`.
"""
from .chains import (
    JPEG_THEN_NOISE_THEN_BLUR, SearchResult, brute_force_trials, reverse_chain, run_chains, greedy, brute_force,
    PIXELS_PER_CALL, brute_force_curve, random_chains, best_fixed_chain)
from .method import (
    MAX_TRIALS_WITHOUT_BUDGET, FixedChain, SearchMethod, check_cost, register_search_toolbox, search_toolbox)
from .record import (
    RECORD, RECORDS, KINDS, TEST_IMAGES, TOLERANCE_DB, SearchBaselines, search_inputs, search_baselines, record_of)
from . import chains, method, record  # the modules themselves, e.g. search.chains
