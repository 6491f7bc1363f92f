"""The toolchain explorer: the session's steps, undo and agent, the static figure and the widgets."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from restorelib.teaching.explorer import ToolchainSession, toolchain_explorer  # noqa: E402
from restorelib.core.metrics import psnr  # noqa: E402
from restorelib.rlrestore.restore import ImageResult  # noqa: E402
from restorelib.toolbox.tools import Toolbox  # noqa: E402

from standins import Blend, gen  # noqa: E402


def toward(clean: torch.Tensor) -> Toolbox:
    """Tool 0 moves halfway to the clean image (always helps), tool 1 toward grey (hurts), the others are identities."""
    tb = Toolbox()
    tb.nets[0], tb.nets[1] = Blend(clean[None], 0.5), Blend(0.5, 0.5)
    return tb.eval()


class FixedAgent:
    """An agent that always answers the same chain."""

    def __init__(self, chain):
        self.chain, self.calls = chain, 0

    def restore_image(self, image, reference=None, **_):
        self.calls += 1
        return ImageResult(image, list(self.chain))


def test_session_apply_undo_reset_and_agent():
    clean = torch.rand(3, 40, 50, generator=gen(0))
    tb = toward(clean)
    s = ToolchainSession(clean, "noise:30", tb, FixedAgent([tb.names[0], tb.names[0]]))
    assert s.chain == [] and s.psnr[0] == pytest.approx(psnr(s.degraded[None], clean[None]).item())
    assert s.apply(tb.names[0]) > 0 and s.apply(1) < 0
    assert s.chain == [tb.names[0], tb.names[1]] and len(s.images) == len(s.psnr) == 3
    s.undo()
    assert s.chain == [tb.names[0]] and torch.equal(s.current, s.images[1])
    assert s.let_agent_choose() == [tb.names[0]] * 2
    assert len(s.chain) == 3 and s.psnr[3] > s.psnr[2] > s.psnr[1] > s.psnr[0]
    s.reset("blur:2")
    assert s.spec == "blur:2" and s.chain == [] and len(s.images) == 1
    for _ in range(3):
        s.undo()                                       # nothing to undo: no error
    with pytest.raises(ValueError, match="agent"):
        ToolchainSession(clean, "noise:30", tb).let_agent_choose()
    with pytest.raises(ValueError, match="clean"):
        ToolchainSession(clean[None], "noise:30", tb)
    with pytest.raises(ValueError, match="spec"):
        ToolchainSession(clean, "fog:3", tb)


def test_static_figure_without_widgets(monkeypatch):
    monkeypatch.setenv("RESTORELIB_WIDGETS", "0")
    clean = torch.rand(3, 60, 60, generator=gen(1))
    tb, agent = toward(clean), FixedAgent([])
    agent.chain = [tb.names[0]]
    plt.close("all")
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    s = toolchain_explorer({"a": clean}, tb, agent, crop=None)
    assert s.chain == [tb.names[0]] and agent.calls == 1 and s.widget is None
    assert len(plt.gcf().axes) == 3                     # clean, degraded, one step
    s2 = toolchain_explorer({"a": clean}, tb, static_chain=[tb.names[1]], crop=32)
    assert s2.chain == [tb.names[1]] and s2.clean.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="static_chain or agent"):
        toolchain_explorer({"a": clean}, tb)
    with pytest.raises(ValueError, match="static_image"):
        toolchain_explorer({"a": clean}, tb, agent, static_image="b")
    with pytest.raises(ValueError, match="images"):
        toolchain_explorer({}, tb, agent)


def test_widgets_buttons_drive_the_session(monkeypatch):
    monkeypatch.setenv("RESTORELIB_WIDGETS", "1")
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    clean = torch.rand(3, 60, 60, generator=gen(2))
    tb = toward(clean)
    s = toolchain_explorer({"a": clean, "b": torch.rand(3, 64, 64, generator=gen(3))}, tb,
                           FixedAgent([tb.names[0]]), crop=None)
    top, tools, extra, _ = s.widget.children
    buttons = {b.description: b for b in (*tools.children, *extra.children)}
    assert set(tb.names) <= set(buttons) and {"let the agent choose", "undo", "reset"} <= set(buttons)
    buttons[tb.names[0]].click()
    buttons["let the agent choose"].click()
    assert s.chain == [tb.names[0]] * 2
    buttons["undo"].click()
    assert s.chain == [tb.names[0]]
    pick, blur = top.children[0], top.children[1]
    blur.value = 0.5                                    # a new distortion restarts the session
    assert s.chain == [] and s.spec.startswith("blur:0.5")
    pick.value = "b"
    assert s.clean.shape == (3, 64, 64)
    plt.close("all")
