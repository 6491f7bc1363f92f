import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
from restorelib.teaching import plotting  # noqa: E402


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


def test_action_maps_and_histogram_draw_one_panel_per_step_and_check_shapes():
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from restorelib.teaching.plotting import action_histogram, action_maps
    names = [f"a{k}" for k in range(9)]
    fig = action_maps([torch.randint(9, (6, 7)) for _ in range(3)], names)
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "t = 1" and len(fig.legends[0].get_texts()) == 9
    plt.close(fig)
    counts = np.full((4, 9), 1 / 9)
    ax = action_histogram(counts, names, title="h")
    assert len(ax.patches) == 36 and ax.get_title() == "h"
    assert ax.patches[-1].get_y() + ax.patches[-1].get_height() == pytest.approx(1.0)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="maps must"):
        action_maps([torch.zeros(2, 3, 4)], names)
    with pytest.raises(ValueError, match="counts must"):
        action_histogram(np.zeros((4, 8)), names)
