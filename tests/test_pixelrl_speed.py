"""Issue 20 §4: PixelRL's faster inference gives the results of the code before it (chapter 7).

The "before" values are computed at test time by the code of commit BEFORE (the last one before the speed-ups),
extracted from git into a temporary folder and run in a subprocess on the same inputs and the shipped weights.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from restorelib.pixelrl.a2c import PixelRLNet, load_pixelrl, pixelrl_restore, sample_actions
from restorelib.pixelrl.method import PIXELRL_DIR, PixelRLMethod

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "6ecfb4f"                     # HEAD when issue 20's speed-ups began
MODELS = ("noise25-gru-rmc", "noise25-fcn-t400", "text-gru-rmc-t400")   # convGRU, plain FCN, another task
TOL = 1e-6                             # float32 rounding; the policy path does the same operations, so expect 0

_BEFORE_SCRIPT = """
import sys, torch
sys.path.insert(0, sys.argv[1])
from restorelib.pixelrl import load_pixelrl, pixelrl_restore      # the flat modules of the code at BEFORE
from restorelib.pixelrl_method import PixelRLMethod
inputs = torch.load(sys.argv[2])
out = {}
for name in inputs["models"]:
    net, cfg = load_pixelrl(inputs["folder"] + "/" + name)
    for backend in inputs["backends"]:
        img, maps = pixelrl_restore(net, inputs["gray"], cfg.t_max, backend=backend)
        out[(name, backend)] = (img, torch.stack(maps))
    out[(name, "rgb")] = PixelRLMethod(inputs["folder"] + "/" + name).restore(inputs["rgb"]).images
torch.save(out, sys.argv[3])
"""


def _backends() -> tuple[str, ...]:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return ("torch",)
    return ("torch", "cv2")


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    """(inputs, outputs of the code at BEFORE) on a noisy gray 40x52 image and a colour 33x37 one."""
    try:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", BEFORE, "restorelib",
                              ":(exclude)restorelib/weights"], capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"the code of {BEFORE} is not available from git ({e})")
    folder = tmp_path_factory.mktemp("before")
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(folder, filter="data")
    g = torch.Generator().manual_seed(20)
    clean = torch.linspace(0, 1, 52).expand(1, 1, 40, 52)
    inputs = {"models": list(MODELS), "folder": str(PIXELRL_DIR), "backends": list(_backends()),
              "gray": (clean + 25 / 255 * torch.randn(1, 1, 40, 52, generator=g)).clamp(0, 1),
              "rgb": torch.rand(1, 3, 33, 37, generator=g)}
    torch.save(inputs, folder / "inputs.pt")
    p = subprocess.run([sys.executable, "-c", _BEFORE_SCRIPT, str(folder), str(folder / "inputs.pt"),
                        str(folder / "out.pt")], capture_output=True, text=True, timeout=600, cwd=folder)
    assert p.returncode == 0, p.stderr[-2000:]
    return inputs, torch.load(folder / "out.pt")


@pytest.mark.parametrize("name", MODELS)
def test_shipped_agents_restore_as_before(before, name):
    inputs, old = before
    net, cfg = load_pixelrl(PIXELRL_DIR / name)
    for backend in inputs["backends"]:
        img, maps = pixelrl_restore(net, inputs["gray"], cfg.t_max, backend=backend)
        want_img, want_maps = old[(name, backend)]
        assert torch.equal(torch.stack(maps), want_maps), (name, backend)
        assert (img - want_img).abs().max().item() <= TOL, (name, backend)
    rgb = PixelRLMethod(PIXELRL_DIR / name).restore(inputs["rgb"]).images
    assert (rgb - old[(name, "rgb")]).abs().max().item() <= TOL


@pytest.mark.parametrize("gru", [True, False])
def test_policy_is_the_forward_without_the_value_branch_bit_for_bit(gru):
    torch.manual_seed(0)
    net = PixelRLNet(1, width=8, gru=gru)
    x = torch.rand(2, 1, 21, 26)
    lp, _, h = net(x)                                        # with autograd: the plain operations
    lp2, _, h2 = net(x, None if h is None else h.detach())
    with torch.no_grad():                                    # without: in place
        p, hp = net.policy(x)
        p2, hp2 = net.policy(x, hp)
    assert torch.equal(lp, p) and torch.equal(lp2, p2)
    assert (h is None and hp is None and hp2 is None) or torch.equal(h2, hp2)


def test_greedy_actions_are_the_argmax_with_ties_to_the_first():
    lp = torch.randn(2, 9, 7, 5)
    lp[0, 3:5, 2, 1] = 10.0                                  # a tie: the argmax takes the first, action 3
    assert torch.equal(sample_actions(lp, greedy=True), lp.argmax(dim=1))
    assert sample_actions(lp, greedy=True)[0, 2, 1].item() == 3
