"""evaluate(): the engine of `python -m restorelib evaluate`, its methods and the gain matrix."""
import math

import pytest
import torch

from restorelib.core import data
from restorelib.evaluate import (GRID_LEVELS, Identity, SingleTool, evaluate, gain_matrix, get_method,
                                 method_names, register_method, summary)
from restorelib.core.metrics import psnr
from restorelib.toolbox.tools import Toolbox

KEYS = {"method", "distortion", "images", "psnr_in", "psnr_out", "ssim_in", "ssim_out", "tool_calls", "params",
        "macs", "seconds", "per_image"}


@pytest.fixture(scope="module")
def images():
    return {k: v[:, :64, :80] for k, v in data.load_set("embedded-test").items()}


@pytest.fixture(scope="module")
def toolbox():
    return Toolbox()            # untrained: every tool starts as the identity


def test_identity_result_keys_and_values(images):
    r = evaluate("identity", images, "noise:20", seed=0)
    assert KEYS <= set(r)
    assert r["images"] == len(images) == len(r["per_image"])
    assert r["psnr_in"] == pytest.approx(r["psnr_out"])
    assert r["tool_calls"] == 0 and r["macs"] == 0 and r["params"] == 0
    assert 20 < r["psnr_in"] < 30             # sigma 20 noise is about 22 dB
    assert r["per_image"][0]["levels"] == {"noise": 20.0}


def test_same_seed_same_result_different_seed_differs(images):
    a = evaluate("identity", images, "moderate", seed=3)
    b = evaluate("identity", images, "moderate", seed=3)
    c = evaluate("identity", images, "moderate", seed=4)
    assert a["psnr_in"] == b["psnr_in"]
    assert [r["levels"] for r in a["per_image"]] == [r["levels"] for r in b["per_image"]]
    assert a["psnr_in"] != c["psnr_in"]


def test_patches(images):
    r = evaluate("identity", images, "blur:2", patch=32, patches_per_image=3, seed=0)
    assert r["images"] == 3 * len(images)
    assert r["per_image"][0]["image"].endswith("#0")
    with pytest.raises(ValueError, match="patch"):
        evaluate("identity", images, "blur:2", patch=500)
    with pytest.raises(ValueError, match="patch"):
        evaluate("identity", images, "blur:2", patch=5)
    with pytest.raises(ValueError, match="patches_per_image"):
        evaluate("identity", images, "blur:2", patch=32, patches_per_image=0)


def test_single_tool_counts_calls_and_macs(images, toolbox):
    m = SingleTool("noise-1", toolbox)
    r = evaluate(m, images, "noise:10", seed=0)
    assert r["tool_calls"] == 1 and r["params"] == 21_827
    h, w = 64, 80
    assert r["per_image"][0]["macs"] == pytest.approx(toolbox.macs("noise-1", (1, 3, h, w)), rel=1e-6)
    assert r["per_image"][0]["chain"] == ["noise-1"]
    # the untrained tool is the identity, so the PSNR does not change
    assert r["psnr_out"] == pytest.approx(r["psnr_in"], abs=1e-3)


def test_grayscale_images_are_replicated():
    gray = {"camera": data.embedded("camera")[:, :48, :48]}
    r = evaluate("identity", gray, "jpeg:30")
    assert r["images"] == 1 and math.isfinite(r["psnr_in"])


def test_bad_arguments(images):
    with pytest.raises(ValueError, match="method"):
        get_method("nope")
    with pytest.raises(ValueError, match="tool"):
        get_method("tool:nope")
    with pytest.raises(TypeError, match="method"):
        get_method(3)
    with pytest.raises(ValueError, match="images"):
        evaluate("identity", {}, "moderate")
    with pytest.raises(ValueError, match="spec"):
        evaluate("identity", images, "fog:3")


def test_register_method(images):
    class Half:
        name, params = "half", 0

        def restore(self, degraded, **_):
            from restorelib.evaluate import Restored
            n = degraded.shape[0]
            return Restored(degraded * 0.5, [1] * n, [7] * n, [["half"]] * n)

    register_method("half-test", lambda arg, device, **_: Half(), "halve the image")
    assert "half-test" in method_names()
    r = evaluate("half-test", images, "noise:5")
    assert r["macs"] == 7 and r["psnr_out"] < r["psnr_in"]


def test_gain_matrix_shape_and_identity(toolbox):
    clean = torch.stack([data.to_rgb(data.embedded("chelsea"))[:, :40, :40]])
    specs = [f"noise:{GRID_LEVELS['noise'][3]}", "jpeg:30"]
    g = gain_matrix(toolbox, clean, specs)
    assert g.shape == (12, 2)
    assert torch.allclose(g, torch.zeros_like(g), atol=1e-4)   # identity tools gain nothing


def test_summary_mentions_the_figures(images):
    r = evaluate(Identity(), images, "noise:20")
    s = summary(r)
    assert "identity" in s and f"{r['psnr_in']:.2f}" in s


def test_psnr_out_matches_manual(images):
    clean = data.to_rgb(images["chelsea"])[None]
    r = evaluate("identity", {"chelsea": images["chelsea"]}, "noise:30", seed=5)
    from restorelib.core.degradations import degrade
    y, _ = degrade(clean, "noise:30", generator=torch.Generator().manual_seed(5 * 1_000_003))
    assert r["psnr_in"] == pytest.approx(psnr(y, clean).item(), abs=1e-5)


def test_search_method_options_are_checked():
    with pytest.raises(ValueError, match="budget"):
        get_method("brute-force", budget=-1)
    with pytest.raises(ValueError, match="max_length"):
        get_method("greedy", max_length=0)


def test_random_method_is_seeded_by_evaluate(images):
    a = evaluate("random", images, "noise:20", seed=7)
    b = evaluate("random", images, "noise:20", seed=7)
    assert [r["chain"] for r in a["per_image"]] == [r["chain"] for r in b["per_image"]]


def test_fixed_chain_applies_the_same_chain_to_every_image():
    from restorelib.evaluate import FixedChain
    from restorelib.toolbox.tools import Toolbox
    box = Toolbox()                                    # untrained tools: the identity, so the result is the input
    m = FixedChain(["noise-2", "blur-3"], box)
    x = torch.rand(3, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    r = m.restore(x)
    assert torch.allclose(r.images, x) and r.chains == [["noise-2", "blur-3"]] * 3 and r.tool_calls == [2] * 3
    assert r.macs == [round((box.macs_per_pixel("noise-2") + box.macs_per_pixel("blur-3")) * 20 * 24)] * 3
    assert m.params == sum(p.numel() for p in box.parameters()) and m.name == "best fixed chain"


def test_evaluate_no_reference_scores_inputs_and_outputs(tmp_path, capsys):
    import json

    from restorelib.cli import main
    from restorelib.core.data import save_image, to_rgb
    from restorelib.core.degradations import degrade
    from restorelib.evaluate import evaluate_no_reference
    from restorelib.core.quality import noise_sigma
    g = torch.Generator().manual_seed(5)
    images = {"a": torch.rand(3, 48, 64, generator=g), "b": torch.rand(1, 40, 40, generator=g)}
    r = evaluate_no_reference("identity", images, "neg-sigma", "noise:20")
    assert r["images"] == 2 and r["nr_in"] == pytest.approx(r["nr_out"]) and r["scorer"] == "neg-sigma"
    row = r["per_image"][0]
    assert row["nr_in"] == pytest.approx(-noise_sigma(degrade(to_rgb(images["a"])[None], "noise:20",
                                                             generator=torch.Generator().manual_seed(0))[0]).item())
    with pytest.raises(ValueError, match="ground truth"):
        evaluate_no_reference("greedy", images, "neg-sigma")
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, v in images.items():
        save_image(v, folder / f"{k}.png")
    assert main(["evaluate", "--method", "identity", "--images", str(folder), "--no-reference", "--scorer",
                 "neg-sigma", "--json", str(tmp_path / "r.json")]) == 0
    assert "no reference" in capsys.readouterr().out and json.loads((tmp_path / "r.json").read_text())["nr_in"] < 0
    assert main(["evaluate", "--method", "identity", "--images", str(folder)]) == 2
    assert "--distortion is required" in capsys.readouterr().err
    assert main(["evaluate", "--method", "identity", "--images", str(folder), "--no-reference", "--scorer", "x"]) == 2
    assert main(["evaluate", "--method", "greedy", "--images", str(folder), "--no-reference"]) == 2
    assert "ground truth" in capsys.readouterr().err
