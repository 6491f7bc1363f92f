import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
from restorelib import plotting  # noqa: E402


def test_show_images_grid_and_errors():
    imgs = [torch.rand(3, 8, 8), torch.rand(1, 8, 8), torch.rand(3, 8, 8)]
    fig = plotting.show_images(imgs, ["a", "b", "c"], ncols=2)
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a"
    with pytest.raises(ValueError, match="titles"):
        plotting.show_images(imgs, ["a"])
    with pytest.raises(ValueError, match="images"):
        plotting.show_images([])


def test_heatmap_shape_check():
    ax = plotting.heatmap(np.arange(6.0).reshape(2, 3), ["r1", "r2"], ["a", "b", "c"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r1", "r2"]
    with pytest.raises(ValueError, match="values"):
        plotting.heatmap(np.zeros((3, 3)), ["r1", "r2"], ["a", "b", "c"])


def test_explorer_static_fallback(monkeypatch):
    monkeypatch.setenv("RESTORELIB_WIDGETS", "0")
    assert not plotting.widgets_available()
    calls = []
    plotting.explorer(lambda a, b: calls.append((a, b)), {"a": (0, 1, 1, 0), "b": (0.0, 1.0, 0.5, 0.0)},
                      {"a": [0, 1], "b": [0.5, 1.0]})
    assert calls == [(0, 0.5), (1, 1.0)]


def test_book_build_kernels_get_the_static_explorer(monkeypatch):
    """A kernel started by jupyter_client (nbclient in a book build) has JPY_PARENT_PID but no front-end."""
    for var in ("RESTORELIB_WIDGETS", "JPY_SESSION_NAME", "VSCODE_PID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", "1234")
    assert not plotting.widgets_available()
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/01_degradations.ipynb")     # JupyterLab / Notebook 7
    assert plotting.widgets_available()


def test_widgets_forced_on(monkeypatch):
    monkeypatch.setenv("RESTORELIB_WIDGETS", "1")
    assert plotting.widgets_available()
