"""HIRL (chapter 6): toolset, hirl-* specs, networks, learning rules, training, inference, checkpoints, method."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from restorelib import evaluate as E
from restorelib.core.degradations import HIRL_MIXTURES, degrade, hirl_blur_sigma, parse_spec
from restorelib.hirl.hirl import (
    SCALES, HirlAgent, HirlConfig, HirlQNet, HirlRecord, TransitionMemory, choose, hirl_epsilon, hirl_targets,
    mixture_degrader, train_hirl)
from restorelib.hirl.restore import HirlMethod, HirlRestorer, hirl_factory, load_hirl, save_hirl
from restorelib.hirl.tools import HIRL_TOOL_NAMES, HIRL_TOOLS, TYPES, hirl_toolbox, tool_index, type_degree
from restorelib.core.metrics import psnr
from restorelib.toolbox.tools import LargeTool, SmallTool, Toolbox, ToolSpec

from standins import Shift, gen

HELPER = 5                                   # (type 1, degree 2): the one stand-in tool that helps


class Checker(nn.Module):
    """Add a +-a checkerboard: information no tool of the test can remove again (every use hurts for good)."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, x):
        yy, xx = torch.meshgrid(torch.arange(x.shape[-2]), torch.arange(x.shape[-1]), indexing="ij")
        return x + self.a * (((yy + xx) % 2) * 2 - 1).to(x)


def standin_toolbox() -> Toolbox:
    """HIRL's 9 tools replaced: tool 5 undoes the test's brightening exactly, the 8 others add checkerboards."""
    tb = Toolbox(HIRL_TOOLS)
    amps = [0.04, 0.06, 0.08, 0.1, 0.05, None, 0.07, 0.09, 0.12]
    for i, a in enumerate(amps):
        tb.nets[i] = Shift(-0.1) if a is None else Checker(a)
    return tb.eval()


def brighten(clean: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """The test's degradation: +0.1 brightness and white noise of sigma 0.03 (clean values lie in [0.3, 0.6])."""
    return (clean + 0.1 + 0.03 * torch.randn(clean.shape, generator=g)).clamp(0, 1)


def flat_bank(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 63, 63, generator=gen(seed)) * 0.3 + 0.3


def fixed_agent(type_bias: list[float], degree_bias: list[list[float]]) -> HirlAgent:
    """An agent whose T and D ignore the image: constant values given by the heads' biases."""
    agent = HirlAgent()
    with torch.no_grad():
        for net, bias in ((agent.type_net, type_bias), (agent.degree_net, sum(degree_bias, []))):
            net.head.weight.zero_()
            net.head.bias.copy_(torch.tensor(bias))
    return agent.eval()


TINY = dict(steps=120, env_batch=4, max_len=2, eps_every=24, memory=200, t_batch=8, t_start=16, target_every=10,
            lr=1e-3, arch="slim")


# ----------------------------------------------------------------------------- the toolset and the specs
def test_toolset_types_degrees_and_index():
    assert len(HIRL_TOOLS) == 9 and TYPES == ("denoise", "dejpeg", "deblur")
    levels = {"noise": [15, 25, 35], "jpeg": [30, 20, 10], "blur": [hirl_blur_sigma(k) for k in (5, 10, 15)]}
    for t, kind in enumerate(("noise", "jpeg", "blur")):
        for d in range(3):
            i = tool_index(t, d)
            assert i == 3 * t + d and type_degree(i) == (t, d)
            spec = HIRL_TOOLS[i]
            assert spec.distortion == kind and spec.low < levels[kind][d] < spec.high     # narrow, around the level
            assert spec.high - spec.low <= (5 if kind == "noise" else 6 if kind == "jpeg" else 0.5)
    assert [s.depth for s in HIRL_TOOLS] == [3, 8, 8, 3, 8, 8, 3, 3, 8]
    box = hirl_toolbox(trained=False)
    assert tuple(box.names) == HIRL_TOOL_NAMES and box.index("deblur-15") == 8
    assert isinstance(box.nets[6], SmallTool) and isinstance(box.nets[8], LargeTool)
    for bad, call in (("tool_type", lambda: tool_index(-1, 0)), ("degree", lambda: tool_index(0, 3)),
                      ("index", lambda: type_degree(-2))):
        with pytest.raises(ValueError, match=bad):
            call()


def test_hirl_toolbox_refuses_other_tools(tmp_path):
    Toolbox((ToolSpec("a", "noise", 0, 1, 3),)).save(tmp_path)
    with pytest.raises(ValueError, match="folder"):
        hirl_toolbox(tmp_path)


@pytest.mark.parametrize("name,levels", [("hirl-mild", {"blur": 1.0, "noise": 15.0, "jpeg": 30.0}),
                                         ("hirl-moderate", {"blur": 2.0, "noise": 25.0, "jpeg": 20.0}),
                                         ("hirl-severe", {"blur": 3.0, "noise": 35.0, "jpeg": 10.0})])
def test_hirl_specs_levels_and_determinism(name, levels):
    assert parse_spec(name.upper()).text == name and name in HIRL_MIXTURES
    x = flat_bank(2, 0)
    y, lv = degrade(x, name, gen(1))
    assert lv == [levels, levels] and list(lv[0]) == ["blur", "noise", "jpeg"]      # blur -> noise -> JPEG
    assert torch.equal(y, degrade(x, name, gen(1))[0]) and not torch.equal(y, degrade(x, name, gen(2))[0])


def test_mixture_degrader_draws_among_the_specs():
    x = flat_bank(12, 1)
    fn = mixture_degrader(["noise:0", "blur:3"])                       # identity or a clearly visible blur
    y = fn(x, gen(0))
    blurred = [not torch.allclose(a, b, atol=1e-6) for a, b in zip(y, x)]
    assert 0 < sum(blurred) < 12 and torch.equal(y, fn(x, gen(0)))
    with pytest.raises(ValueError, match="spec"):
        mixture_degrader(["nonsense"])


# ----------------------------------------------------------------------------- networks and learning rules
def test_networks_shapes_and_sizes():
    agent = HirlAgent()
    t, d = agent(torch.rand(2, 3, 63, 63))
    assert t.shape == (2, 3) and d.shape == (2, 3, 3)
    assert 60_000 < sum(p.numel() for p in agent.type_net.parameters()) < 120_000
    assert HirlQNet(3)(torch.rand(1, 3, 100, 80)).shape == (1, 3)                     # global pooling: any size
    big = HirlQNet(9, "resnet18")
    assert sum(p.numel() for p in big.parameters()) > 10_000_000 and big(torch.rand(1, 3, 63, 63)).shape == (1, 9)
    with pytest.raises(ValueError, match="x must"):
        agent(torch.rand(2, 1, 63, 63))
    with pytest.raises(ValueError, match="arch"):
        HirlQNet(3, "resnet50")


def test_epsilon_schedule():
    eps = [hirl_epsilon(s, every=10) for s in (0, 9, 10, 19, 20, 30, 40, 49, 50, 10_000)]
    assert eps == [0.5, 0.5, 0.4, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]
    with pytest.raises(ValueError, match="every"):
        hirl_epsilon(0, every=0)


def test_td_targets_of_d_and_t():
    d_next = torch.tensor([[[1.0, 2.0, -1.0], [0.5, 4.0, 0.0], [-3.0, 0.0, 1.0]],      # max over all 9: 4
                           [[-1.0, -2.0, -0.5], [-4.0, -3.0, -2.0], [-1.5, -0.7, -9.0]]])  # all negative
    r = torch.tensor([0.5, 2.0])
    y = hirl_targets(d_next, r, gamma=0.9, stop_floor=False)
    assert torch.allclose(y, torch.tensor([0.5 + 0.9 * 4.0, 2.0 + 0.9 * -0.5]))
    assert torch.allclose(hirl_targets(d_next, r, gamma=0.9), torch.tensor([0.5 + 3.6, 2.0]))   # stopping worth 0
    assert torch.allclose(hirl_targets(d_next, r, 0.9, dones=torch.tensor([True, False]), stop_floor=False),
                          torch.tensor([0.5, 2.0 - 0.45]))
    t_next = torch.tensor([[0.2, -1.0, 3.0], [-0.1, -0.2, -0.3]])
    assert torch.allclose(hirl_targets(t_next, torch.tensor([-1.0, 1.0]), 0.9, stop_floor=False),
                          torch.tensor([-1.0 + 2.7, 1.0 - 0.09]))


def test_choose_greedy_type_then_degree():
    agent = fixed_agent([0.0, 2.0, 1.0], [[9.0, 0, 0], [0, 0.5, 3.0], [0, 0, 0]])     # D's overall max is in type 0
    t, d, v = choose(agent, torch.rand(3, 3, 63, 63))
    assert t.tolist() == [1] * 3 and d.tolist() == [2] * 3 and torch.allclose(v, torch.tensor(3.0))
    t, d, _ = choose(agent, torch.full((600, 3, 16, 16), 0.5), eps=0.5, generator=gen(0))
    assert 0.55 < (t == 1).float().mean() < 0.78            # 1 - eps + eps / 3 = 0.67 greedy


def test_transition_memory_wraps_and_stores_uint8():
    mem = TransitionMemory(capacity=5)
    s = torch.rand(3, 3, 63, 63)
    for k in range(3):
        mem.add(s, torch.full((3,), k), torch.zeros(3, dtype=torch.long), torch.full((3,), float(k)), s,
                torch.zeros(3, dtype=torch.bool))
    assert mem.size == 5 and mem.pos == 4 and mem.s.dtype == torch.uint8
    b = mem.sample(50, gen(0))
    assert set(b["t"].tolist()) == {1, 2} and torch.equal(b["t"].float(), b["r"])         # oldest overwritten
    assert torch.allclose(mem.s[0].float() / 255, (s[2] * 255).round() / 255)            # slot 0: 2nd batch's 3rd
    assert (b["s"] - b["s2"]).abs().max() == 0 and b["s"].dtype == torch.float32


# ----------------------------------------------------------------------------- training and inference
def test_training_learns_the_helping_tool_then_stops():
    tb = standin_toolbox()
    agent, rec = train_hirl(tb, flat_bank(64, 0), HirlConfig(**TINY), device="cpu", degrader=brighten)
    assert rec.steps[-1] == 120 and rec.eps[-1] == 0.1 and rec.seconds > 0
    clean = flat_bank(32, 1)
    out, chains, calls = HirlRestorer(agent, HirlConfig(**TINY), tb).rollout(brighten(clean, gen(2)), max_len=3)
    counts = Counter(tuple(c) for c in chains)
    assert counts[(HIRL_TOOL_NAMES[HELPER],)] >= 30, counts           # type 1 then degree 2, once, then stop
    assert calls.float().mean() < 1.1


def test_rollout_stops_when_no_value_is_positive():
    tb = standin_toolbox()
    x = brighten(flat_bank(4, 2), gen(3))
    cfg = HirlConfig(**TINY)
    out, chains, calls = HirlRestorer(fixed_agent([-1.0] * 3, [[-0.5] * 3] * 3), cfg, tb).rollout(x, 5)
    assert torch.equal(out, x) and chains == [[]] * 4 and calls.tolist() == [0] * 4
    pos = fixed_agent([0.0, 1.0, 0.0], [[0.0] * 3, [0.0, 0.0, 0.3], [0.0] * 3])      # always tool 5, never stops
    out, chains, calls = HirlRestorer(pos, cfg, tb).rollout(x, 3)
    assert calls.tolist() == [3] * 4 and chains[0] == [HIRL_TOOL_NAMES[HELPER]] * 3
    assert torch.allclose(out, (x - 0.3).clamp(0, 1), atol=1e-6)
    with pytest.raises(ValueError, match="max_len"):
        HirlRestorer(pos, cfg, tb).rollout(x, -1)


def test_restore_image_votes_type_then_degree():
    tb = standin_toolbox()
    cfg = HirlConfig(**TINY)
    img = brighten(torch.rand(1, 3, 80, 130, generator=gen(4)) * 0.3 + 0.3, gen(5))[0]
    r = HirlRestorer(fixed_agent([0.0, 1.0, 0.0], [[0.0] * 3, [0.0, 0.0, 0.3], [0.0] * 3]), cfg, tb)
    res = r.restore_image(img, max_len=2, reference=img)
    assert res.chain == [HIRL_TOOL_NAMES[HELPER]] * 2 and len(res.psnr) == 3
    assert torch.allclose(res.image, (img - 0.2).clamp(0, 1), atol=1e-6)
    assert res.votes[0].tolist() == [0, 6, 0, 0]                      # 2 x 3 patches of 63x63 cover 80x130
    stop = HirlRestorer(fixed_agent([0.0, 1.0, 0.0], [[-1.0] * 3] * 3), cfg, tb).restore_image(img[:, :40, :50])
    assert stop.chain == [] and stop.votes[0].tolist() == [0, 0, 0, 1] and torch.equal(stop.image, img[:, :40, :50])


# ----------------------------------------------------------------------------- checkpoints and the method
def saved_agent(tmp_path, agent: HirlAgent | None = None):
    tools = tmp_path / "tools"
    Toolbox(HIRL_TOOLS).save(tools)                  # untrained tools: identities
    rec = HirlRecord(steps=[10], returns=[0.5], eps=[0.5], loss_d=[1.0], loss_t=[2.0], seconds=3.0)
    folder = tmp_path / "agent"
    save_hirl(agent or fixed_agent([0.0, 1.0, 0.0], [[0.0] * 3, [0.0, 0.0, 0.3], [0.0] * 3]),
              HirlConfig(**TINY), rec, folder, command="python scripts/train_hirl.py --part agent --scale ci",
              scale="ci", toolbox_dir=tools)
    return folder


def test_save_load_roundtrip_and_sha256(tmp_path):
    torch.manual_seed(0)
    agent = HirlAgent().eval()
    folder = saved_agent(tmp_path, agent)
    record = json.loads((folder / "record.json").read_text())
    assert record["config"]["gamma"] == 0.9 and record["toolbox"] == str((tmp_path / "tools").resolve())
    assert record["toolbox_sha256"] and record["curve"]["loss_t"] == [2.0] and "--scale ci" in record["command"]
    assert record["command"] in (folder / "README.md").read_text()
    loaded, cfg, _ = load_hirl(folder)
    x = torch.rand(2, 3, 63, 63)
    assert cfg == HirlConfig(**TINY)
    assert all(torch.equal(a, b) for a, b in zip(agent(x), loaded(x)))
    data = bytearray((folder / "agent.pt").read_bytes())
    data[-10] ^= 0xFF
    (folder / "agent.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_hirl(folder)
    with pytest.raises(FileNotFoundError, match="agent must be"):
        load_hirl(tmp_path / "nowhere")


def test_hirl_method_registers_and_evaluates(tmp_path, monkeypatch):
    folder = saved_agent(tmp_path)
    from restorelib.core import method as M
    monkeypatch.setattr(M, "_METHODS", dict(M._METHODS))
    E.register_method("hirl", hirl_factory, "HIRL's hierarchical agent (chapter 6)")
    method = E.get_method(f"hirl:{folder}", "cpu", max_length=2, budget=7, seed=0)
    assert isinstance(method, HirlMethod) and method.name.endswith("(L=2)") and method.params > 0
    images = {"a": torch.rand(3, 70, 90, generator=gen(6)), "b": torch.rand(3, 64, 64, generator=gen(7))}
    res = E.evaluate(method, images, "hirl-mild", patch=63, patches_per_image=2)
    assert res["tool_calls"] == 2 and res["trials"] == 2                    # always tool 5, never stops
    assert all(row["chain"] == ["dejpeg-10"] * 2 for row in res["per_image"])
    whole = method.restore(torch.rand(1, 3, 70, 90))
    assert whole.chains == [["dejpeg-10"] * 2] and whole.macs[0] > 0
    with pytest.raises(ValueError, match="max_length"):
        E.get_method(f"hirl:{folder}", "cpu", max_length=0)
    manifest = tmp_path / "tools" / "manifest.json"
    manifest.write_text(manifest.read_text() + " ")                      # the tools changed after training
    with pytest.warns(UserWarning, match="retrain"):
        HirlRestorer.load(folder)


def test_bad_arguments_name_the_argument():
    for field, value in (("gamma", 1.0), ("steps", 0), ("arch", "vgg"), ("loss", "l1"), ("specs", ["x:1"]),
                         ("tools", ["a", "b"]), ("eps_every", 0)):
        with pytest.raises(ValueError, match=field if field != "specs" else "spec"):
            HirlConfig(**{field: value})
    tb = standin_toolbox()
    with pytest.raises(ValueError, match="bank"):
        train_hirl(tb, torch.rand(4, 3, 32, 32), HirlConfig(**TINY))
    with pytest.raises(ValueError, match="reward"):
        train_hirl(tb, flat_bank(4, 0), HirlConfig(**TINY), reward="bogus")
    with pytest.raises(ValueError, match="toolbox"):
        train_hirl(Toolbox(), flat_bank(4, 0), HirlConfig(**TINY))
    assert SCALES["paper"].arch == "resnet18" and SCALES["paper"].memory == 100 and SCALES["paper"].t_batch == 30
    assert SCALES["paper"].target_every == 30 and all(c.gamma == 0.9 and c.eps_start == 0.5 for c in SCALES.values())


def test_train_hirl_script_agent_part(tmp_path):
    root = Path(__file__).resolve().parents[1]
    Toolbox(HIRL_TOOLS).save(tmp_path / "tools")
    out = tmp_path / "agent"
    cmd = [sys.executable, str(root / "scripts" / "train_hirl.py"), "--part", "agent", "--scale", "ci", "--steps", "6",
           "--tools", str(tmp_path / "tools"), "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"].startswith("python scripts/train_hirl.py --part agent --scale ci --steps 6")
    assert record["config"]["steps"] == 6 and record["curve"]["steps"][-1] == 6 and record["train_patches"] > 1000
    assert HirlRestorer.load(out).params > 0 and "HIRL agent" in (out / "README.md").read_text()


# ----------------------------------------------------------------------------- chapter 6's experiments
def test_equal_trials_brute_force_against_hirl():
    from restorelib.hirl.restore import equal_trials
    from restorelib.search.chains import brute_force
    tb = standin_toolbox()
    clean = flat_bank(3, 8)
    x = brighten(clean, gen(9))
    r = HirlRestorer(fixed_agent([0.0, 1.0, 0.0], [[0.0] * 3, [0.0, 0.0, 0.3], [0.0] * 3]), HirlConfig(**TINY), tb)
    out = equal_trials(r, x, clean, lengths=(1, 2))
    assert out["trials"] == [9, 90] and out["hirl_trials"] == [1.0, 2.0]
    base = psnr(x, clean)
    for k, n in enumerate((1, 2)):
        expected = (brute_force(tb, x, clean, n).psnr - base).mean().item()
        assert out["brute_force_db"][k] == pytest.approx(expected, abs=1e-5)
        assert out["hirl_db"][k] == pytest.approx((psnr((x - 0.1 * n).clamp(0, 1), clean) - base).mean().item(),
                                                  abs=1e-5)
    assert len(out["brute_force_patch_db"]) == 2 and len(out["brute_force_patch_db"][0]) == 3
    # one helpful tool: a second step cannot help brute force (it may stop), while the agent applies it twice
    assert out["brute_force_db"][0] > 0 and out["brute_force_db"][1] == pytest.approx(out["brute_force_db"][0])


def test_degraded_patches_are_seeded_one_per_image():
    from restorelib.hirl.restore import degraded_patches
    images = {"a": torch.rand(3, 80, 90, generator=gen(1)), "b": torch.rand(3, 70, 70, generator=gen(2))}
    d1, c1, lv = degraded_patches(images, "hirl-moderate", seed=3)
    d2, c2, _ = degraded_patches(images, "hirl-moderate", seed=3)
    assert d1.shape == (2, 3, 63, 63) and torch.equal(d1, d2) and torch.equal(c1, c2)
    assert lv[0] == {"blur": hirl_blur_sigma(10), "noise": 25.0, "jpeg": 20.0}


def test_get_hirl_trains_at_ci_scale_and_loads_when_shipped(tmp_path, monkeypatch):
    from restorelib.core import config
    from restorelib.hirl import restore as HR
    from restorelib.hirl.restore import get_hirl
    tb = standin_toolbox()
    r, rec = get_hirl(config.get_profile("ci"), tb, flat_bank(8, 1))
    assert isinstance(r, HirlRestorer) and rec["curve"]["steps"][-1] == SCALES["ci"].steps and rec["seconds"] > 0
    with pytest.raises(ValueError, match="bank"):
        get_hirl(config.get_profile("ci"), tb, None)
    folder = saved_agent(tmp_path)
    monkeypatch.setattr(HR, "AGENTS_DIR", folder.parent)
    loaded, rec = get_hirl(config.get_profile("book"), tb, None, name=folder.name)
    assert loaded.toolbox is not tb and rec["scale"] == "ci"           # the tools recorded beside the agent


def test_search_methods_take_hirl_tools(tmp_path, monkeypatch):
    from restorelib.hirl import tools as hirl_tools
    Toolbox(HIRL_TOOLS).save(tmp_path / "tools")
    monkeypatch.setattr(hirl_tools, "HIRL_TOOLS_DIR", tmp_path / "tools")
    m = E.get_method("brute-force:hirl", "cpu", max_length=2, budget=20)
    assert m.toolbox.names == list(HIRL_TOOL_NAMES) and m.name == "brute-force(L=2)[9 tools][budget 20]"
    res = E.evaluate(m, {"a": torch.rand(3, 64, 64, generator=gen(1))}, "hirl-mild", patch=63)
    assert res["trials"] == 20
    assert E.get_method(f"greedy:{tmp_path / 'tools'}", "cpu").toolbox.names == list(HIRL_TOOL_NAMES)
    with pytest.raises(ValueError, match="KIND:TOOLS"):
        E.get_method("reverse:nowhere", "cpu")


def test_restore_cli_prints_the_hirl_chain(tmp_path, monkeypatch, capsys):
    from restorelib.core import data
    from restorelib.cli import main
    folder = saved_agent(tmp_path)
    img = tmp_path / "in.png"
    data.save_image(torch.rand(3, 70, 90, generator=gen(2)), img)
    assert main(["restore", str(img), "-o", str(tmp_path / "out.png"), "--method", f"hirl:{folder}",
                 "--max-length", "2"]) == 0
    text = capsys.readouterr().out
    assert "step 1: dejpeg-10" in text and "step 2: dejpeg-10" in text and "(4/4 votes)" in text
    assert (tmp_path / "out.png").is_file()


def test_hierarchical_tool_and_its_check():
    from restorelib.teaching import checks
    from restorelib.hirl.hirl import hierarchical_tool
    tv = torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, 2.0]])
    dv = torch.tensor([[[0.1, 0.3, 0.2], [0, 0, 0], [0.9, 0, 0]], [[5.0, 0, 0], [0, 0, 0], [0, 0.1, 0.2]]])
    assert hierarchical_tool(tv, dv).tolist() == [1, 8]
    assert "all 3 cases pass" in checks.check_hierarchical_tool(hierarchical_tool)
    with pytest.raises(AssertionError, match="degree within the type"):
        checks.check_hierarchical_tool(lambda t, d: d.flatten(1).argmax(1))


def test_equal_trials_same_budget_is_the_mean_over_tool_orders():
    import itertools

    from restorelib.hirl.restore import equal_trials
    tb = standin_toolbox()
    clean = flat_bank(2, 10)
    x = brighten(clean, gen(11))
    r = HirlRestorer(fixed_agent([0.0, 1.0, 0.0], [[0.0] * 3, [0.0, 0.0, 0.3], [0.0] * 3]), HirlConfig(**TINY), tb)
    out = equal_trials(r, x, clean, lengths=(1, 2))
    base = psnr(x, clean)
    ones = [psnr(tb.apply(x, i), clean) - base for i in range(9)]
    for k, n in enumerate((1, 2)):           # the best of every n-subset (or stopping), averaged over the subsets
        subsets = list(itertools.combinations(range(9), n))
        mean = sum(torch.stack([ones[i] for i in s]).max(dim=0).values.clamp_min(0) for s in subsets) / len(subsets)
        assert out["brute_force_same_budget_db"][k] == pytest.approx(mean.mean().item(), abs=1e-5)
    assert out["brute_force_same_budget_db"][1] > out["brute_force_same_budget_db"][0] > 0


def test_eval_hirl_script_writes_results_and_card(tmp_path):
    root = Path(__file__).resolve().parents[1]
    folder = saved_agent(tmp_path)
    cmd = [sys.executable, str(root / "scripts" / "eval_hirl.py"), "--agent", str(folder), "--set", "embedded-test",
           "--equal-trials", "1", "--lengths", "1", "2"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    test = json.loads((folder / "record.json").read_text())["test"]
    assert set(test["results"]) == {*HIRL_MIXTURES, "hirl-awgn", "hirl-jpeg", "hirl-blur"}
    assert test["results"]["hirl-mild"]["tool_calls"] == 2                # the fixed agent never stops (L=2)
    e = test["equal_trials"]
    assert e["trials"] == [9, 90] and e["patches"] == 1 and e["hirl_trials"] == [1.0, 2.0]
    card = (folder / "README.md").read_text()
    assert "| hirl-blur |" in card and "| brute force trials | 9 | 90 |" in card
    bad = subprocess.run(cmd[:2] + ["--agent", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--agent" in bad.stderr


def test_train_hirl_resumes_from_its_checkpoint_to_the_same_agent(tmp_path, monkeypatch):
    import restorelib.hirl.hirl as H
    from restorelib.core.patches import CropSampler
    tb = standin_toolbox()
    sampler = CropSampler([torch.rand(3, 80, 90, generator=gen(4)) * 0.3 + 0.3], 63, scales=(1.0,))
    cfg = HirlConfig(**{**TINY, "steps": 30, "env_batch": 3, "max_len": 3, "memory": 20, "t_start": 6,
                        "target_every": 4})
    val = (brighten(flat_bank(4, 5), gen(6)), flat_bank(4, 5))
    kw = dict(device="cpu", degrader=brighten, val=val, log_every=6)
    straight, rec_a = train_hirl(tb, sampler, cfg, **kw)
    ck = tmp_path / "state.pt"
    real, calls = H.choose, [0]

    def killed(agent, x, eps=0.0, *a, **k):          # stopped in the middle of the 4th episode (its 2nd step)
        calls[0] += eps > 0                          # count the training steps' choices, not validation's (eps 0)
        if calls[0] == 11:
            raise KeyboardInterrupt
        return real(agent, x, eps, *a, **k)
    monkeypatch.setattr(H, "choose", killed)
    with pytest.raises(KeyboardInterrupt):
        train_hirl(tb, sampler, cfg, checkpoint=ck, checkpoint_every=1e-9, **kw)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["step"] == 9 and saved["parts"]["memory"]["size"] == 20      # the memory has wrapped
    again, rec_b = train_hirl(tb, sampler, cfg, checkpoint=ck, **kw)
    assert rec_b.steps == rec_a.steps and rec_b.returns == pytest.approx(rec_a.returns)
    assert rec_b.loss_t == pytest.approx(rec_a.loss_t) and rec_b.val_gain == pytest.approx(rec_a.val_gain)
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, again.state_dict()[k], atol=1e-6), k
    with pytest.raises(ValueError, match="configuration"):
        train_hirl(tb, sampler, replace(cfg, gamma=0.8), checkpoint=ck, **kw)
    with pytest.raises(ValueError, match="CropSampler"):
        train_hirl(tb, CropSampler([torch.rand(3, 40, 40)], 32, scales=(1.0,)), cfg, **kw)
