"""Joint training of the tools (chapter 5, RL-Restore's Algorithm 1): the counter-averaged gradients, the update."""
import pytest
import torch
import torch.nn as nn

from restorelib.joint.joint import JointConfig, joint_step, train_joint
from restorelib.toolbox.tools import Toolbox

from standins import gen


class Bias(nn.Module):
    """A tool that adds one learnable number."""

    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.b


def bias_box() -> Toolbox:
    tb = Toolbox()
    for i in range(len(tb)):
        tb.nets[i] = Bias()
    return tb


def test_each_tool_gets_the_mean_gradient_of_the_patches_that_used_it():
    tb = bias_box()
    a, b, c = tb.names[0], tb.names[1], tb.names[2]
    x = torch.full((3, 3, 8, 8), 0.5)
    clean = torch.stack([torch.full((3, 8, 8), v) for v in (0.6, 0.7, 0.4)])
    chains = [[a], [b, a], []]                      # patch 3 stops at once: no gradient from it
    opt = torch.optim.SGD(tb.parameters(), lr=1.0)
    loss, uses = joint_step(tb, opt, x, clean, chains)
    assert uses == {a: 2, b: 1}
    # d/db of mean((x + b_a (+ b_b) - clean)^2) at b = 0 is 2 * (x - clean): -0.2 and -0.4 for the two patches
    assert tb.nets[0].b.item() == pytest.approx(-(-0.2 - 0.4) / 2)      # the mean over its 2 patches, not the sum
    assert tb.nets[1].b.item() == pytest.approx(0.4)
    assert tb.nets[2].b.item() == 0.0 and tb.nets[2].b.grad is None    # unused: untouched
    assert loss == pytest.approx((0.1 ** 2 + 0.2 ** 2) / 2)
    with pytest.raises(ValueError, match="one chain per patch"):
        joint_step(tb, opt, x, clean, chains[:2])


def test_a_tool_applied_twice_counts_twice_as_in_algorithm_1():
    tb = bias_box()
    a = tb.names[0]
    x, clean = torch.full((1, 3, 8, 8), 0.5), torch.full((1, 3, 8, 8), 0.6)
    loss, uses = joint_step(tb, torch.optim.SGD(tb.parameters(), lr=1.0), x, clean, [[a, a]])
    assert uses == {a: 2}
    # both applications send 2 * (0.5 - 0.6) = -0.2; summed (-0.4) and divided by the counter (2): -0.2
    assert tb.nets[0].b.item() == pytest.approx(0.2)


def test_the_chain_is_clipped_as_at_test_time_with_the_gradient_let_through():
    tb = bias_box()
    a, b = tb.names[0], tb.names[1]
    with torch.no_grad():
        tb.nets[0].b.fill_(1.2)                    # tool a overshoots: 0.5 + 1.2 = 1.7, beyond what a tool accepts
    x, clean = torch.full((1, 3, 8, 8), 0.5), torch.full((1, 3, 8, 8), 0.6)
    loss, uses = joint_step(tb, torch.optim.SGD(tb.parameters(), lr=1.0), x, clean, [[a, b]])
    # b sees the clipped 1.0 (as the evaluation would), so the loss is (1.0 - 0.6)^2; the gradient 2 * 0.4 reaches
    # both tools through the straight-through clamp (a plain clamp would give a none)
    assert loss == pytest.approx(0.4 ** 2) and uses == {a: 1, b: 1}
    assert tb.nets[0].b.item() == pytest.approx(1.2 - 0.8) and tb.nets[1].b.item() == pytest.approx(-0.8)


def test_without_the_counter_every_tool_takes_the_plain_batch_mean():
    tb = bias_box()
    a, b = tb.names[0], tb.names[1]
    x = torch.full((3, 3, 8, 8), 0.5)
    clean = torch.stack([torch.full((3, 8, 8), v) for v in (0.6, 0.7, 0.4)])
    _, uses = joint_step(tb, torch.optim.SGD(tb.parameters(), lr=1.0), x, clean, [[a], [b, a], []], counter=False)
    assert uses == {a: 2, b: 1}
    # the same summed gradients as above, divided by the 2 patches that had a chain, whatever tool they used
    assert tb.nets[0].b.item() == pytest.approx(0.6 / 2)
    assert tb.nets[1].b.item() == pytest.approx(0.4 / 2)            # with the counter: 0.4


def test_train_joint_lowers_the_end_of_chain_error():
    tb = bias_box()
    bank = torch.rand(8, 3, 63, 63, generator=gen(0)) * 0.5 + 0.25
    first = tb.names[0]
    cfg = JointConfig(steps=30, batch=4, lr=0.01, spec="none", log_every=10)

    def brighten_then_chain(degraded):               # a fixed "agent": always the first tool
        return [[first]] * len(degraded)

    with torch.no_grad():
        tb.nets[0].b.fill_(0.1)                      # the tool starts wrong by +0.1 on clean inputs
    rec = train_joint(tb, brighten_then_chain, bank, cfg)
    assert rec.losses[-1] < rec.losses[0] and abs(tb.nets[0].b.item()) < 0.05
    assert rec.uses == {first: 30 * 4} and rec.psnr_gain[-1] > rec.psnr_gain[0]
    with pytest.raises(ValueError, match="steps"):
        JointConfig(steps=0)


def test_train_joint_script_writes_a_loadable_toolbox_and_record(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "joint"
    cmd = [sys.executable, str(root / "scripts" / "train_joint.py"), "--scale", "ci", "--steps", "2", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["config"]["steps"] == 2 and record["agent"] == "rl-restore" and sum(record["uses"].values()) > 0
    assert len(Toolbox.load(out)) == 12 and "Algorithm 1" in (out / "README.md").read_text()
    same = subprocess.run(cmd[:2] + ["--tools", str(out), "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert same.returncode == 2 and "--out must differ" in same.stderr


def test_train_joint_resumes_from_its_checkpoint_to_the_same_tools(tmp_path, monkeypatch):
    import restorelib.joint.joint as J
    from restorelib.core.patches import CropSampler
    sampler = CropSampler([torch.rand(3, 80, 90, generator=gen(3)) * 0.5 + 0.25], 63, scales=(1.0,))
    cfg = JointConfig(steps=8, batch=3, lr=0.01, spec="noise:10", log_every=3)
    names = bias_box().names

    def chooser(degraded):                           # a fixed "agent" whose chains depend on the patch
        return [[names[i % 3]] * (1 + i % 2) if i % 4 else [] for i in range(len(degraded))]

    straight = bias_box()
    rec_a = train_joint(straight, chooser, sampler, cfg)
    ck = tmp_path / "state.pt"
    real, calls = J.degrade, [0]

    def killed(*a, **k):                             # the run is stopped in its 5th step
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(J, "degrade", killed)
    with pytest.raises(KeyboardInterrupt):
        train_joint(bias_box(), chooser, sampler, cfg, checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert saved["loop"]["step"] == 4 and sum(saved["record"]["uses"].values()) > 0
    again = bias_box()
    rec_b = train_joint(again, chooser, sampler, cfg, checkpoint=ck)
    assert rec_b.uses == rec_a.uses and rec_b.steps == rec_a.steps and rec_b.losses == pytest.approx(rec_a.losses)
    for k, v in straight.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k
    with pytest.raises(ValueError, match="configuration"):
        train_joint(bias_box(), chooser, sampler, JointConfig(**{**cfg.to_dict(), "counter": False}), checkpoint=ck)
