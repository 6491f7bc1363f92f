"""RL-Restore's Q-network and the deep-Q learner (chapter 4 groundwork)."""
import pytest
import torch

from restorelib.rlrestore import dqn
from restorelib.rlrestore.nets import RLRestoreNet, epsilon, td_targets
from restorelib.rlrestore.restore import AgentRestorer
from restorelib.toolbox.tools import Toolbox


def test_network_size_and_shapes():
    net = RLRestoreNet()
    # the authors' 87,863 plus the 200 of PyTorch's second LSTM bias vector
    assert sum(p.numel() for p in net.parameters()) == 87_863 + 200
    q, (h, c) = net(torch.rand(2, 3, 63, 63), torch.tensor([-1, 3]))
    assert q.shape == (2, 13) and h.shape == (2, 50)
    seq = net.forward_sequence(torch.rand(3, 2, 3, 63, 63), torch.tensor([[-1, -1], [3, 12], [5, 0]]))
    assert seq.shape == (3, 2, 13)
    with pytest.raises(ValueError, match="image"):
        net(torch.rand(2, 3, 32, 32), torch.tensor([-1, -1]))


def test_sequence_matches_stepwise_forward():
    torch.manual_seed(0)
    net = RLRestoreNet().eval()
    imgs, prev = torch.rand(3, 2, 3, 63, 63), torch.tensor([[-1, -1], [4, 7], [12, 2]])
    state, qs = None, []
    for t in range(3):
        q, state = net(imgs[t], prev[t], state)
        qs.append(q)
    assert torch.allclose(torch.stack(qs), net.forward_sequence(imgs, prev), atol=1e-6)


def test_previous_action_one_hot_ignores_start_and_stop():
    net = RLRestoreNet()
    f = net.features(torch.rand(3, 3, 63, 63), torch.tensor([-1, 12, 5]))
    onehot = f[:, 32:]
    assert onehot[0].sum() == 0 and onehot[1].sum() == 0 and onehot[2, 5] == 1 and onehot[2].sum() == 1


def test_epsilon_schedule_and_td_targets():
    assert epsilon(0) == 1.0 and epsilon(500_000) == pytest.approx(0.55) and epsilon(5_000_000) == pytest.approx(0.1)
    q_next = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    y = td_targets(q_next, torch.tensor([0.5, -1.0]), torch.tensor([False, True]), gamma=0.9)
    assert torch.allclose(y, torch.tensor([0.5 + 0.9 * 3.0, -1.0]))


def test_double_dqn_targets_let_the_online_network_choose():
    q_target = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    q_online = torch.tensor([[5.0, 0.0], [0.0, 1.0]])         # picks action 0, then 1: the target values them 1, 0
    y = td_targets(q_target, torch.tensor([0.5, 0.5]), torch.tensor([False, False]), 0.9, q_next_online=q_online)
    assert torch.allclose(y, torch.tensor([0.5 + 0.9 * 1.0, 0.5 + 0.9 * 0.0]))
    y = td_targets(q_target, torch.tensor([0.5, -1.0]), torch.tensor([False, True]), 0.9, q_next_online=q_target)
    assert torch.allclose(y, torch.tensor([0.5 + 0.9 * 3.0, -1.0]))   # online == target: plain DQN


def test_double_dqn_loss_equals_plain_when_online_and_target_agree():
    torch.manual_seed(0)
    net = RLRestoreNet()
    batch = {"images": torch.rand(2, 4, 3, 63, 63), "prev": torch.tensor([[-1, 0, 1, 1], [-1, 2, 2, 2]]),
             "actions": torch.tensor([[0, 1, 3], [2, 5, 0]]), "rewards": torch.rand(2, 3),
             "dones": torch.tensor([[False, False, True], [False, True, True]]), "lengths": torch.tensor([3, 2])}
    plain = dqn.dqn_loss(net, net, batch, gamma=0.99)
    double = dqn.dqn_loss(net, net, batch, gamma=0.99, double=True)
    assert torch.allclose(plain, double, atol=1e-6)
    other = RLRestoreNet()
    assert not torch.allclose(dqn.dqn_loss(net, other, batch, 0.99), dqn.dqn_loss(net, other, batch, 0.99, True))
    dqn.dqn_loss(net, other, batch, 0.99, True).backward()
    assert net.head.weight.grad.abs().sum() > 0 and other.head.weight.grad is None


def test_episode_memory_roundtrip():
    mem = dqn.EpisodeMemory(capacity=2, t_max=3)
    imgs = torch.rand(4, 3, 63, 63)
    for k in range(3):                                     # wraps around: capacity 2
        mem.add(imgs, torch.tensor([-1, k, 1, 1]), torch.tensor([k, 1, 0]), torch.tensor([0.5, 0, 0]),
                torch.tensor([False, True, True]), length=2)
    assert mem.size == 2 and mem.pos == 1
    b = mem.sample(4, torch.Generator().manual_seed(0))
    assert b["images"].shape == (4, 4, 3, 63, 63)
    assert torch.allclose(b["images"], (imgs * 255).round()[None].expand(4, -1, -1, -1, -1) / 255, atol=1e-6)
    assert set(b["actions"][:, 0].tolist()) <= {1, 2}      # episode 0 was overwritten


def test_dqn_loss_backpropagates_through_whole_episodes():
    net = RLRestoreNet()
    batch = {"images": torch.rand(2, 4, 3, 63, 63), "prev": torch.tensor([[-1, 0, 1, 1], [-1, 2, 2, 2]]),
             "actions": torch.tensor([[0, 1, 0], [2, 12, 0]]), "rewards": torch.zeros(2, 3),
             "dones": torch.tensor([[False, True, True], [False, True, True]]), "lengths": torch.tensor([2, 2])}
    loss = dqn.dqn_loss(net, net, batch, gamma=0.99)
    assert loss.item() > 0                                  # random Q-values are not yet consistent
    loss.backward()
    assert net.head.weight.grad is not None and net.head.weight.grad.abs().sum() > 0


def test_train_dqn_runs_and_learns_to_stop_on_a_hurting_toolbox():
    # every tool darkens the image: the best policy is to stop at once; the agent must find it
    class Darken(torch.nn.Module):                          # a cheap stand-in tool: the test is about the learner
        def forward(self, x):
            return x - 0.2

    box = Toolbox()
    box.nets = torch.nn.ModuleList(Darken() for _ in box.specs)
    bank = torch.rand(16, 3, 63, 63, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    cfg = dqn.DQNConfig(steps=600, env_batch=16, batch_episodes=16, memory=200, learn_start=32, train_every=2,
                        target_every=48, lr=3e-3, lr_min=1e-3, eps_decay=250, group="mild")
    net, rec = dqn.train_dqn(box, bank, cfg, log_every=500)
    assert rec.steps and rec.seconds > 0
    _, chains, actions = AgentRestorer(net, cfg, box).rollout(bank[:8])
    assert sum(len(c) for c in chains) <= 2                  # (almost) always stops immediately
    assert (actions[0] == 12).sum() >= 6
    with pytest.raises(ValueError, match="bank"):
        dqn.train_dqn(box, torch.rand(2, 3, 32, 32), cfg)


def test_train_dqn_continues_from_an_initial_agent():
    box = Toolbox()                                         # untrained tools are the identity: cheap and harmless
    bank = torch.rand(8, 3, 63, 63, generator=torch.Generator().manual_seed(0))
    init = RLRestoreNet()
    with torch.no_grad():
        init.head.bias.fill_(0.5)
    cfg = dqn.DQNConfig(steps=20, env_batch=4, batch_episodes=4, memory=50, learn_start=1000, group="mild")
    net, _ = dqn.train_dqn(box, bank, cfg, init=init)       # learning never starts: the weights stay the init's
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), init.state_dict().values()))
    with pytest.raises(ValueError, match="init"):
        dqn.train_dqn(box, bank, cfg, init=RLRestoreNet(6, 7))


class _Recorder:
    """A callback with state, as the validator of scripts/train_agent.py: its state travels with the checkpoint."""

    def __init__(self):
        self.seen = []

    def __call__(self, steps, net):
        self.seen.append(steps)

    def state_dict(self):
        return {"seen": list(self.seen)}

    def load_state_dict(self, state):
        self.seen = list(state["seen"])


@pytest.mark.parametrize("amp", [False, True])
def test_train_dqn_resumes_from_its_checkpoint_to_the_same_agent(tmp_path, monkeypatch, amp):
    from restorelib.core.patches import CropSampler
    box = Toolbox()
    with torch.no_grad():                                   # tools that do something (so rewards differ)
        for net in box.nets:
            last = net.conv3 if hasattr(net, "conv3") else net.tail
            last.bias.fill_(0.02)
    sampler = CropSampler([torch.rand(3, 80, 90, generator=torch.Generator().manual_seed(1))], 63, scales=(1.0,))
    cfg = dqn.DQNConfig(steps=96, env_batch=4, batch_episodes=4, memory=40, learn_start=8, train_every=4,
                        target_every=16, lr=1e-3, eps_decay=48, group="mild", amp=amp)
    torch.manual_seed(0)
    straight, rec_a = dqn.train_dqn(box, sampler, cfg, log_every=24, callback=(cb_a := _Recorder()))
    ck = tmp_path / "state.pt"
    real, calls = dqn._rollout, [0]

    def killed(*a, **k):                                    # the run is stopped in its 5th rollout
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(dqn, "_rollout", killed)
    with pytest.raises(KeyboardInterrupt):
        dqn.train_dqn(box, sampler, cfg, log_every=24, callback=_Recorder(), checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    saved = torch.load(ck, weights_only=True)
    assert 0 < saved["loop"]["steps"] < cfg.steps and saved["memory"]["size"] > 0
    again, rec_b = dqn.train_dqn(box, sampler, cfg, log_every=24, callback=(cb_b := _Recorder()), checkpoint=ck)
    assert rec_b.steps == rec_a.steps and rec_b.returns == pytest.approx(rec_a.returns)
    assert cb_b.seen == cb_a.seen                           # the callback's state came back with the run
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, again.state_dict()[k], atol=1e-6), k
    with pytest.raises(ValueError, match="configuration"):
        dqn.train_dqn(box, sampler, dqn.DQNConfig(**{**cfg.to_dict(), "lr": 5e-4}), checkpoint=ck)
    with pytest.raises(ValueError, match="CropSampler"):
        dqn.train_dqn(box, CropSampler([torch.rand(3, 40, 40)], 32, scales=(1.0,)), cfg)


def test_shipped_train400_agent_and_variant_records_are_complete():
    import json

    from restorelib.core.config import weights_dir
    net, cfg = dqn.load_agent("rl-restore-train400")              # sha256-checked, weights_only
    assert net.n_actions == 13 and not cfg.double and not cfg.end_if_worse
    folder = weights_dir() / "agents"
    records = {"rl-restore-train400": json.loads((folder / "rl-restore-train400" / "record.json").read_text()),
               **json.loads((folder / "variants.json").read_text())}
    assert set(records) == {"rl-restore-train400", "rl-restore-first", "agent-dd-end", "agent-t400",
                            "agent-t400-finetune", "agent-t400-seed1"}
    for name, r in records.items():
        assert r["command"].startswith("python scripts/train_agent.py --scale book"), name
        assert set(r["test"]["groups"]) == {"mild", "moderate", "severe"} and r["test"]["images"] == 68, name
        if name == "rl-restore-first":                  # trained without validation: its last step was kept
            assert "validation" not in r and "--val-set" not in r["command"]
            continue
        v = r["validation"]
        best = max(range(len(v["psnr"])), key=v["psnr"].__getitem__)
        assert v["set"] == "LIVE1" and v["kept_step"] == v["steps"][best]
    assert records["rl-restore-train400"]["train_sets"] == ["embedded-train", "Train400"]
    # the shipped agent replaced rl-restore-first on the paired test (scripts/compare_agents.py)
    shipped = json.loads((folder / "rl-restore" / "record.json").read_text())
    assert shipped["sha256"] != records["rl-restore-first"]["sha256"] and shipped["train_sets"] == ["CBSD398"]
    assert shipped["test"]["tools"].startswith("the shipped toolbox")
    assert records["agent-t400-seed1"]["config"]["seed"] == 1
    assert records["agent-t400-finetune"]["init_from"]["sha256"] == records["rl-restore-train400"]["sha256"]
    # chapter 4 compares the variants only with tests made with the same tools: the first toolbox's
    first = {n: r.get("test_first_toolbox", r["test"]) for n, r in records.items()}
    assert all(t["tools"].startswith("the first toolbox") for t in first.values())
    assert first["rl-restore-train400"]["images"] == 68
    assert "shipped toolbox" in records["rl-restore-train400"]["test"]["tools"]
