"""Figures shared by the chapters: image grids, heatmaps, and the level explorer (widget or static figure)."""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..core.config import widgets_available  # noqa: F401  (the explorers' test, kept here for old imports)
from ..core.data import to_uint8


def show_images(images: Sequence[torch.Tensor], titles: Sequence[str] | None = None, ncols: int | None = None,
                size: float = 3.0, suptitle: str | None = None) -> plt.Figure:
    """Show (C, H, W) images in [0, 1] in a grid, with optional titles; returns the figure."""
    images = list(images)
    if not images:
        raise ValueError("images must not be empty")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        a = to_uint8(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=255)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def heatmap(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str = "",
            cbar_label: str = "", fmt: str = "{:.1f}", cmap: str = "RdBu_r", center: float | None = 0.0,
            limit: float | None = None, ax: plt.Axes | None = None, annot_size: float = 6) -> plt.Axes:
    """Annotated heatmap of a (rows, cols) array; colours are centred on ``center`` (None: not centred).

    ``limit`` caps the colour scale at ``center`` +- ``limit`` (values beyond saturate; the numbers stay exact);
    ``annot_size`` is the font size of the numbers in the cells.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"values must have shape ({len(row_labels)}, {len(col_labels)}), got {values.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * len(col_labels) + 2, 0.4 * len(row_labels) + 1.5))
    kw = {}
    if center is not None:
        lim = limit or np.nanmax(np.abs(values - center)) or 1.0
        kw = dict(vmin=center - lim, vmax=center + lim)
    im = ax.imshow(values, cmap=cmap, aspect="auto", **kw)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    if values.size <= 600:
        for (i, j), v in np.ndenumerate(values):
            dark = abs(im.norm(v) - 0.5) > 0.35                 # white numbers on the darkest cells
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=annot_size,
                    color="white" if dark else "black")
    ax.figure.colorbar(im, ax=ax, label=cbar_label)
    ax.set_title(title)
    return ax


def _action_cmap(n: int):
    """n distinct colours: tab10 for the nine filters, tab20 for the thirteen colour actions (tab10 would repeat)."""
    return plt.get_cmap("tab10" if n <= 10 else "tab20", n)


def action_maps(maps: Sequence[torch.Tensor], actions: Sequence[str], titles: Sequence[str] | None = None,
                size: float = 2.6) -> plt.Figure:
    """PixelRL's action maps (paper Figs. 2, 4): one (H, W) int map per step, one colour per action, one legend."""
    maps = [torch.as_tensor(m).cpu() for m in maps]
    if not maps or any(m.ndim != 2 for m in maps):
        raise ValueError("maps must be a non-empty list of (H, W) integer action maps")
    cmap = _action_cmap(len(actions))
    fig, axes = plt.subplots(1, len(maps), figsize=(size * len(maps), size + 0.6), squeeze=False)
    for i, (ax, m) in enumerate(zip(axes[0], maps)):
        ax.imshow(m.numpy(), cmap=cmap, vmin=-0.5, vmax=len(actions) - 0.5, interpolation="nearest")
        ax.set_title(titles[i] if titles else f"t = {i + 1}", fontsize=9)
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(k)) for k in range(len(actions))]
    fig.legend(handles, list(actions), loc="lower center", ncol=min(len(actions), 5), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def action_histogram(counts: torch.Tensor | np.ndarray, actions: Sequence[str], title: str = "",
                     ax: plt.Axes | None = None) -> plt.Axes:
    """Share of the pixels taking each action at each step (paper Fig. 1), from (t_max, n_actions) fractions."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != len(actions):
        raise ValueError(f"counts must have shape (t_max, {len(actions)}), got {counts.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    cmap, bottom = _action_cmap(len(actions)), np.zeros(len(counts))
    steps = np.arange(1, len(counts) + 1)
    for k, name in enumerate(actions):
        ax.bar(steps, counts[:, k], bottom=bottom, color=cmap(k), label=name)
        bottom += counts[:, k]
    ax.set(xlabel="step t", ylabel="share of the pixels", xticks=steps, ylim=(0, 1), title=title)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return ax


def cost_scatter(rows: Sequence[dict], groups: Sequence[str] = ("mild", "moderate", "severe"),
                 paper: dict[str, tuple[float, float]] | None = None) -> plt.Figure:
    """PSNR against multiply-adds per 63x63 patch (log axis), one panel per group, from chapter 5's comparison rows
    (dicts with ``method``, ``group``, ``psnr_out``, ``macs``). ``paper``: {method: (params, MACs)} of the paper's
    Table 2, drawn as dotted verticals at the paper's cost of the methods we share."""
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cmap = plt.get_cmap("tab10", max(len(methods), 1))
    for ax, g in zip(axes.flat, groups):
        for k, m in enumerate(methods):
            for r in rows:
                if r["method"] == m and r["group"] == g:
                    ax.scatter(r["macs"] / 1e9, r["psnr_out"], color=cmap(k), s=40, label=m, zorder=3)
                    if paper and m.split("+")[0] in paper:
                        ax.axvline(paper[m.split("+")[0]][1] / 1e9, color=cmap(k), ls=":", lw=1)
        ax.set(xscale="log", xlabel="G multiply-adds per 63×63 patch", ylabel="PSNR out (dB)", title=g)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def explorer(render: Callable[..., None], controls: dict[str, tuple], static: dict[str, Sequence]) -> None:
    """Show ``render(**values)`` with one slider per entry of ``controls`` (name -> (min, max, step, value)).

    Without a widget front-end (see :func:`restorelib.core.config.widgets_available`), calls ``render`` once for each combination
    listed in ``static`` (name -> values), so the rendered book shows a figure instead of a dead widget.
    """
    if widgets_available():
        import ipywidgets as w
        sliders = {k: (w.FloatSlider if isinstance(v[2], float) else w.IntSlider)(
            min=v[0], max=v[1], step=v[2], value=v[3], description=k, continuous_update=False)
            for k, v in controls.items()}
        w.interact(render, **sliders)
        return
    keys = list(static)
    for combo in zip(*(static[k] for k in keys)):
        render(**dict(zip(keys, combo)))
