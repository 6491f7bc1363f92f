"""Label-free agents (chapter 8): the network, the PPO pieces, learning from a no-reference score, checkpoints,
the evaluate / restore method and the training script."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib import evaluate as E
from restorelib.labelfree.policy import (
    LabelFreeConfig, LabelFreeMethod, LabelFreeRestorer, PolicyNet, clipped_surrogate, group_advantages,
    load_label_free, save_label_free, train_label_free)
from restorelib.toolbox.tools import Toolbox

from standins import Shift, gen


def bright_toolbox() -> Toolbox:
    """Tool 0 brightens by 0.1, tool 1 darkens by 0.1, the other ten are identities (untrained tools)."""
    tb = Toolbox()
    tb.nets[0], tb.nets[1] = Shift(0.1), Shift(-0.1)
    return tb.eval()


def brightness_score(images: torch.Tensor) -> torch.Tensor:
    """A no-reference 'quality' that prefers a mean of 0.8 (the bank's is 0.45): three brightenings are best."""
    return -(images.mean(dim=(1, 2, 3)) - 0.8).abs() * 10


def bank(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, 63, 63, generator=gen(seed)) * 0.1 + 0.4


TINY = dict(iters=60, batch=4, group=4, epochs=2, lr=3e-3, log_every=20, spec="none", tool_cost=0.01,
            entropy_coef=0.0)


def test_policy_net_shapes_and_the_start_action():
    net = PolicyNet()
    logits, v = net(torch.rand(2, 3, 63, 63), torch.tensor([-1, 12]), torch.tensor([0, 2]))
    assert logits.shape == (2, 13) and v.shape == (2,)
    with pytest.raises(ValueError, match="image"):
        net(torch.rand(2, 3, 32, 32), torch.tensor([-1, 0]), torch.tensor([0, 0]))


def test_group_advantages_and_clipped_surrogate():
    r = torch.tensor([1.0, 3.0, 5.0, 5.0, 2.0, 2.0])
    a = group_advantages(r, 2)
    assert torch.allclose(a, torch.tensor([-1.0, 1.0, 0.0, 0.0, 0.0, 0.0]), atol=1e-5)
    lp = torch.log(torch.tensor([0.5, 0.5]))
    adv = torch.tensor([1.0, -1.0])
    assert clipped_surrogate(lp, lp, adv, 0.2).item() == pytest.approx(0.0)
    big = torch.log(torch.tensor([0.9, 0.9]))                        # rho = 1.8: the gain of A > 0 is clipped at 1.2
    assert clipped_surrogate(big, lp, adv, 0.2).item() == pytest.approx(-(1.2 - 1.8) / 2)
    with pytest.raises(ValueError, match="group"):
        LabelFreeConfig(group=1)
    with pytest.raises(ValueError, match="baseline"):
        LabelFreeConfig(baseline="critic")


@pytest.mark.parametrize("baseline", ["group", "value"])
def test_learns_the_tool_the_score_rewards_without_ground_truth(baseline):
    tb = bright_toolbox()
    cfg = LabelFreeConfig(**TINY, baseline=baseline)
    net, rec = train_label_free(tb, bank(), cfg, scorer=brightness_score)
    assert len(rec.iters) == 3 and rec.returns[-1] > rec.returns[0]
    out, chains = LabelFreeRestorer(net, cfg, tb).rollout(bank(4, 1))
    assert sum(c.count(tb.names[0]) for c in chains) >= 8 and all(tb.names[1] not in c for c in chains)


def test_checkpoint_method_and_cli(tmp_path, capsys):
    tb = bright_toolbox()
    cfg = LabelFreeConfig(**{**TINY, "iters": 4})
    net, rec = train_label_free(tb, bank(), cfg, scorer=brightness_score)
    folder = tmp_path / "lf"
    save_label_free(net, cfg, rec, folder, command="python scripts/train_label_free.py --scale ci", scale="ci")
    loaded, cfg2, record = load_label_free(folder)
    x = torch.rand(2, 3, 63, 63)
    step = torch.zeros(2, dtype=torch.long)
    assert cfg2 == cfg and torch.equal(net(x, step - 1, step)[0], loaded(x, step - 1, step)[0])
    assert record["curve"]["iters"] == [4] and "no-reference scorer" in (folder / "README.md").read_text()
    m = E.get_method(f"label-free:{folder}", "cpu", max_length=2)
    assert isinstance(m, LabelFreeMethod) and m.name == f"label-free:{folder}" and m.params > 0
    m.restorer.toolbox = tb
    r = E.evaluate(m, {"a": torch.rand(3, 70, 80, generator=gen(2))}, "noise:10", patch=63)
    assert r["tool_calls"] <= 2 and r["macs"] > 0
    whole = m.restore(torch.rand(1, 3, 70, 90))
    assert whole.images.shape == (1, 3, 70, 90) and whole.tool_calls[0] <= 2
    from restorelib.core import data as D
    from restorelib.cli import main
    D.save_image(torch.rand(3, 70, 90, generator=gen(4)), tmp_path / "in.png")
    assert main(["restore", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--method",
                 f"label-free:{folder}"]) == 0
    text = capsys.readouterr().out
    assert "patches of 63x63 vote" in text and "chain:" in text and (tmp_path / "out.png").is_file()
    data = bytearray((folder / "agent.pt").read_bytes())
    data[-10] ^= 0xFF
    (folder / "agent.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_label_free(folder)
    with pytest.raises(FileNotFoundError, match="agent must be"):
        E.get_method("label-free:nowhere", "cpu")
    with pytest.raises(ValueError, match="max_length"):
        E.get_method(f"label-free:{folder}", "cpu", max_length=0)


def test_restore_image_votes_and_reports_psnr():
    tb = bright_toolbox()
    cfg = LabelFreeConfig(**TINY)
    torch.manual_seed(0)
    net = PolicyNet().eval()                                         # untrained: the voting is what is tested
    img = torch.rand(3, 80, 130, generator=gen(3)) * 0.1 + 0.4
    res = LabelFreeRestorer(net, cfg, tb).restore_image(img, reference=img)
    assert len(res.psnr) == len(res.chain) + 1 and res.votes[0].sum() == 6      # 2 x 3 patches cover 80x130
    with pytest.raises(ValueError, match="image"):
        LabelFreeRestorer(net, cfg, tb).restore_image(img[None])


def test_train_label_free_script_ci(tmp_path):
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "agent"
    cmd = [sys.executable, str(root / "scripts" / "train_label_free.py"), "--scale", "ci", "--iters", "2",
           "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["command"].endswith("--scale ci --iters 2 --out " + str(out)) and record["config"]["iters"] == 2
    assert record["config"]["scorer"] == "neg-sigma" and len(record["curve"]["psnr_gain_db"]) == 1
    bad = subprocess.run(cmd[:2] + ["--scorer", "bogus"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--scorer" in bad.stderr


def test_get_label_free_trains_at_ci_scale_and_the_group_check():
    from restorelib.teaching import checks
    from restorelib.core import config
    from restorelib.labelfree.policy import SCALES, get_label_free
    tb = bright_toolbox()
    r, rec = get_label_free(config.get_profile("ci"), tb, bank(), "cpu")
    assert isinstance(r, LabelFreeRestorer) and rec["curve"]["iters"][-1] == SCALES["ci"].iters
    with pytest.raises(ValueError, match="bank"):
        get_label_free(config.get_profile("ci"), tb, None)
    assert "all 3 cases pass" in checks.check_group_advantages(group_advantages)
    with pytest.raises(AssertionError, match="within each group"):
        checks.check_group_advantages(lambda r, k: (r - r.mean()) / (r.std(unbiased=False) + 1e-6))


@pytest.mark.parametrize("baseline", ["group", "value"])
def test_train_label_free_resumes_from_its_checkpoint_to_the_same_agent(tmp_path, monkeypatch, baseline):
    import restorelib.labelfree.policy as L
    from restorelib.core.patches import CropSampler
    tb = bright_toolbox()
    sampler = CropSampler([torch.rand(3, 80, 90, generator=gen(9)) * 0.1 + 0.4], 63, scales=(1.0,))
    cfg = LabelFreeConfig(**{**TINY, "iters": 9, "batch": 2, "group": 2, "log_every": 2, "baseline": baseline})
    net_a, rec_a = train_label_free(tb, sampler, cfg, scorer=brightness_score)
    ck = tmp_path / "state.pt"
    real, calls = L.sample_chains, [0]

    def killed(*a, **k):                              # stopped in iteration 6, iteration 5 not logged yet
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(L, "sample_chains", killed)
    with pytest.raises(KeyboardInterrupt):
        train_label_free(tb, sampler, cfg, scorer=brightness_score, checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["it"] == 5 and len(saved["record"]["running"]["ret"]) == 1    # the running means travel
    net_b, rec_b = train_label_free(tb, sampler, cfg, scorer=brightness_score, checkpoint=ck)
    assert rec_b.iters == rec_a.iters and rec_b.returns == pytest.approx(rec_a.returns)
    assert rec_b.tool_calls == pytest.approx(rec_a.tool_calls)
    for k, v in net_a.state_dict().items():
        assert torch.allclose(v, net_b.state_dict()[k], atol=1e-6), k
    with pytest.raises(ValueError, match="configuration"):
        train_label_free(tb, sampler, LabelFreeConfig(**{**cfg.to_dict(), "clip": 0.3}), scorer=brightness_score,
                         checkpoint=ck)


def test_the_flat_chain_agents_differ_only_in_their_policy():
    """RL-Restore's and the label-free agent's restorers share one base: whole images, names and sizes are
    written once (issue 21); each gives its vote and its per-patch rollout."""
    from restorelib.labelfree.policy import LabelFreeRestorer
    from restorelib.rlrestore.restore import AgentRestorer, ChainRestorer
    for cls in (AgentRestorer, LabelFreeRestorer):
        assert issubclass(cls, ChainRestorer)
        assert {"restore_image", "action_name", "params"}.isdisjoint(vars(cls)), cls
        assert {"vote", "rollout"} <= set(vars(cls)), cls
