"""Restoring with a trained agent (chapter 4): tiling, patch voting, the rl-restore method, saved agents."""
from dataclasses import replace

import pytest
import torch

from restorelib.rlrestore import dqn
from restorelib.rlrestore.nets import RLRestoreNet
from restorelib.evaluate import evaluate, get_method
from restorelib.rlrestore.restore import AgentMethod, AgentRestorer, apply_tiled, patch_grid, tool_usage
from restorelib.toolbox.tools import Toolbox

from standins import Blend, gen


def forced_net(action: int, n_tools: int = 12, stop: bool = True) -> RLRestoreNet:
    """A Q-network that always prefers ``action``: zero head weights, a one-hot bias."""
    net = RLRestoreNet(n_tools, n_tools + int(stop))
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
        net.head.bias[action] = 1.0
    return net.eval()


def blend_box(target: float = 0.5) -> Toolbox:
    box = Toolbox()
    box.nets = torch.nn.ModuleList(Blend(target, w=0.1 * (i + 1) / 12) for i in range(len(box)))
    return box


def random_tool(depth_index: int) -> torch.nn.Module:
    net = Toolbox().nets[depth_index]
    torch.manual_seed(0)
    for p in net.parameters():                          # untrained tools are the identity: give them real weights
        torch.nn.init.normal_(p, std=0.05)
    return net.eval()


@pytest.mark.parametrize("tool", [0, 2])                # a 3-layer and an 8-layer tool
def test_apply_tiled_equals_the_whole_image(tool):
    net = random_tool(tool)
    x = torch.rand(1, 3, 100, 90, generator=gen(0))
    with torch.no_grad():
        whole = net(x)
    tiled = apply_tiled(net, x, tile=32)
    assert tiled.shape == whole.shape
    assert torch.allclose(tiled, whole, atol=1e-5)
    with pytest.raises(ValueError, match="tile"):
        apply_tiled(net, x, tile=4)


def test_patch_grid_covers_every_pixel():
    for h, w in ((63, 63), (100, 130), (200, 64)):
        cover = torch.zeros(h, w, dtype=torch.long)
        for y, x in patch_grid(h, w):
            assert 0 <= y <= h - 63 and 0 <= x <= w - 63
            cover[y:y + 63, x:x + 63] += 1
        assert (cover > 0).all()
    assert patch_grid(63, 63) == [(0, 0)]


def test_rollout_follows_the_q_values_and_stops():
    cfg = dqn.DQNConfig()
    x = torch.rand(5, 3, 63, 63, generator=gen(1))
    out, chains, actions = AgentRestorer(forced_net(4), cfg, blend_box()).rollout(x)
    assert chains == [["noise-1"] * 3] * 5 and actions.shape == (3, 5) and (actions == 4).all()
    assert not torch.equal(out, x)
    out, chains, actions = AgentRestorer(forced_net(12), cfg, blend_box()).rollout(x)
    assert chains == [[]] * 5 and torch.equal(out, x) and actions.tolist() == [[12] * 5]
    # a 6-tool agent maps its action ids to the toolbox's tools
    six = replace(cfg, tools=dqn.SIX_TOOLS)
    _, chains, _ = AgentRestorer(forced_net(2, n_tools=6), six, blend_box()).rollout(x[:1], t_max=2)
    assert chains == [["noise-2", "noise-2"]]
    with pytest.raises(ValueError, match="tool inputs"):
        AgentRestorer(forced_net(2, n_tools=6), cfg, blend_box())
    with pytest.raises(ValueError, match="patches"):
        AgentRestorer(forced_net(4), cfg, blend_box()).rollout(torch.rand(2, 1, 63, 63))


def test_restore_image_votes_tiles_and_reports_psnr():
    box = blend_box()
    r = AgentRestorer(forced_net(7), dqn.DQNConfig(), box)
    img, ref = torch.rand(3, 130, 150, generator=gen(2)), torch.full((3, 130, 150), 0.5)
    res = r.restore_image(img, reference=ref, tile=64)
    assert res.chain == ["noise-4"] * 3 and len(res.votes) == 3
    assert all(int(v[7]) == len(patch_grid(130, 150)) == int(v.sum()) for v in res.votes)
    assert len(res.psnr) == 4 and res.psnr[0] < res.psnr[1] < res.psnr[2] < res.psnr[3]  # blends toward ref
    expected = box.run_chain(img[None], [7, 7, 7])[-1][0]
    assert torch.allclose(res.image, expected, atol=1e-6)
    small = r.restore_image(torch.rand(3, 40, 50, generator=gen(3)), t_max=1)  # smaller than one patch
    assert small.image.shape == (3, 40, 50) and small.chain == ["noise-4"]
    stop = AgentRestorer(forced_net(12), dqn.DQNConfig(), box).restore_image(img)
    assert stop.chain == [] and torch.equal(stop.image, img)


def test_tool_usage_normalises_each_step_over_running_patches():
    actions = torch.tensor([[0, 0, 12, 3], [1, 1, -1, 12], [2, -1, -1, -1]])
    u = tool_usage(actions, 13)
    assert u.shape == (3, 13) and torch.allclose(u.sum(1), torch.ones(3))
    assert u[0, 0] == 0.5 and u[1, 12] == pytest.approx(1 / 3) and u[2, 2] == 1.0


def test_saved_agent_loads_with_its_config_and_runs_as_a_method(tmp_path):
    cfg = replace(dqn.DQNConfig(), t_max=2, tools=dqn.SIX_TOOLS)
    dqn.save_agent(forced_net(1, n_tools=6), cfg, dqn.TrainRecord(seconds=1.0), tmp_path / "a",
                   command="test", scale="ci")
    net, got = dqn.load_agent(tmp_path / "a")
    assert got == cfg and net.n_tools == 6
    assert "test" in (tmp_path / "a" / "README.md").read_text()
    m = get_method(f"rl-restore:{tmp_path / 'a'}")
    assert isinstance(m, AgentMethod) and m.params > sum(p.numel() for p in net.parameters())
    images = {"a": torch.rand(3, 70, 80, generator=gen(4)), "b": torch.rand(3, 70, 80, generator=gen(5))}
    res = evaluate(m, images, "moderate", patch=63, seed=0)
    assert res["tool_calls"] == 2 and all(r["chain"] == ["blur-4", "blur-4"] for r in res["per_image"])
    assert res["macs"] > 2 * m.restorer.toolbox.macs("blur-4") > 0
    whole = evaluate(m, images, "mild", seed=0)                 # whole images: patch voting
    assert whole["tool_calls"] == 2
    data = (tmp_path / "a" / "agent.pt").read_bytes()
    (tmp_path / "a" / "agent.pt").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="sha256"):
        dqn.load_agent(tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="record.json"):
        dqn.load_agent("no-such-agent")


def test_ablation_names_and_configs_agree():
    for name, change in dqn.ABLATIONS.items():
        assert dqn.ablation_name(replace(dqn.SCALES["ablation"], **change)) == name
        cfg = dqn.agent_config(name, "book")
        assert cfg.steps == dqn.SCALES["ablation"].steps
        assert dqn.agent_config(name, "ci").steps == dqn.SCALES["ci"].steps
    assert dqn.agent_config("rl-restore", "book") == dqn.SCALES["book"]
    with pytest.raises(ValueError, match="name"):
        dqn.agent_config("ablation-nope", "book")
    with pytest.raises(ValueError, match="scale"):
        dqn.agent_config("rl-restore", "huge")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_agents_take_any_float_dtype(dtype):
    """float64 or float16 images are converted for the float32 networks instead of a raw dtype error."""
    restorer = AgentRestorer(forced_net(4), dqn.DQNConfig(t_max=1), blend_box())
    x = torch.rand(2, 3, 63, 63, generator=gen(3))
    out, chains, _ = restorer.rollout(x.to(dtype))
    ref, _, _ = restorer.rollout(x.to(dtype).float())
    assert chains == [["noise-1"]] * 2 and torch.allclose(out, ref)
    res = restorer.restore_image(torch.rand(3, 70, 80, generator=gen(4)).to(dtype))
    assert res.chain == ["noise-1"] and res.image.dtype == torch.float32
