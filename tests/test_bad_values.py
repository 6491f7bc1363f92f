"""Every public function that takes an image, fed every class of bad value, raises a clear error naming the argument.

The classes: NaN, +inf and -inf anywhere in the image, a 0-255 scale, negative values, an integer dtype, an empty
image, a wrong rank, and a value that is not a tensor at all. Each must give ValueError or TypeError whose message
names the argument, never a result (NaN, 0 or a clamped image) or a raw error from deep inside torch or Pillow.

The functions are not a hand-picked list: :func:`public_image_functions` walks every module of the API page
(``book/api.md``) and lists each public function or method with an image parameter (a tensor argument with one of
the names in ``IMAGE_ARGS``). Each must be in ``FUNCTIONS`` (fed the bad values here) or in ``NOT_CHECKED`` with the
reason, so a new public function that takes an image is noticed until it is one or the other (issue 22).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import re
from pathlib import Path

import pytest
import torch

from restorelib.core import data, degradations as D, imagefile, metrics, patches
from restorelib.core import quality
from restorelib.search import chains as search
from restorelib.pixelrl import color as PC, color_data as PD, color_method as PM
from restorelib.pixelrl.a2c import PixelRLNet
from restorelib.methods import FixedChain, Identity, SearchMethod, SingleTool
from restorelib.pixelrl.actions import apply_actions, filter_bank, to_gray
from restorelib.toolbox.tools import Toolbox

ROOT = Path(__file__).resolve().parents[1]


def good(size: int = 16) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))


def with_value(v: float, size: int) -> torch.Tensor:
    x = good(size)
    x[1, 2, 7, 5] = v                                   # one bad pixel, deep inside the batch
    return x


BAD: dict[str, tuple[object, str]] = {                 # class -> (value of a given size, what the message must say)
    "nan": (lambda s: with_value(float("nan"), s), "finite"),
    "+inf": (lambda s: with_value(float("inf"), s), "finite"),
    "-inf": (lambda s: with_value(float("-inf"), s), "finite"),
    "0-255": (lambda s: good(s) * 255, "values in"),
    "negative": (lambda s: good(s) - 2.0, "values in"),
    "int dtype": (lambda s: (good(s) * 255).to(torch.uint8), "floating-point"),
    "empty": (lambda s: torch.zeros(2, 3, 0, 0), "pixels"),
    "rank 3": (lambda s: good(s)[0], "shape"),
    "not a tensor": (lambda s: good(s).numpy(), "torch.Tensor"),
}
_box = Toolbox()
G = torch.Generator().manual_seed(1)


def one_image(x: object) -> object:
    """For functions of one (C, H, W) image: the bad image of a batch, and a batch for the wrong rank."""
    if isinstance(x, torch.Tensor):
        return x[1] if x.dim() == 4 else x[None]
    return x


@functools.cache
def shipped(kind: str):
    """A shipped method (loaded once): rl-restore, hirl, label-free, pixelrl or vdsr-s."""
    from restorelib.evaluate import get_method
    return get_method(kind, "cpu")


@functools.cache
def _color_net() -> PixelRLNet:
    """An untrained colour-enhancement agent (3 input channels, the 13 actions of Table 5), built once."""
    return PixelRLNet(3, n_actions=len(PC.COLOR_ACTIONS), width=4).eval()


S, M = 16, 64                  # image sizes: 16 px for functions of any size, 64 px for the agents' 63x63 patches
ANY, OWN = (), ("0-255", "negative")
# name -> (call with the image, the argument's name in the message, the classes that do not apply, image size)
FUNCTIONS = {
    "core.metrics.psnr": (lambda x: metrics.psnr(x, good()), "x", ANY, S),
    "core.metrics.psnr(y)": (lambda y: metrics.psnr(good(), y), "y", ANY, S),
    "core.metrics.ssim": (lambda x: metrics.ssim(x, good()), "x", ANY, S),
    "core.metrics.ssim(y)": (lambda y: metrics.ssim(good(), y), "y", ANY, S),
    "core.metrics.mse": (lambda x: metrics.mse(x, good()), "x", OWN, S),           # any scale, by definition
    "core.degradations.gaussian_blur": (lambda x: D.gaussian_blur(x, 1.0), "x", ANY, S),
    "core.degradations.add_gaussian_noise": (lambda x: D.add_gaussian_noise(x, 10, G), "x", ANY, S),
    "core.degradations.add_poisson_noise": (lambda x: D.add_poisson_noise(x, 30, G), "x", ANY, S),
    "core.degradations.add_salt_pepper": (lambda x: D.add_salt_pepper(x, 0.1, G), "x", ANY, S),
    "core.degradations.jpeg": (lambda x: D.jpeg(x, 40), "x", ANY, S),
    "core.degradations.degrade": (lambda x: D.degrade(x, "noise:10", G), "x", ANY, S),
    "core.degradations.apply_levels": (lambda x: D.apply_levels(x, [{"noise": 5.0}] * 2, G), "x", ANY, S),
    "toolbox.tools.Toolbox.apply": (lambda x: _box.apply(x, 0), "x", ANY, S),
    "toolbox.tools.Toolbox.run_chain": (lambda x: _box.run_chain(x, [0, 4]), "x", ANY, S),
    "toolbox.tools.Toolbox.apply_each": (lambda x: _box.apply_each(x, torch.full((len(x),), -1)), "x", ANY, S),
    # to_uint8 clips, by its docstring; an empty (C, 0, 0) image is an image
    "core.imagefile.to_uint8": (lambda x: data.to_uint8(one_image(x)), "image", OWN + ("empty",), S),
    "core.imagefile.to_rgb": (lambda x: imagefile.to_rgb(one_image(x)), "image", ("empty",), S),
    "core.imagefile.save_image": (lambda x: imagefile.save_image(one_image(x), Path("/nonexistent/never.png")),
                             "image", OWN + ("empty",), S),
    "core.method.Identity.restore": (lambda x: Identity().restore(x), "degraded", ANY, S),
    "toolbox.method.SingleTool.restore": (lambda x: SingleTool("noise-2", _box).restore(x), "degraded", ANY, S),
    "search.method.FixedChain.restore": (lambda x: FixedChain(["noise-2"], _box).restore(x), "degraded", ANY, S),
    "search.method.SearchMethod.restore": (lambda x: SearchMethod("greedy", toolbox=_box, max_length=1).restore(
        x, clean=good()), "degraded", ANY, S),
    "search.method.SearchMethod.restore(clean)": (lambda c: SearchMethod("greedy", toolbox=_box, max_length=1).restore(
        good(), clean=c), "clean", ANY, S),
    "rlrestore.restore.ChainAgentMethod.restore": (lambda x: shipped("rl-restore").restore(x), "degraded", ANY, M),
    "rlrestore.restore.ChainAgentMethod.restore(hirl)": (lambda x: shipped("hirl").restore(x), "degraded", ANY, M),
    "rlrestore.restore.ChainAgentMethod.restore(label-free)": (lambda x: shipped("label-free").restore(x), "degraded", ANY, M),
    "pixelrl.method.PixelRLMethod.restore": (lambda x: shipped("pixelrl").restore(x), "degraded", ANY, S),
    "joint.baselines.BaselineMethod.restore": (lambda x: shipped("vdsr-s").restore(x), "degraded", ANY, S),
    "search.chains.run_chains": (lambda x: search.run_chains(_box, x, [["noise-2"]] * 2), "x", ANY, S),
    "search.chains.greedy": (lambda x: search.greedy(_box, x, good(), max_len=1), "x", ANY, S),
    "search.chains.greedy(clean)": (lambda c: search.greedy(_box, good(), c, max_len=1), "clean", ANY, S),
    "search.chains.brute_force": (lambda x: search.brute_force(_box, x, good(), max_len=1), "x", ANY, S),
    "search.chains.brute_force(clean)": (lambda c: search.brute_force(_box, good(), c, max_len=1), "clean", ANY, S),
    "search.chains.best_fixed_chain": (lambda x: search.best_fixed_chain(_box, x, good(), max_len=1), "x", ANY, S),
    "core.patches.grid_patches": (lambda x: patches.grid_patches(one_image(x), 8, 8), "image", ANY, S),
    "core.patches.random_patches": (lambda x: patches.random_patches(one_image(x), 2, 8, G), "image", ANY, S),
    "core.patches.rescale": (lambda x: patches.rescale(one_image(x), 0.5), "image", ANY, S),
    "core.patches.augment": (lambda x: patches.augment(x, G), "batch", ANY, S),
    "core.quality.niqe": (lambda x: quality.niqe(x), "images", ANY, M),
    "core.quality.noise_sigma": (lambda x: quality.noise_sigma(x), "images", ANY, S),
    "pixelrl.actions.filter_bank": (lambda x: filter_bank(x), "x", ANY, S),
    "pixelrl.actions.to_gray": (lambda x: to_gray(x), "x", ("rank 3",), S),      # (..., C, H, W): one image too
    "pixelrl.actions.apply_actions": (lambda x: apply_actions(x, torch.zeros(2, 16, 16, dtype=torch.long)), "x",
                                      ANY, S),
    "pixelrl.color.rgb_to_lab": (lambda x: PC.rgb_to_lab(x), "x", ANY, S),
    "pixelrl.color.lab_input": (lambda x: PC.lab_input(x), "x", ANY, S),
    "pixelrl.color.lab_distance": (lambda x: PC.lab_distance(x, PC.rgb_to_lab(good())), "x", ANY, S),
    "pixelrl.color.mean_lab_error": (lambda x: PC.mean_lab_error(x, good()), "x", ANY, S),
    "pixelrl.color.mean_lab_error(target)": (lambda t: PC.mean_lab_error(good(), t), "target", ANY, S),
    "pixelrl.color.color_bank": (lambda x: PC.color_bank(x), "x", ANY, S),
    "pixelrl.color.apply_color_actions": (lambda x: PC.apply_color_actions(x, torch.zeros(2, 16, 16,
                                                                                          dtype=torch.long)),
                                          "x", ANY, S),
    "pixelrl.color.color_restore": (lambda x: PC.color_restore(_color_net(), x, t_max=1), "image", ANY, S),
    "pixelrl.color_data.subject_mask": (lambda x: PD.subject_mask(one_image(x)), "image", ANY, S),
    "pixelrl.color_data.popout": (lambda x: PD.popout(one_image(x)), "image", ANY, S),
    "pixelrl.color_data.watercolor": (lambda x: PD.watercolor(one_image(x)), "image", ANY, S),
    "pixelrl.color_data.style_target": (lambda x: PD.style_target(one_image(x), "popout"), "image", ANY, S),
    "pixelrl.color_data.is_colour": (lambda x: PD.is_colour(one_image(x)), "image", ANY, S),
    "pixelrl.color_method.oracle_enhance": (lambda x: PM.oracle_enhance(x, good(), t_max=1), "x", ANY, S),
    "pixelrl.color_method.oracle_enhance(target)": (lambda t: PM.oracle_enhance(good(), t, t_max=1), "target",
                                                    ANY, S),
    "pixelrl.color_method.ColorCNN.enhance": (lambda x: PM.ColorCNN(width=8).enhance(x), "x", ANY, S),
}

#: The parameter names that mean "an image in [0, 1]" in restorelib's signatures.
IMAGE_ARGS = {"x", "y", "image", "images", "degraded", "clean", "reference", "batch", "patches", "bank", "clean_bank",
              "train", "val"}
_NET = "a network's forward: takes activations, not a user's image (its caller checks the image)"
_TRAIN = ("a training loop or one of its steps: its patches come from a bank checked by banks.check_bank (tested "
          "below) or pixelrl_training's check, or from a step that has checked them")
_INNER = "an inner step of a method tested above (called with images that method has checked)"
_DICT = "takes a dict of images read by data.load_folder / imagefile, which checks each file's values"
NOT_CHECKED: dict[str, str] = {
    "rlrestore.nets.RLRestoreNet.features": _NET, "rlrestore.nets.RLRestoreNet.forward": _NET,
    "rlrestore.nets.RLRestoreNet.forward_sequence": _NET, "joint.baselines.PlainResidualCNN.forward": _NET,
    "hirl.nets.ResBlock.forward": _NET, "hirl.nets.HirlQNet.forward": _NET, "hirl.nets.HirlAgent.forward": _NET,
    "hirl.nets.HirlAgent.type_values": _NET, "hirl.nets.HirlAgent.degree_values": _NET,
    "labelfree.policy.PolicyNet.forward": _NET, "pixelrl.nets.ConvGRU.forward": _NET, "pixelrl.nets.PixelRLNet.forward": _NET,
    "pixelrl.nets.PixelRLNet.policy": _NET,
    "pixelrl.color.GlobalActionNet.forward": _NET, "pixelrl.color_method.ColorCNN.forward": _NET,
    "pixelrl.env.PixelEnv.observe": _INNER,
    "pixelrl.color_method.ColorMethod.restore": "is built from a colour model's folder, which this harness does not "
                                                "construct; its check_images call is the one ColorCNN.enhance is "
                                                "tested with",
    "pixelrl.baselines.Denoiser.forward": _NET, "labelfree.quality_net.QualityNet.forward": _NET,
    "toolbox.tools.SmallTool.forward": _NET, "toolbox.tools.LargeTool.forward": _NET,
    "joint.baselines.compare": _DICT, "core.evaluation.evaluate": _DICT, "core.evaluation.evaluate_no_reference": _DICT,
    "core.patches.patch_bank": _DICT, "core.patches.CropSampler.__init__": _DICT, "core.quality.fit_niqe": _DICT,
    "core.banks.train_set_record": _DICT, "teaching.explorer.toolchain_explorer": _DICT, "hirl.restore.degraded_patches": _DICT,
    "pixelrl.baselines.degraded_pairs": _DICT, "rlrestore.stopping.stopping_study": _DICT, "search.record.search_baselines": _DICT,
    "search.record.record_of": _DICT, "toolbox.train_toolbox.validation_pairs": _DICT,
    "toolbox.training.tool_batch": _TRAIN, "toolbox.training.evaluate_pair": _TRAIN, "toolbox.training.dead_units": _TRAIN,
    "labelfree.quality_net.quality_batch": _TRAIN, "pixelrl.training.sample_crops": _TRAIN,
    "pixelrl.training.draw_crops": _TRAIN,
    "rlrestore.restore.ChainRestorer.restore_image": _INNER, "rlrestore.restore.AgentRestorer.rollout": _INNER,
    "core.tiling.apply_tiled": _INNER, "rlrestore.restore.restore_by_votes": _INNER, "rlrestore.restore.ImageResult.__init__": _INNER,
    "hirl.restore.HirlRestorer.restore_image": _INNER, "hirl.restore.HirlRestorer.rollout": _INNER, "hirl.rollout.greedy_rollout": _INNER,
    "rlrestore.restore.ChainAgentMethod.patches": _INNER, "rlrestore.restore.AgentMethod.patches": _INNER,
    "hirl.restore.HirlMethod.patches": _INNER, "labelfree.policy.LabelFreeMethod.patches": _INNER,
    "labelfree.policy.LabelFreeRestorer.rollout": _INNER,
    "core.method.Method.restore": "the protocol every method follows (no code of its own)",
    "core.method.Restored.__init__": "a result holder: its images are a method's outputs",
    "search.chains.SearchResult.__init__": "a result holder: its images are a search's outputs",
    "search.chains.brute_force_curve": _INNER + " (brute_force)",
    "teaching.static_explorer.all_chains": _INNER + " (run_chains), at build time on the shipped photos",
    "teaching.static_explorer.Case.__init__": "a result holder of the static explorer, built from shipped photos",
    "teaching.static_explorer.encode_jpeg": "the static explorer's encoder of its own outputs, at build time",
    "rlrestore.env.Observation.__init__": "a result holder: what the environment shows the agent",
    "rlrestore.env.RestoreEnv.reset": "checks degraded and clean itself (tests/test_env.py)",
    "hirl.nets.choose": _INNER + " (HIRL's rollout, on patches it has checked)",
    "hirl.rollout.greedy_gain": _TRAIN, "joint.joint.joint_step": _TRAIN,
    "teaching.checks_images.beam_search": "the exercises' reference, compared with a student's function on seeded cases",
    "teaching.explorer.ToolchainSession.__init__": "the notebook explorer, on images it has read itself",
    "teaching.plotting.show_images": "plots; imshow shows any values, and 0-255 is a plotting choice",
    "core.imagefile.write_restored": _INNER + " (save_image)",
    "pixelrl.a2c.pixelrl_restore": _INNER + " (PixelRLMethod.restore)",
    "pixelrl.baselines.denoise": "chapter 7's comparison, on patches of the shipped sets",
    "pixelrl.actions.box_filter": _INNER + " (filter_bank)", "pixelrl.actions.gaussian_filter": _INNER + " (filter_bank)",
    "pixelrl.actions.bilateral_filter": _INNER + " (filter_bank)",
    "pixelrl.actions.median_filter": _INNER + " (filter_bank)",
    "pixelrl.actions.resolve_backend": "picks a filter backend for a tensor's device; reads no values",
    "pixelrl.actions.pixel_reward": _TRAIN,
    "pixelrl.actions.overlay_text": "draws text on clean training crops (the text task)",
    "core.quality.quality_pairs": _TRAIN, "core.quality.rank_correlation": _TRAIN,
    "core.banks.draw_clean": _TRAIN, "joint.baselines.get_baseline": _TRAIN, "joint.baselines.train_baseline": _TRAIN,
    "rlrestore.dqn.train_dqn": _TRAIN, "rlrestore.dqn.get_agent": _TRAIN, "hirl.hirl.train_hirl": _TRAIN, "hirl.restore.get_hirl": _TRAIN,
    "hirl.restore.equal_trials": _TRAIN, "joint.joint.get_joint_toolbox": _TRAIN, "joint.joint.train_joint": _TRAIN,
    "labelfree.policy.get_label_free": _TRAIN, "labelfree.policy.train_label_free": _TRAIN, "pixelrl.a2c.train_pixelrl": _TRAIN,
    "pixelrl.method.get_pixelrl": _TRAIN, "pixelrl.baselines.pretrain_shared": _TRAIN,
    "pixelrl.baselines.train_denoiser": _TRAIN, "pixelrl.baselines.filter_sweep": _TRAIN,
    "labelfree.quality_net.train_quality_net": _TRAIN, "toolbox.training.train_tool": _TRAIN, "rlrestore.dqn.act": _INNER,
    "core.evaluation.gain_matrix": _TRAIN, "rlrestore.dqn.dqn_loss": _TRAIN,
    "rlrestore.replay.EpisodeMemory.add": _TRAIN + " (the replay memory of episodes the environment made)",
    "teaching.checks_images.env_stepwise_reward": "the exercises' reference, compared with a student's function on seeded cases",
}


def public_image_functions() -> set[str]:
    """``module.function`` / ``module.Class.method`` of every public callable of the API page's modules that takes
    an image parameter (annotated as a tensor, named as in ``IMAGE_ARGS``)."""
    modules = sorted(set(re.findall(r"automodule:: restorelib\.([\w.]+)", (ROOT / "book" / "api.md").read_text())))
    found = set()
    for name in modules:
        mod = importlib.import_module(f"restorelib.{name}")
        for attr in getattr(mod, "__all__", None) or [a for a in vars(mod) if not a.startswith("_")]:
            obj = getattr(mod, attr, None)
            if getattr(obj, "__module__", None) != mod.__name__:
                continue
            members = [(attr, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                members = [(f"{attr}.{k}", getattr(v, "__func__", v)) for k, v in vars(obj).items()
                           if (not k.startswith("_") or k == "__init__") and inspect.isfunction(getattr(v, "__func__", v))]
            for qual, fn in members:
                params = inspect.signature(fn).parameters.values()
                if any(p.name in IMAGE_ARGS and "Tensor" in str(p.annotation) and "Callable" not in str(p.annotation)
                       for p in params):
                    found.add(f"{name}.{qual}")
    return found


def test_every_public_image_function_is_checked_or_says_why_not():
    found = public_image_functions()
    covered = {k.split("(")[0] for k in FUNCTIONS}
    missing = sorted(found - covered - set(NOT_CHECKED))
    assert not missing, f"public functions that take an image, in neither FUNCTIONS nor NOT_CHECKED: {missing}"
    stale = sorted((covered | set(NOT_CHECKED)) - found)
    assert not stale, f"entries for functions that no longer take an image (or are gone): {stale}"
    assert not covered & set(NOT_CHECKED), sorted(covered & set(NOT_CHECKED))


@pytest.mark.parametrize("fn, bad", [(f, b) for f in sorted(FUNCTIONS) for b in sorted(BAD)
                                     if b not in FUNCTIONS[f][2]])
def test_bad_images_are_refused_by_name(fn, bad):
    call, arg, _, size = FUNCTIONS[fn]
    make, words = BAD[bad]
    with pytest.raises((ValueError, TypeError)) as err:
        call(make(size))
    msg = str(err.value)
    assert msg.startswith(f"{arg} ") or f" {arg} " in msg, f"{fn} on {bad}: {msg!r} does not name {arg!r}"
    assert words in msg, f"{fn} on {bad}: {msg!r}"
    assert "\n" not in msg, f"{fn} on {bad}: {msg!r} is not one line"


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_good_images_pass_every_function(fn, tmp_path):
    call, _, _, size = FUNCTIONS[fn]
    if fn == "core.imagefile.save_image":
        call = lambda x: data.save_image(one_image(x), tmp_path / "ok.png")          # noqa: E731
    call(good(size))                                     # no error: the checks refuse only bad values


@pytest.mark.parametrize("bad", sorted(BAD))
def test_bad_banks_are_refused_by_name(bad):
    from restorelib.core.banks import check_bank
    make, words = BAD[bad]
    with pytest.raises((ValueError, TypeError)) as err:
        check_bank(make(S), name="bank")
    assert str(err.value).startswith("bank ") and ("patch bank" in str(err.value) or words in str(err.value))


@pytest.mark.parametrize("fn, call", [
    ("gaussian_blur", lambda v: D.gaussian_blur(good(), v)),
    ("add_gaussian_noise", lambda v: D.add_gaussian_noise(good(), v, G)),
    ("add_poisson_noise", lambda v: D.add_poisson_noise(good(), v, G)),
    ("add_salt_pepper", lambda v: D.add_salt_pepper(good(), v, G)),
    ("jpeg", lambda v: D.jpeg(good(), v)),
])
@pytest.mark.parametrize("level", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_levels_are_refused(fn, call, level):
    with pytest.raises(ValueError, match="sigma|peak|density|quality"):
        call(level)


# numbers: name -> (call with the number and a PNG's path, the argument's name); each gets NaN, inf, -1, a bool, a
# string
NUMBERS = {
    "core.patches.rescale(scale)": (lambda v, _: patches.rescale(good()[0], v), "scale"),
    "core.patches.grid_patches(size)": (lambda v, _: patches.grid_patches(good()[0], v, 8), "size"),
    "core.patches.random_patches(n)": (lambda v, _: patches.random_patches(good()[0], v, 8, G), "n"),
    "search.chains.greedy(max_len)": (lambda v, _: search.greedy(_box, good(), good(), max_len=v), "max_len"),
    "search.chains.brute_force(budget)": (lambda v, _: search.brute_force(_box, good(), good(), max_len=1, budget=v),
                                   "budget"),
    "core.degradations.jpeg(quality)": (lambda v, _: D.jpeg(good(), v), "quality"),
    "core.metrics.psnr(data_range)": (lambda v, _: metrics.psnr(good(), good(), data_range=v), "data_range"),
    "core.metrics.ssim(data_range)": (lambda v, _: metrics.ssim(good(), good(), data_range=v), "data_range"),
    "core.imagefile.read_image(max_pixels)": (lambda v, path: imagefile.read_image(path, max_pixels=v), "max_pixels"),
}


@pytest.mark.parametrize("fn, value", [(f, v) for f in sorted(NUMBERS)
                                       for v in (float("nan"), float("inf"), -1, True, "3")])
def test_bad_numbers_are_refused_by_name(fn, value, tmp_path):
    call, arg = NUMBERS[fn]
    path = tmp_path / "p.png"
    data.save_image(good()[0], path)
    with pytest.raises((ValueError, TypeError)) as err:
        call(value, path)
    assert arg in str(err.value) and "\n" not in str(err.value), f"{fn} on {value!r}: {err.value}"


def test_good_images_still_pass():
    x, y = good(), good().flip(-1)
    assert torch.isfinite(metrics.psnr(x, y)).all() and torch.isfinite(metrics.ssim(x, y)).all()
    assert D.degrade(x, "blur:1+noise:10+jpeg:50", torch.Generator().manual_seed(0))[0].shape == x.shape
    assert data.to_uint8(x[0]).shape == (16, 16, 3)
