"""Long runs at the gpu and paper scales: the checkpoint folder, the progress bar's estimate, and the chapters' entry
points, which resume a stopped run and reuse a finished one."""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from restorelib.joint import baselines
from restorelib.rlrestore import dqn
from restorelib.labelfree import policy as label_free
from restorelib.core import long_runs, resume
from restorelib.hirl import hirl as hirl
from restorelib.joint import joint as joint
from restorelib.pixelrl import a2c as pixelrl
from restorelib.rlrestore.nets import RLRestoreNet
from restorelib.core.config import cache_dir, get_profile
from restorelib.core.long_runs import Progress, checkpoint_dir, duration, fingerprint, run_checkpoint, run_kwargs
from restorelib.toolbox.tools import Toolbox

from standins import gen


# ----------------------------------------------------------------------------- the folder and the file names
def test_checkpoint_dir_is_the_readers_folder_or_the_cache(monkeypatch, tmp_path):
    assert checkpoint_dir() == cache_dir() / "checkpoints"
    monkeypatch.setenv("RESTORELIB_CHECKPOINTS", str(tmp_path / "drive"))
    assert checkpoint_dir() == tmp_path / "drive"


def test_run_checkpoint_only_at_long_run_scales(monkeypatch, tmp_path):
    monkeypatch.setenv("RESTORELIB_CHECKPOINTS", str(tmp_path))
    assert run_checkpoint(get_profile("ci"), "dqn", {"steps": 3}) is None
    assert run_checkpoint(get_profile("book"), "dqn", {"steps": 3}) is None
    a = run_checkpoint(get_profile("gpu"), "dqn", {"steps": 3})
    assert a.parent == tmp_path / "gpu" and a.name.startswith("dqn-") and a.suffix == ".pt"
    assert run_checkpoint(get_profile("gpu"), "dqn", {"steps": 3}) == a          # the same run, the same file
    assert run_checkpoint(get_profile("gpu"), "dqn", {"steps": 4}) != a          # another setting, another run
    assert run_checkpoint(get_profile("paper"), "dqn", {"steps": 3}).parent == tmp_path / "paper"
    assert run_kwargs(get_profile("ci"), "dqn", {"steps": 3}, torch.zeros(2))["checkpoint"] is None
    for bad in ("", "a/b", 3):
        with pytest.raises(ValueError, match="name"):
            run_checkpoint(get_profile("gpu"), bad, {})


def test_fingerprint_follows_the_inputs():
    box = Toolbox()
    bank = torch.rand(100, 3, 8, 8, generator=gen(0))
    assert fingerprint(box, bank) == fingerprint(copy.deepcopy(box), bank.clone())
    assert fingerprint(box, bank) != fingerprint(box, bank[:99])
    box0 = copy.deepcopy(box)
    with torch.no_grad():
        next(box.parameters()).add_(1e-3)
    assert fingerprint(box, bank) != fingerprint(box0, bank)


# ----------------------------------------------------------------------------- the estimate
def test_duration_in_words():
    assert [duration(s) for s in (45, 720, 64_516, 7 * 86_400)] == ["45 s", "12 min", "18 h", "7.0 days"]
    assert duration(5 * 3600) == "5.0 h"


def test_estimate_line_from_the_first_steps():
    lines: list[str] = []
    bar = Progress("paper scale", 2_000_000, desc="DQN steps", write=lines.append)
    bar.n = 31 * 60
    assert bar.estimate(60.0) == "paper scale: 2,000,000 DQN steps at 31/s ≈ 18 h in all (speed of the first 60 s)"
    resumed = Progress(True, 1000, initial=400, desc="steps", write=lines.append)
    resumed.n = 500
    assert resumed.estimate(10.0) == "1,000 steps at 10/s ≈ 2 min in all, 50 s left (speed of the first 10 s)"
    bar.close(), resumed.close()


def test_progress_writes_the_estimate_once(monkeypatch):
    monkeypatch.setattr(long_runs, "ESTIMATE_AFTER", 0.0)
    lines: list[str] = []
    bar = Progress("gpu scale", 10, desc="steps", write=lines.append)
    for i in range(1, 11):
        bar.update_to(i)
    bar.close()
    assert len(lines) == 1 and lines[0].startswith("gpu scale: 10 steps at ")
    quiet = Progress(False, 10, write=lines.append)
    quiet.update_to(5)
    quiet.close()
    assert len(lines) == 1 and quiet.bar is None


def test_progress_bar_where_someone_watches(monkeypatch, capsys):
    """Text on stderr in a terminal or test; a widget in a live notebook; nothing in a kernel nobody watches (a book
    build, whose page would otherwise hold a dead ipywidgets view, as chapter 6's CLI cell once did)."""
    monkeypatch.setenv("RESTORELIB_WIDGETS", "0")
    for _ in long_runs.progress_bar(range(3), desc="text bar"):
        pass
    assert "text bar" in capsys.readouterr().err

    class OutStream:                          # what ipykernel puts in sys.stderr
        def write(self, s):
            raise AssertionError(f"a book build's kernel got {s!r}")

        def flush(self):
            pass
    OutStream.__module__ = "ipykernel.iostream"
    monkeypatch.setattr("sys.stderr", OutStream())
    bar = long_runs.progress_bar(range(3), desc="unwatched")
    assert bar.disable and list(bar) == [0, 1, 2]
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("RESTORELIB_WIDGETS", "1")
    from tqdm.notebook import tqdm as notebook_tqdm
    live = long_runs.progress_bar(total=3, desc="live")
    assert isinstance(live, notebook_tqdm)
    live.close()


# ----------------------------------------------------------------------------- the chapters' runs resume
def _toolbox() -> Toolbox:
    box = Toolbox()
    with torch.no_grad():                                    # tools that do something, so that rewards differ
        for net in box.nets:
            (net.conv3 if hasattr(net, "conv3") else net.tail).bias.fill_(0.02)
    return box.eval()


def _bank(channels: int = 3, size: int = 63, n: int = 12) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=gen(3))


def _hirl_toolbox() -> Toolbox:
    from restorelib.hirl.tools import hirl_toolbox
    box = hirl_toolbox(trained=False)
    with torch.no_grad():
        for net in box.nets:
            (net.conv3 if hasattr(net, "conv3") else net.tail).bias.fill_(0.02)
    return box


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# each: (module whose SCALES get a tiny "gpu" entry, its ci config, run(profile) -> the trained module)
def _dqn(profile):
    return dqn.get_agent("rl-restore", profile, _toolbox(), _bank())[0]


def _hirl(profile):
    from restorelib.hirl.restore import get_hirl
    return get_hirl(profile, _hirl_toolbox(), _bank())[0].agent


def _joint(profile):
    from restorelib.rlrestore.restore import AgentRestorer
    torch.manual_seed(0)
    agent = AgentRestorer(RLRestoreNet(), dqn.DQNConfig(), _toolbox())
    return joint.get_joint_toolbox(profile, agent, _bank())[0]


def _baseline(profile):
    torch.manual_seed(0)                                     # the network is drawn before the trainer seeds
    return baselines.get_baseline("vdsr-s", profile, _bank())[0]


def _pixelrl(profile):
    from restorelib.pixelrl.method import get_pixelrl
    return get_pixelrl(profile, _bank(1, 32), "noise:25")[0]


def _label_free(profile):
    return label_free.get_label_free(profile, _toolbox(), _bank())[0].net


ENTRY_POINTS = {"dqn": (dqn, _dqn), "hirl": (hirl, _hirl), "joint": (joint, _joint),
                "baseline": (baselines, _baseline), "pixelrl": (pixelrl, _pixelrl),
                "label-free": (label_free, _label_free)}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_chapter_run_resumes_after_a_stop_and_reuses_a_finished_run(name, monkeypatch, tmp_path):
    module, run = ENTRY_POINTS[name]
    ci = module.SCALES["ci"]
    length = next(f for f in ("iters", "episodes", "steps") if hasattr(ci, f))
    tiny = ci if name == "dqn" else replace(ci, **{length: max(getattr(ci, length), 4)})   # a stop in mid-run
    tiny = replace(tiny, batch=2, crop=24) if name == "baseline" else tiny                # VDSR-s: seconds a step
    monkeypatch.setitem(module.SCALES, "ci", tiny)
    monkeypatch.setitem(module.SCALES, "gpu", tiny)                 # the gpu path, at CI size
    if name == "dqn":
        monkeypatch.setitem(module.SCALES, "ablation-gpu", tiny)
    monkeypatch.setenv("RESTORELIB_CHECKPOINTS", str(tmp_path))
    monkeypatch.setitem(long_runs.CHECKPOINT_EVERY, "gpu", 1e-9)    # a state after every step
    straight = _weights(run(get_profile("ci")))                    # no checkpoint at CI scale
    assert not any(tmp_path.rglob("*.pt"))
    real, saves = resume.Checkpointer.save, [0]

    def stopped(self, state):                                      # the session dies after the third saved state
        real(self, state)
        saves[0] += 1
        if saves[0] == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(resume.Checkpointer, "save", stopped)
    with pytest.raises(KeyboardInterrupt):
        run(get_profile("gpu"))
    monkeypatch.setattr(resume.Checkpointer, "save", real)
    (state,) = (tmp_path / "gpu").glob("*.pt")
    again = _weights(run(get_profile("gpu")))                      # the chapter run again: it continues
    for k, v in straight.items():
        assert torch.allclose(v.float(), again[k].float(), atol=1e-5), k

    def no_training(*a, **k):
        raise AssertionError("a finished run must not train again")
    monkeypatch.setattr(torch.optim.Adam, "step", no_training)
    reused = _weights(run(get_profile("gpu")))                     # and once more: the finished run, at once
    assert all(torch.equal(v, reused[k]) for k, v in again.items())
    assert [p.name for p in (tmp_path / "gpu").glob("*.pt")] == [state.name]
