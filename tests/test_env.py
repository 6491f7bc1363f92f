"""RestoreEnv: batched reset/step, one tool call per distinct tool, the four rewards, stop, t_max, errors.

The toolboxes here have known behaviour: an untrained tool is exactly the identity (its last conv is zero), and
a few tools are replaced by simple stand-ins (scale, shift, blend) wrapped in a call counter.
"""
import pytest
import torch
import torch.nn as nn
from standins import Blend, Scale, Shift, gen

from restorelib.rlrestore.env import REWARDS, RestoreEnv
from restorelib.core.metrics import mse, psnr, ssim
from restorelib.toolbox.tools import Toolbox


class Counter(nn.Module):
    """Wrap a module and record the batch size of every call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x):
        self.calls.append(x.shape[0])
        return self.inner(x)




@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    return torch.rand(4, 3, 16, 16, generator=gen(1)) * 0.6 + 0.2


@pytest.fixture(scope="module")
def degraded(clean) -> torch.Tensor:
    return (clean + 0.15 * torch.randn(clean.shape, generator=gen(2))).clamp(0, 1)


@pytest.fixture
def box(clean) -> Toolbox:
    """Tool 0 halves the distance to the clean image of image 0, tool 1 adds 0.05, tool 2 scales by 0.9;
    the other nine are untrained (identity). Every tool is wrapped in a Counter."""
    tb = Toolbox()
    tb.nets[0] = Blend(clean[0], 0.5)
    tb.nets[1] = Shift(0.05)
    tb.nets[2] = Scale(0.9)
    for i in range(len(tb)):
        tb.nets[i] = Counter(tb.nets[i])
    return tb.eval()


def calls(tb: Toolbox) -> dict[int, list[int]]:
    return {i: net.calls for i, net in enumerate(tb.nets) if net.calls}


def reset_counts(tb: Toolbox) -> None:
    for net in tb.nets:
        net.calls.clear()


def test_untrained_tools_are_exactly_the_identity(degraded):
    tb = Toolbox()
    for i in range(len(tb)):
        assert torch.equal(tb.apply(degraded, i), degraded)


def test_reset_shapes_and_prev_action(box, degraded, clean):
    env = RestoreEnv(box)
    obs = env.reset(degraded, clean)
    assert obs.image.shape == (4, 3, 16, 16) and torch.equal(obs.image, degraded)
    assert obs.prev_action.shape == (4,) and obs.prev_action.dtype == torch.long
    assert (obs.prev_action == -1).all()
    assert env.n_actions == 13 and env.stop == 12
    assert not env.done.any() and (env.tool_calls == 0).all()
    assert torch.allclose(env.start_score, psnr(degraded, clean))


def test_step_groups_images_by_tool(box, degraded, clean):
    env = RestoreEnv(box)
    env.reset(degraded, clean)
    obs, reward, done, info = env.step(torch.tensor([0, 0, 1, env.stop]))
    assert calls(box) == {0: [2], 1: [1]}                      # tool 0 once on 2 images, tool 1 once on 1; stop: none
    expected = degraded.clone()
    expected[:2] = (degraded[:2] + 0.5 * (clean[0] - degraded[:2])).clamp(0, 1)
    expected[2] = (degraded[2] + 0.05).clamp(0, 1)
    assert torch.allclose(obs.image, expected, atol=1e-6)
    assert obs.prev_action.tolist() == [0, 0, 1, 12]
    assert done.tolist() == [False, False, False, True]
    assert info["active"].tolist() == [True] * 4
    assert env.tool_calls.tolist() == [1, 1, 1, 0]
    assert reward[3] == 0


def test_psnr_rewards_telescope_over_three_steps(box, degraded, clean):
    env = RestoreEnv(box, t_max=3, reward="psnr")
    env.reset(degraded, clean)
    total = torch.zeros(4)
    before = psnr(degraded, clean)
    for t, actions in enumerate(([0, 1, 2, 0], [1, 0, 0, 2], [0, 2, 1, 1])):
        obs, reward, done, _ = env.step(torch.tensor(actions))
        after = psnr(obs.image, clean)
        assert torch.allclose(reward, after - before, atol=1e-4)     # each reward is that step's gain
        before = after
        total += reward
        assert done.all() == (t == 2)
    assert torch.allclose(total, psnr(env.image, clean) - psnr(degraded, clean), atol=1e-4)
    assert (total.abs() > 1e-3).all()                                  # the tools really changed the images


def test_final_psnr_reward_only_at_the_end(box, degraded, clean):
    env = RestoreEnv(box, t_max=3, reward="final-psnr")
    env.reset(degraded, clean)
    for t in range(3):
        obs, reward, done, _ = env.step(torch.tensor([0, 0, 1, 2]))
        if t < 2:
            assert (reward == 0).all() and not done.any()
    gain = psnr(obs.image, clean) - psnr(degraded, clean)
    assert done.all()
    assert torch.allclose(reward, gain, atol=1e-4)
    assert reward[0] > 5                                               # three half-way blends toward the truth


def test_final_psnr_reward_for_an_early_stop(box, degraded, clean):
    env = RestoreEnv(box, t_max=3, reward="final-psnr")
    env.reset(degraded, clean)
    _, r1, _, _ = env.step(torch.tensor([0, 0, 0, 0]))
    _, r2, done, _ = env.step(torch.tensor([env.stop, 0, 0, 0]))
    assert (r1 == 0).all()
    assert done.tolist() == [True, False, False, False]
    assert r2[0] == pytest.approx((psnr(env.image[:1], clean[:1]) - psnr(degraded[:1], clean[:1])).item(), abs=1e-4)
    assert (r2[1:] == 0).all()


def test_final_mse_reward(box, degraded, clean):
    env = RestoreEnv(box, t_max=2, reward="final-mse")
    env.reset(degraded, clean)
    _, r1, _, _ = env.step(torch.tensor([0, 1, 2, 3]))
    obs, r2, done, _ = env.step(torch.tensor([0, 1, 2, 3]))
    assert (r1 == 0).all() and done.all()
    assert torch.allclose(r2, -mse(obs.image, clean) * 255**2, rtol=1e-5)
    assert (r2 < 0).all()


def test_ssim_reward_is_the_stepwise_ssim_gain(box, degraded, clean):
    env = RestoreEnv(box, t_max=2, reward="ssim")
    env.reset(degraded, clean)
    s0 = ssim(degraded, clean)
    obs1, r1, _, _ = env.step(torch.tensor([0, 1, 2, 0]))
    s1 = ssim(obs1.image, clean)
    obs2, r2, _, _ = env.step(torch.tensor([0, 0, 0, env.stop]))
    s2 = ssim(obs2.image, clean)
    assert torch.allclose(r1, s1 - s0, atol=1e-5)
    assert torch.allclose(r2[:3], (s2 - s1)[:3], atol=1e-5)
    assert r2[3] == 0
    assert r1[0] > 0.01                                                # blending toward the truth raises SSIM
    assert torch.allclose(r1 + r2, s2 - s0, atol=1e-5)


def test_stop_ends_the_episode_and_done_images_ignore_later_actions(box, degraded, clean):
    env = RestoreEnv(box, t_max=3)
    env.reset(degraded, clean)
    obs, reward, done, info = env.step(torch.tensor([env.stop, 0, 0, 0]))
    assert done.tolist() == [True, False, False, False] and reward[0] == 0
    assert calls(box) == {0: [3]}                                     # the stopping image was not processed
    assert torch.equal(obs.image[0], degraded[0])
    reset_counts(box)
    kept = obs.image[0].clone()
    obs, reward, done, info = env.step(torch.tensor([1, 1, 1, 1]))   # image 0 is done: its action is ignored
    assert info["active"].tolist() == [False, True, True, True]
    assert calls(box) == {1: [3]}
    assert torch.equal(obs.image[0], kept) and reward[0] == 0
    assert obs.prev_action.tolist() == [12, 1, 1, 1]                  # a done image keeps its last action
    assert env.tool_calls.tolist() == [0, 2, 2, 2]


def test_t_max_ends_episodes_and_later_steps_do_nothing(box, degraded, clean):
    env = RestoreEnv(box, t_max=2)
    env.reset(degraded, clean)
    _, _, done, _ = env.step(torch.tensor([1, 1, 1, 1]))
    assert not done.any()
    obs, _, done, _ = env.step(torch.tensor([1, 1, 1, 1]))
    assert done.all()
    assert env.tool_calls.tolist() == [2, 2, 2, 2]
    reset_counts(box)
    image = obs.image.clone()
    obs, reward, done, info = env.step(torch.tensor([0, 0, 0, 0]))
    assert calls(box) == {} and not info["active"].any()
    assert torch.equal(obs.image, image) and (reward == 0).all() and done.all()
    assert env.tool_calls.tolist() == [2, 2, 2, 2]


def test_end_if_worse_ends_only_the_images_that_fell_below_their_input(box, degraded, clean):
    env = RestoreEnv(box, t_max=3, end_if_worse=True)
    env.reset(degraded, clean)
    # tool 0 moves image 0 towards its clean image (better); tool 1 brightens by 0.05 (worse for these images)
    obs, reward, done, _ = env.step(torch.tensor([0, 1, 5, env.stop]))
    assert reward[0] > 0 and reward[1] < 0 and reward[2] == 0
    assert done.tolist() == [False, True, False, True]       # image 2 ran an identity tool: equal is not worse
    obs, reward, done, info = env.step(torch.tensor([1, 1, 1, 1]))
    assert info["active"].tolist() == [True, False, True, False] and done.tolist() == [False, True, True, True]
    plain = RestoreEnv(box, t_max=3)
    plain.reset(degraded, clean)
    assert plain.step(torch.tensor([0, 1, 5, plain.stop]))[2].tolist() == [False, False, False, True]


def test_tool_calls_count_per_image(box, degraded, clean):
    env = RestoreEnv(box, t_max=3)
    env.reset(degraded, clean)
    env.step(torch.tensor([0, env.stop, 5, 1]))
    env.step(torch.tensor([1, 0, env.stop, 1]))
    env.step(torch.tensor([2, 0, 0, env.stop]))
    assert env.tool_calls.tolist() == [3, 0, 1, 2]
    assert env.done.all()


def test_tool_subset_maps_actions(box, degraded, clean):
    env = RestoreEnv(box, tools=["noise-1", "jpeg-2"])
    assert env.n_actions == 3 and env.stop == 2
    assert [env.action_name(a) for a in range(3)] == ["noise-1", "jpeg-2", "stop"]
    env.reset(degraded, clean)
    env.step(torch.tensor([1, 1, 0, 2]))
    assert calls(box) == {box.index("jpeg-2"): [2], box.index("noise-1"): [1]}
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.tensor([3, 0, 0, 0]))
    with pytest.raises(ValueError, match="tool"):
        RestoreEnv(box, tools=["noise-9"])


def test_no_stop_action(box, degraded, clean):
    env = RestoreEnv(box, t_max=2, stop_action=False)
    assert env.n_actions == len(box) == 12 and env.stop is None
    assert env.action_name(11) == "jpeg-4"
    env.reset(degraded, clean)
    _, _, done, _ = env.step(torch.tensor([11, 11, 11, 11]))           # the last id is a tool, not stop
    assert not done.any() and env.tool_calls.tolist() == [1] * 4
    assert calls(box) == {11: [4]}
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.tensor([12, 0, 0, 0]))


def test_observation_is_a_copy(box, degraded, clean):
    env = RestoreEnv(box)
    obs = env.reset(degraded, clean)
    obs.image.zero_()
    obs.prev_action.fill_(7)
    assert torch.equal(env.image, degraded) and (env.prev_action == -1).all()
    obs, _, _, _ = env.step(torch.tensor([1, 1, 1, 1]))
    image = env.image.clone()
    obs.image.fill_(0.5)
    assert torch.equal(env.image, image)
    degraded_copy = degraded.clone()
    env.step(torch.tensor([1, 1, 1, 1]))
    assert torch.equal(degraded, degraded_copy)                        # the caller's input is never modified


def test_reset_restarts_the_episode(box, degraded, clean):
    env = RestoreEnv(box, t_max=1)
    env.reset(degraded, clean)
    env.step(torch.tensor([1, 1, 1, 1]))
    assert env.done.all()
    obs = env.reset(degraded[:2], clean[:2])
    assert obs.image.shape[0] == 2 and not env.done.any() and env.tool_calls.tolist() == [0, 0]
    assert (obs.prev_action == -1).all()


def test_errors(box, degraded, clean):
    env = RestoreEnv(box)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.tensor([0, 0, 0, 0]))
    env.reset(degraded, clean)
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.tensor([0, 0, 0]))
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.tensor([0, 0, 0, 13]))
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.tensor([0, -1, 0, 0]))
    for t_max in (0, -1, 2.5, "3"):
        with pytest.raises(ValueError, match="t_max"):
            RestoreEnv(box, t_max=t_max)
    with pytest.raises(ValueError, match="reward"):
        RestoreEnv(box, reward="l1")
    with pytest.raises(ValueError, match="shape"):
        env.reset(degraded, clean[:2])
    with pytest.raises(ValueError, match="shape"):
        env.reset(degraded[..., :8], clean)
    with pytest.raises(ValueError, match="channels"):
        env.reset(degraded[:, :2], clean[:, :2])
    with pytest.raises(ValueError, match="degraded"):
        env.reset(degraded + 2, clean)
    assert set(REWARDS) == {"psnr", "final-psnr", "final-mse", "ssim"}


# ----------------------------------------------------------------------------- chapter 8: no-reference reward
class CountingScorer:
    """Mean brightness as a no-reference score, recording the batch size of every call."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, images):
        self.calls.append(images.shape[0])
        return images.mean(dim=(1, 2, 3))


def test_nr_reward_is_the_score_gain_minus_the_tool_cost(box, degraded):
    scorer = CountingScorer()
    env = RestoreEnv(box, t_max=3, reward="nr", scorer=scorer, tool_cost=0.01)
    obs = env.reset(degraded)                                          # no ground truth
    assert scorer.calls == [4] and torch.allclose(env.start_score, degraded.mean(dim=(1, 2, 3)))
    before, total = degraded.mean(dim=(1, 2, 3)), torch.zeros(4)
    for actions in ([1, 2, env.stop, 1], [1, 1, 0, 2], [0, env.stop, 1, 1]):
        active = ~env.done
        obs, reward, done, _ = env.step(torch.tensor(actions))
        acting = active & (torch.tensor(actions) != env.stop)
        after = obs.image.mean(dim=(1, 2, 3))
        assert torch.allclose(reward, torch.where(acting, after - before - 0.01, torch.zeros(4)), atol=1e-6)
        before, total = after, total + reward
    assert scorer.calls == [4, 3, 3, 2]                                # only the images a tool changed are scored
    assert env.tool_calls.tolist() == [3, 2, 0, 3]
    assert torch.allclose(total, env.image.mean(dim=(1, 2, 3)) - degraded.mean(dim=(1, 2, 3))
                          - 0.01 * env.tool_calls, atol=1e-6)        # telescopes: total gain minus the calls' cost
    assert total[2] == 0                                               # stopped at once: no gain, no cost


def test_nr_reward_takes_a_registered_scorer_by_name(box, degraded, clean):
    from restorelib.core.quality import noise_sigma
    env = RestoreEnv(box, t_max=1, reward="nr", scorer="neg-sigma")
    env.reset(degraded, clean)                                         # clean is accepted and not needed
    obs, reward, _, _ = env.step(torch.tensor([0, 0, 0, 0]))
    assert torch.allclose(reward, noise_sigma(degraded) - noise_sigma(obs.image), atol=1e-4)
    assert reward[0] > 0                                               # blending toward the truth removes noise


def test_tool_cost_with_a_full_reference_reward(box, degraded, clean):
    env = RestoreEnv(box, t_max=2, reward="psnr", tool_cost=0.5)
    env.reset(degraded, clean)
    obs, reward, _, _ = env.step(torch.tensor([0, 1, env.stop, 2]))
    gain = psnr(obs.image, clean) - psnr(degraded, clean)
    assert torch.allclose(reward[[0, 1, 3]], gain[[0, 1, 3]] - 0.5, atol=1e-4)
    assert reward[2] == 0                                              # stop: no tool, no cost


def test_nr_errors(box, degraded, clean):
    with pytest.raises(ValueError, match="scorer"):
        RestoreEnv(box, reward="nr")
    with pytest.raises(ValueError, match="scorer"):
        RestoreEnv(box, reward="psnr", scorer=lambda x: x.mean(dim=(1, 2, 3)))
    with pytest.raises(ValueError, match="scorer must be one of"):
        RestoreEnv(box, reward="nr", scorer="no-such-scorer")
    for cost in (float("nan"), "1", True, None):
        with pytest.raises(ValueError, match="tool_cost"):
            RestoreEnv(box, tool_cost=cost)
    with pytest.raises(ValueError, match="clean"):
        RestoreEnv(box, reward="psnr").reset(degraded)
    env = RestoreEnv(box, reward="nr", scorer=lambda x: x.mean(dim=(2, 3)))      # (N, 3): not one score per image
    with pytest.raises(ValueError, match="scorer must return one score per image"):
        env.reset(degraded)
    with pytest.raises(ValueError, match="clean"):
        RestoreEnv(box, reward="nr", scorer=lambda x: x.mean(dim=(1, 2, 3))).reset(degraded, clean[:2])
