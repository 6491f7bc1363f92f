"""restorelib.core.config: profile precedence, seeding, device, cache and data folders."""
from __future__ import annotations

import platform
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from restorelib.core import config
from restorelib.core.config import PROFILES, cache_dir, data_dir, get_device, get_profile, seed_everything, weights_dir


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


# ----------------------------------------------------------------------------- profiles
def test_profile_table():
    assert PROFILES == ("ci", "book", "gpu", "paper")
    ci, book, gpu, paper = (get_profile(n) for n in PROFILES)
    assert (ci.name, ci.fast, ci.train, ci.max_images, ci.long_runs) == ("ci", True, True, 3, False)
    assert (book.name, book.fast, book.train, book.long_runs) == ("book", False, False, False)
    assert (gpu.name, gpu.fast, gpu.train, gpu.long_runs) == ("gpu", False, True, True)
    assert (paper.name, paper.fast, paper.train, paper.long_runs) == ("paper", False, True, True)


def test_profile_pick():
    sizes = dict(ci=3, book=20, paper=68)
    assert [get_profile(n).pick(**sizes) for n in PROFILES] == [3, 20, 68, 68]
    assert get_profile("gpu").pick(**sizes, gpu=40) == 40
    assert get_profile("paper").pick(**sizes, gpu=40) == 68


def test_profile_default_is_book_on_cpu(no_cuda):
    assert get_profile().name == "book"


def test_profile_default_is_gpu_with_cuda(fake_cuda):
    assert get_profile().name == "gpu"


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_profile_fast_env_selects_ci(monkeypatch, fake_cuda, value):
    monkeypatch.setenv("RESTORELIB_FAST", value)
    assert get_profile().name == "ci"


@pytest.mark.parametrize("value", ["0", "", "no"])
def test_profile_fast_env_falsy_keeps_default(monkeypatch, no_cuda, value):
    monkeypatch.setenv("RESTORELIB_FAST", value)
    assert get_profile().name == "book"


def test_profile_env_beats_fast(monkeypatch, no_cuda):
    monkeypatch.setenv("RESTORELIB_FAST", "1")
    monkeypatch.setenv("RESTORELIB_PROFILE", "paper")
    assert get_profile().name == "paper"


def test_profile_argument_beats_env(monkeypatch, no_cuda):
    monkeypatch.setenv("RESTORELIB_FAST", "1")
    monkeypatch.setenv("RESTORELIB_PROFILE", "paper")
    assert get_profile("book").name == "book"
    assert get_profile("ci").name == "ci"


@pytest.mark.parametrize("name", ["fast", "BOOK", "cuda", "t4"])
def test_profile_bad_name(name):
    with pytest.raises(ValueError, match="profile"):
        get_profile(name)


def test_profile_bad_env(monkeypatch):
    monkeypatch.setenv("RESTORELIB_PROFILE", "huge")
    with pytest.raises(ValueError, match="profile.*huge"):
        get_profile()


# ----------------------------------------------------------------------------- seeding
def _draws(g: torch.Generator):
    return random.random(), float(np.random.rand()), torch.rand(3), torch.rand(3, generator=g)


def test_seed_everything_reproducible():
    a = _draws(seed_everything(123))
    b = _draws(seed_everything(123))
    c = _draws(seed_everything(124))
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    assert a[0] != c[0] and a[1] != c[1] and not torch.equal(a[2], c[2]) and not torch.equal(a[3], c[3])


def test_seed_everything_returns_seeded_generator():
    g = seed_everything(7)
    assert isinstance(g, torch.Generator)
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=torch.Generator().manual_seed(7)))


def test_seed_everything_large_seed():
    seed_everything(2**40)                 # NumPy accepts only 32 bits; the seed is reduced for it
    assert np.random.get_state()[1][0] == np.random.RandomState(2**40 % 2**32).get_state()[1][0]


@pytest.mark.parametrize("seed", [1.5, "3", None, True])
def test_seed_everything_type_error(seed):
    with pytest.raises(TypeError, match="seed"):
        seed_everything(seed)


# ----------------------------------------------------------------------------- device
def test_get_device_default_cpu(no_cuda):
    assert get_device() == torch.device("cpu")


def test_get_device_default_cuda_when_available(fake_cuda):
    assert get_device().type == "cuda"


def test_get_device_explicit(fake_cuda):
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


def test_get_device_env(monkeypatch, fake_cuda):
    monkeypatch.setenv("RESTORELIB_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("meta") == torch.device("meta")         # the argument beats the variable


# ----------------------------------------------------------------------------- folders
def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RESTORELIB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


def test_cache_dir_env_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RESTORELIB_CACHE", "~/restore-cache")
    assert cache_dir() == tmp_path / "restore-cache"


def test_cache_dir_xdg_and_home(monkeypatch, tmp_path):
    monkeypatch.delenv("RESTORELIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "restorelib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "restorelib"


def test_data_dir_unset_is_none():
    assert data_dir() is None


def test_data_dir_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("RESTORELIB_DATA", str(tmp_path))
    assert data_dir() == tmp_path


@pytest.mark.parametrize("kind", ["empty", "missing", "file"])
def test_data_dir_not_a_folder_is_none(monkeypatch, tmp_path, kind):
    value = {"empty": "", "missing": str(tmp_path / "nope"), "file": str(tmp_path / "f.txt")}[kind]
    (tmp_path / "f.txt").write_text("x")
    monkeypatch.setenv("RESTORELIB_DATA", value)
    assert data_dir() is None


def test_weights_dir_is_in_package():
    assert weights_dir() == Path(config.__file__).resolve().parents[1] / "weights"


@pytest.mark.parametrize("device, message", [("bogus", "device must be cpu, cuda"), ("cuda:x", "device must be")])
def test_get_device_unknown_name_is_a_clear_error(device, message):
    with pytest.raises(ValueError, match=message):
        get_device(device)


def test_get_device_cuda_without_a_gpu(no_cuda):
    with pytest.raises(ValueError, match="device 'cuda' is not available.*--device cpu"):
        get_device("cuda")
    with pytest.raises(ValueError, match="'cuda:0' is not available"):
        get_device(torch.device("cuda:0"))


def test_hardware_names_the_processor_and_its_bf16():
    from restorelib.core.config import hardware
    text = hardware()
    assert "bf16" in text and "torch thread" in text and platform.machine() in text


# ----------------------------------------------------------------------------- one table of every chapter's sizes
def _chapter_scales():
    from restorelib.hirl import hirl
    from restorelib.joint import baselines, joint
    from restorelib.labelfree import policy, quality_net
    from restorelib.pixelrl import a2c, color
    from restorelib.rlrestore import dqn
    from restorelib.toolbox import train_toolbox
    return {"rl-restore": (dqn.SCALES, dqn.DQNConfig), "hirl": (hirl.SCALES, hirl.HirlConfig),
            "pixelrl": (a2c.SCALES, a2c.PixelRLConfig), "pixelrl-color": (color.COLOR_SCALES, a2c.PixelRLConfig),
            "joint": (joint.SCALES, joint.JointConfig), "baselines": (baselines.SCALES, baselines.BaselineConfig),
            "label-free": (policy.SCALES, policy.LabelFreeConfig),
            "quality-net": (quality_net.SCALES, quality_net.QualityConfig),
            "tools": (train_toolbox.TOOLBOX_SCALES, dict)}


def test_every_chapter_reads_its_sizes_from_the_one_table():
    from restorelib.core.scales import SCALE_SETTINGS
    chapters = _chapter_scales()
    assert set(chapters) == set(SCALE_SETTINGS)
    for run, (scales, make) in chapters.items():
        assert set(PROFILES) <= set(scales), run                 # every scale of the book has a size
        for scale, cfg in scales.items():
            assert cfg == make(**SCALE_SETTINGS[run][scale]), (run, scale)
    assert dqn_agent_config_uses_the_tables_ablation_schedule()


def dqn_agent_config_uses_the_tables_ablation_schedule() -> bool:
    from restorelib.core.scales import ABLATION_SCHEDULE
    from restorelib.rlrestore.dqn import ABLATIONS, SCALES, agent_config
    name = next(iter(ABLATIONS))
    return all(agent_config(name, s).steps == SCALES[ABLATION_SCHEDULE.get(s, "ablation")].steps for s in PROFILES)


def test_profile_settings_are_the_tables_row():
    book = get_profile("book").settings("hirl")
    from restorelib.hirl.hirl import SCALES
    assert SCALES["book"].steps == book["steps"] == 9_000
    book["steps"] = 1                                           # a copy: the table does not change
    assert get_profile("book").settings("hirl")["steps"] == 9_000
    assert get_profile("ci").settings("pixelrl-color")["t_max"] == 2
    with pytest.raises(ValueError, match="run must be one of"):
        get_profile("book").settings("no-such-run")
    from restorelib.core.scales import scale_settings
    with pytest.raises(ValueError, match="scale must be one of .* for 'joint'"):
        scale_settings("joint", "ablation")


def test_no_scale_table_outside_the_one_place():
    """No chapter module spells a ``{"ci": ..., "book": ...}`` size table of its own (one configuration place)."""
    import re
    from pathlib import Path
    import restorelib
    root = Path(restorelib.__file__).parent
    allowed = {"core/scales.py", "core/config.py", "core/flags.py", "search/record.py"}  # profiles, flag help, test sizes
    found = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if str(p.relative_to(root)) not in allowed and re.search(r"""["']ci["']\s*:""", p.read_text())]
    assert found == [], f"scale tables outside restorelib/core/scales.py: {found}"
