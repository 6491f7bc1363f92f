"""The toolchain explorer (chapters 2-4): degrade a photo, apply tools by hand or let an agent choose, watch the PSNR.

:class:`ToolchainSession` holds the state (clean, degraded and current image, the chain and its PSNR after every step)
and is plain Python, so it is tested and usable without widgets. :func:`toolchain_explorer` puts ipywidgets around it
in a live notebook (Colab, Jupyter, VS Code): an image menu, distortion sliders, one button per tool, *let the agent
choose*, *undo* and *reset*. Where no widget front-end exists (the rendered book, CI) it draws one static figure
instead: the degraded image and every step of the agent's chain (or of a given chain) with its PSNR. The book's page
*Explore the toolchains* is the kernel-free version for the HTML: ``restorelib.teaching.static_explorer`` computes every
chain of up to two tools when the book is built, and the page's script lets a reader click through them.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch

from ..core import degradations as D
from ..core.data import to_rgb
from ..core.metrics import psnr
from .plotting import show_images, widgets_available
from ..toolbox.tools import Toolbox


class ToolchainSession:
    """One photo under one distortion, restored step by step.

    ``clean`` (3, H, W) in [0, 1]; ``spec`` a distortion spec (e.g. ``blur:1.5+noise:20+jpeg:40``) applied with a
    fixed ``seed``; ``toolbox`` the tools; ``agent`` an optional restorer with ``restore_image(image, reference=)``
    (:class:`restorelib.rlrestore.restore.AgentRestorer` or :class:`restorelib.hirl.restore.HirlRestorer`).
    """

    def __init__(self, clean: torch.Tensor, spec: str, toolbox: Toolbox, agent: object | None = None,
                 seed: int = 0) -> None:
        if not isinstance(clean, torch.Tensor) or clean.dim() != 3:
            raise ValueError(f"clean must be an image tensor (C, H, W), got {getattr(clean, 'shape', clean)!r}")
        self.toolbox, self.agent, self.seed = toolbox, agent, seed
        self.widget = None
        self.device = next(toolbox.parameters()).device
        self.clean = to_rgb(clean).to(self.device)
        self.reset(spec)

    def reset(self, spec: str | None = None) -> None:
        """Degrade the clean image again (with ``spec`` when given) and forget the chain."""
        self.spec = D.parse_spec(spec if spec is not None else self.spec).text
        y, _ = D.degrade(self.clean[None].cpu(), self.spec, generator=torch.Generator().manual_seed(self.seed))
        self.degraded = y[0].to(self.device)
        self.images, self.chain = [self.degraded], []
        self.psnr = [self._psnr(self.degraded)]

    def _psnr(self, x: torch.Tensor) -> float:
        return psnr(x[None], self.clean[None]).item()

    @property
    def current(self) -> torch.Tensor:
        """The image after the last step (3, H, W)."""
        return self.images[-1]

    @torch.no_grad()
    def apply(self, tool: str | int) -> float:
        """Apply one tool (name or index) to the current image; returns the PSNR gain of the step (dB)."""
        i = self.toolbox.index(tool) if isinstance(tool, str) else tool
        out = self.toolbox.apply(self.current[None], i)[0].clamp(0, 1)
        self.images.append(out)
        self.chain.append(self.toolbox.names[i])
        self.psnr.append(self._psnr(out))
        return self.psnr[-1] - self.psnr[-2]

    @torch.no_grad()
    def let_agent_choose(self) -> list[str]:
        """The agent restores the current image (patch voting, its own chain length); its steps join the chain.
        Returns the tools it chose (empty when it stops at once)."""
        if self.agent is None:
            raise ValueError("agent is None: give the session an agent to let it choose")
        res = self.agent.restore_image(self.current, reference=self.clean)
        x = self.current
        for name in res.chain:                  # replay the chain, keeping every intermediate image
            x = self.toolbox.apply(x[None], self.toolbox.index(name))[0].clamp(0, 1)
            self.images.append(x)
            self.chain.append(name)
            self.psnr.append(self._psnr(x))
        return list(res.chain)

    def undo(self) -> None:
        """Forget the last step (nothing happens at the start)."""
        if self.chain:
            self.images.pop()
            self.chain.pop()
            self.psnr.pop()

    def show(self, max_steps: int = 5, size: float = 2.6) -> None:
        """Clean, degraded and the last ``max_steps`` steps, each titled with its tool and PSNR."""
        k = len(self.chain)
        first = max(0, k - max_steps)
        views = [self.clean, self.degraded] + self.images[1 + first:]
        titles = ["clean", f"{self.spec}\n{self.psnr[0]:.2f} dB"] + [
            f"{j + 1}. {self.chain[j]}\n{self.psnr[j + 1]:.2f} dB ({self.psnr[j + 1] - self.psnr[j]:+.2f})"
            for j in range(first, k)]
        show_images([v.cpu() for v in views], titles, ncols=len(views), size=size)
        plt.show()


def toolchain_explorer(images: dict[str, torch.Tensor], toolbox: Toolbox, agent: object | None = None,
                       static_image: str | None = None, static_spec: str = "moderate",
                       static_chain: Sequence[str] | None = None, crop: int | None = 192) -> ToolchainSession:
    """An interactive toolchain explorer where widgets work, a static figure elsewhere (module docstring).

    ``images`` maps names to (C, H, W) photos in [0, 1] (centre-cropped to ``crop`` pixels, None keeps them whole,
    so that tools run at once on a CPU). The static figure restores ``static_image`` (default: the first) under
    ``static_spec`` with ``static_chain`` or, when it is None, by letting ``agent`` choose. Returns the session
    (with the widgets as ``session.widget`` in the interactive case).
    """
    if not isinstance(images, dict) or not images:
        raise ValueError("images must be a non-empty dict {name: (C, H, W) tensor}")
    name = static_image if static_image is not None else next(iter(images))
    if name not in images:
        raise ValueError(f"static_image must be one of {list(images)}, got {name!r}")
    if static_chain is None and agent is None:
        raise ValueError("static_chain or agent must be given (the static figure shows one of them)")

    def centre(img: torch.Tensor) -> torch.Tensor:
        if crop is None:
            return img
        h, w = img.shape[-2:]
        y, x = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        return img[..., y:y + crop, x:x + crop]

    session = ToolchainSession(centre(images[name]), static_spec, toolbox, agent)
    if not widgets_available():
        if static_chain is None:
            session.let_agent_choose()
        for tool in static_chain or ():
            session.apply(tool)
        session.show()
        return session
    import ipywidgets as w
    from IPython.display import display
    out = w.Output()
    pick = w.Dropdown(options=list(images), value=name, description="image")
    sliders = {"blur": w.FloatSlider(min=0, max=4, step=0.25, value=1.5, description="blur σ"),
               "noise": w.FloatSlider(min=0, max=50, step=1, value=20, description="noise σ"),
               "jpeg": w.IntSlider(min=10, max=100, step=5, value=40, description="JPEG q")}

    def spec() -> str:
        parts = [f"blur:{sliders['blur'].value:g}", f"noise:{sliders['noise'].value:g}"]
        return "+".join(parts + ([f"jpeg:{sliders['jpeg'].value}"] if sliders["jpeg"].value < 100 else []))

    def redraw() -> None:
        with out:
            out.clear_output(wait=True)
            session.show()

    def restart(_=None) -> None:
        session.clean = to_rgb(centre(images[pick.value])).to(session.device)
        session.reset(spec())
        redraw()

    def step(action):
        def run(_):
            action()
            redraw()
        return run

    tools = [w.Button(description=n, layout=w.Layout(width="auto")) for n in toolbox.names]
    for b, n in zip(tools, toolbox.names):
        b.on_click(step(lambda n=n: session.apply(n)))
    extra = [w.Button(description="undo"), w.Button(description="reset")]
    extra[0].on_click(step(session.undo))
    extra[1].on_click(restart)
    if agent is not None:
        extra.insert(0, w.Button(description="let the agent choose", button_style="info"))
        extra[0].on_click(step(session.let_agent_choose))
    pick.observe(restart, names="value")
    for s in sliders.values():
        s.observe(restart, names="value")
    restart()
    session.widget = w.VBox([w.HBox([pick, *sliders.values()]), w.HBox(tools, layout=w.Layout(flex_flow="row wrap")),
                             w.HBox(extra), out])
    display(session.widget)
    return session


__all__ = ["ToolchainSession", "toolchain_explorer"]
