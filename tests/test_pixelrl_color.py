"""Chapter 7's local colour enhancement: CIELab, the 13 actions, the reward, the agents, the data, the table."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

from restorelib.pixelrl.a2c import PixelRLNet, a2c_loss, sample_actions, train_pixelrl
from restorelib.pixelrl.color import (
    COLOR_ACTIONS, COLOR_DO_NOTHING, COLOR_SCALES, N_COLOR_ACTIONS, GlobalActionNet, apply_color_actions,
    color_action_counts, color_bank, color_env, color_restore, lab_distance, lab_input, lab_reward, mean_lab_error,
    rgb_to_lab)
from restorelib.pixelrl.color_data import (
    PairSampler, check_yan2016, popout, style_target, styled_pairs, subject_mask, watercolor, yan2016_pairs)
from restorelib.pixelrl.color_method import (
    ColorCNN, ColorMethod, color_table, enhancer, load_color_model, oracle_enhance, save_color_model, train_color_cnn)
from restorelib.pixelrl.training import draw_crops

ROOT = Path(__file__).resolve().parents[1]
CI = COLOR_SCALES["ci"]


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def blob_photo(h=40, w=48):
    """A dull green photo with a red disc in the middle: a subject for the saliency and centre prior."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    img = torch.stack([torch.full((h, w), 0.35), torch.full((h, w), 0.45), torch.full((h, w), 0.3)])
    disc = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < (min(h, w) / 5) ** 2
    img[:, disc] = torch.tensor([0.8, 0.2, 0.2])[:, None]
    return img + 0.05 * rand(3, h, w, seed=3)


@pytest.fixture(scope="module")
def pairs():
    return {f"p{i}": (x, popout(x)) for i, x in enumerate([blob_photo(), blob_photo(44, 40)])}


# ----------------------------------------------------------------------------- CIELab and the reward
def test_rgb_to_lab_matches_scikit_image():
    from skimage.color import rgb2lab
    x = torch.cat([rand(1, 3, 9, 11), torch.zeros(1, 3, 9, 11), torch.ones(1, 3, 9, 11)])
    ref = np.stack([rgb2lab(im.permute(1, 2, 0).double().numpy()) for im in x])
    assert np.abs(rgb_to_lab(x.double()).permute(0, 2, 3, 1).numpy() - ref).max() < 1e-6
    assert np.abs(rgb_to_lab(x).permute(0, 2, 3, 1).numpy() - ref).max() < 1e-3
    inp = lab_input(x)
    assert inp.shape == x.shape and inp.min() >= 0 and inp.max() <= 1.0001


def test_rewards_add_up_to_the_drop_of_the_table_metric():
    x, target = rand(2, 3, 8, 8), rand(2, 3, 8, 8, seed=1)
    t_lab = rgb_to_lab(target)
    s1 = apply_color_actions(x, torch.randint(13, (2, 8, 8), generator=torch.Generator().manual_seed(2)))
    s2 = apply_color_actions(s1, torch.full((2, 8, 8), 5))
    total = lab_reward(t_lab, x, s1) + lab_reward(t_lab, s1, s2)
    assert torch.allclose(total, lab_distance(x, t_lab) - lab_distance(s2, t_lab), atol=1e-4)
    drop = mean_lab_error(x, target) - mean_lab_error(s2, target)
    assert torch.allclose(total.flatten(1).mean(1), drop, atol=1e-4)
    assert mean_lab_error(target, target).abs().max() < 1e-3


# ----------------------------------------------------------------------------- the actions
def test_color_actions_follow_pillow_image_enhance_within_one_grey_level():
    im = (rand(12, 14, 3).numpy() * 255).round().astype(np.uint8)
    x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255
    bank = color_bank(x)
    assert bank.shape == (1, N_COLOR_ACTIONS, 3, 12, 14) and torch.equal(bank[0, COLOR_DO_NOTHING], x[0])
    for k, (cls, f) in enumerate([(ImageEnhance.Contrast, 0.95), (ImageEnhance.Contrast, 1.05),
                                  (ImageEnhance.Color, 0.95), (ImageEnhance.Color, 1.05),
                                  (ImageEnhance.Brightness, 0.95), (ImageEnhance.Brightness, 1.05)]):
        ref = np.asarray(cls(Image.fromarray(im)).enhance(f)).astype(float)
        assert np.abs(bank[0, k].permute(1, 2, 0).numpy() * 255 - ref).max() <= 1.0 + 1e-3, COLOR_ACTIONS[k]
    y = x * 0.5                                              # no clipping: the channel pairs are exact products
    b = color_bank(y)[0]
    for k, (i, j) in zip((6, 8, 10), ((0, 1), (1, 2), (0, 2))):
        for d, f in ((0, 0.95), (1, 1.05)):
            expect = y[0].clone()
            expect[[i, j]] *= f
            assert torch.allclose(b[k + d], expect), COLOR_ACTIONS[k + d]


def test_each_pixel_gets_its_own_action_and_a_global_action_fills_the_image():
    x = rand(2, 3, 5, 6)
    a = torch.randint(N_COLOR_ACTIONS, (2, 5, 6), generator=torch.Generator().manual_seed(4))
    out, bank = apply_color_actions(x, a), color_bank(x)
    for n, i, j in [(0, 0, 0), (1, 4, 5), (0, 2, 3), (1, 1, 2)]:
        assert torch.equal(out[n, :, i, j], bank[n, a[n, i, j], :, i, j])
    g = apply_color_actions(x, torch.tensor([[[3]], [[12]]]))
    assert torch.equal(g[0], bank[0, 3]) and torch.equal(g[1], x[1])


@pytest.mark.parametrize("call,message", [
    (lambda: apply_color_actions(rand(1, 3, 4, 4), torch.full((1, 4, 4), 13)), "actions must hold ids"),
    (lambda: apply_color_actions(rand(1, 3, 4, 4), torch.zeros(1, 4, 4)), "actions must be an integer tensor"),
    (lambda: apply_color_actions(rand(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long)), "x must have 3"),
    (lambda: rgb_to_lab(rand(1, 1, 4, 4)), "x must have 3 channels"),
    (lambda: mean_lab_error(rand(1, 3, 4, 4), rand(1, 3, 4, 5)), "x and target must have the same shape"),
    (lambda: color_restore(PixelRLNet(3, width=4), rand(1, 3, 8, 8)), "net must be a PixelRLNet with 3"),
    (lambda: style_target(rand(3, 8, 8), "sepia"), "style must be one of"),
    (lambda: PairSampler({"a": (rand(3, 8, 8), rand(3, 8, 9))}, 4), r"pairs\['a'\] must be two RGB"),
    (lambda: PairSampler({"a": (rand(3, 8, 8), rand(3, 8, 8))}, 9), "no pair is at least 9x9"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- the embedded styles
def test_styles_are_deterministic_local_edits():
    x = blob_photo()
    m = subject_mask(x)
    assert m.shape == (40, 48) and 0 <= m.min() and m.max() <= 1
    assert m[20, 24] > 0.9 and m[0, 0] < 0.1 and m[-1, -1] < 0.1          # the subject in, the corners out
    p, w = popout(x), watercolor(x)
    assert torch.equal(p, popout(x)) and torch.equal(w, watercolor(x))

    def chroma(img):
        return (img - img.mean(0, keepdim=True)).abs().sum(0)
    assert chroma(p)[20, 24] > chroma(x)[20, 24] * 1.1 and chroma(p)[0, 0] < chroma(x)[0, 0] * 0.8
    assert (w >= x - 1e-6).float().mean() > 0.95 and w.mean() > x.mean() * 1.05    # a lighter wash
    assert mean_lab_error(x[None], p[None]) > 1 and mean_lab_error(x[None], w[None]) > 1


def test_styled_pairs_keep_only_colour_photos_of_the_embedded_set():
    got = styled_pairs("embedded-test", "watercolor", limit=1)
    (name, (inp, tgt)), = got.items()
    assert name == "chelsea" and inp.shape == tgt.shape and inp.shape[0] == 3 and not torch.equal(inp, tgt)


def test_pair_sampler_cuts_input_and_target_at_the_same_place():
    x = rand(3, 30, 34)
    sampler = PairSampler({"a": (x, x * 0.5)}, 12)
    crops = draw_crops(sampler, 6, 12, 3, torch.Generator().manual_seed(0))     # flipped / rotated together
    assert crops.shape == (6, 6, 12, 12)
    assert torch.allclose(crops[:, 3:], crops[:, :3] * 0.5, atol=1 / 255)


# ----------------------------------------------------------------------------- the paper's set (a fake folder)
def fake_yan(root: Path, train=("a1", "a2"), test=("b1",), size=(20, 16), skip=None, odd=None) -> Path:
    base = root / "Yan2016"
    base.mkdir(parents=True)
    (base / "uniform_set_train_id.txt").write_text("\n".join(train) + "\n")
    (base / "uniform_set_test_id.txt").write_text("\n".join(test) + "\n")
    for d in ("uniform_set_autotone_tif", "uniform_set_watercolor_tif"):
        (base / d).mkdir()
        for k, i in enumerate(train + test):
            if (d, i) == skip:
                continue
            s = (size[0] + 2, size[1]) if (d, i) == odd else size
            px = (rand(s[1], s[0], 3, seed=k).numpy() * 255).astype(np.uint8)
            Image.fromarray(px).save(base / d / f"{i}.tif")
    return base


def test_yan2016_loader_reads_the_pairs_in_split_order(tmp_path):
    fake_yan(tmp_path, train=("z9", "a1"))
    assert check_yan2016("watercolor", tmp_path) == {"train": ["z9", "a1"], "test": ["b1"]}
    got = yan2016_pairs("train", "watercolor", root=tmp_path)
    assert list(got) == ["z9", "a1"] and got["a1"][0].shape == (3, 16, 20) == got["a1"][1].shape
    assert list(yan2016_pairs("test", root=tmp_path)) == ["b1"]


@pytest.mark.parametrize("kind,error,message", [
    ("no folder", FileNotFoundError, "Yan2016 is missing .*stephenyan1231/dl-image-enhance"),
    ("no list", FileNotFoundError, "uniform_set_test_id.txt is missing"),
    ("no file", FileNotFoundError, r"a2.tif is missing \(1 of 6 files\).*dl-image-enhance"),
    ("no style", FileNotFoundError, "uniform_set_xpro_tif/a1.tif is missing"),
    ("overlap", ValueError, "1 id\\(s\\) in both split lists"),
    ("sizes", ValueError, "b1.tif is 22x16 in uniform_set_watercolor_tif but 20x16"),
])
def test_yan2016_check_names_what_is_missing(tmp_path, kind, error, message):
    style = "xpro" if kind == "no style" else "watercolor"
    if kind != "no folder":
        base = fake_yan(tmp_path, test=("a1",) if kind == "overlap" else ("b1",),
                        skip=("uniform_set_watercolor_tif", "a2") if kind == "no file" else None,
                        odd=("uniform_set_watercolor_tif", "b1") if kind == "sizes" else None)
        if kind == "no list":
            (base / "uniform_set_test_id.txt").unlink()
    with pytest.raises(error, match=message):
        check_yan2016(style, tmp_path)


def test_the_greedy_oracle_reaches_the_embedded_targets_step_by_step(pairs):
    x, target = pairs["p0"][0][None], pairs["p0"][1][None]
    errors = [mean_lab_error(x, target).item()]
    for t in (1, 3, 10):
        out, maps = oracle_enhance(x, target, t)
        errors.append(mean_lab_error(out, target).item())
        assert len(maps) == t and maps[0].shape == (1, 40, 48)
    assert all(b <= a + 1e-4 for a, b in zip(errors, errors[1:])) and errors[-1] < 0.4 * errors[0]


# ----------------------------------------------------------------------------- the agents and the table
def test_trainer_runs_the_colour_env_and_the_global_agent(pairs):
    sampler, cfg = PairSampler(pairs, CI.crop), replace(CI, episodes=2)
    net, rec = train_pixelrl(sampler, color_env("popout"), cfg)
    assert type(net) is PixelRLNet and net.n_actions == N_COLOR_ACTIONS and rec.episodes == [1, 2]
    again, _ = train_pixelrl(sampler, color_env("popout"), cfg)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    glob, rec = train_pixelrl(sampler, color_env("popout", global_actions=True), cfg)
    assert isinstance(glob, GlobalActionNet) and all(np.isfinite(rec.losses))
    x = pairs["p0"][0][None]
    lp, v, _ = glob(lab_input(x))
    assert lp.shape == (1, N_COLOR_ACTIONS, 1, 1) and v.shape == (1, 1, 40, 48)
    out, maps = color_restore(glob, x, 3)
    assert len(maps) == 3 and all((m == m[0, 0, 0]).all() for m in maps) and 0 <= out.min() and out.max() <= 1
    counts = color_action_counts(maps)
    assert counts.shape == (3, N_COLOR_ACTIONS) and torch.allclose(counts.sum(1), torch.ones(3))


def test_global_policy_gradient_weighs_one_action_by_the_mean_advantage():
    lp = torch.log_softmax(torch.randn(2, N_COLOR_ACTIONS, 1, 1), 1).requires_grad_()
    a = sample_actions(lp.detach(), generator=torch.Generator().manual_seed(0))
    assert a.shape == (2, 1, 1)
    values, rewards = [torch.zeros(2, 1, 4, 4)], [rand(2, 1, 4, 4)]
    policy = a2c_loss([lp], values, [a], rewards, entropy_coef=0.0)["policy"]
    expect = -(lp.gather(1, a[:, None])[:, 0, 0, 0] * rewards[0].mean((1, 2, 3))).mean()
    assert torch.allclose(policy, expect)


def test_cnn_table_save_load_and_restore_method(tmp_path, pairs):
    sampler = PairSampler(pairs, CI.crop)
    cnn, rec = train_color_cnn(sampler, CI)
    assert rec.episodes == [1, 2, 3] and all(np.isfinite(rec.losses))
    net, prec = train_pixelrl(sampler, color_env("popout"), CI)
    table = color_table(pairs, {"identity": lambda x: x, "cnn": enhancer(cnn, 2), "pixelrl": enhancer(net, 2)})
    assert table["images"] == 2 and table["rows"]["identity"] == pytest.approx(table["rows"]["Original"])
    assert table["rows"]["Original"] == pytest.approx(
        np.mean([mean_lab_error(a[None], b[None]).item() for a, b in pairs.values()]))
    x = pairs["p1"][0][None]
    for kind, model, r in (("cnn", cnn, rec), ("pixelrl", net, prec)):
        folder = save_color_model(model, kind, CI, r, tmp_path / kind, "test", "ci", "popout").parent
        loaded, record = load_color_model(folder)
        assert record["kind"] == kind and record["task"] == "color:popout"
        assert torch.equal(enhancer(loaded, 2)(x), enhancer(model, 2)(x))
    method = ColorMethod(tmp_path / "pixelrl")
    res = method.restore(x)
    assert res.images.shape == x.shape and len(res.chains[0]) == CI.t_max
    assert all(c in COLOR_ACTIONS for c in res.chains[0])
    from restorelib.cli import main
    from restorelib.core.data import save_image
    save_image(pairs["p1"][0], tmp_path / "photo.png")
    rc = main(["restore", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"), "--method",
               f"pixelrl-color:{tmp_path / 'pixelrl'}"])
    assert rc == 0 and (tmp_path / "out.png").is_file()
    # evaluate --style: the same model on an embedded photo, measured against its popout target
    rc = main(["evaluate", "--method", f"pixelrl-color:{tmp_path / 'pixelrl'}", "--images", "embedded-test",
               "--limit", "1", "--style", "popout", "--json", str(tmp_path / "color.json")])
    result = json.loads((tmp_path / "color.json").read_text())
    (photo, target), = styled_pairs("embedded-test", "popout", limit=1).values()
    assert rc == 0 and result["task"] == "color:popout" and result["images"] == 1
    assert result["error_in"] == pytest.approx(mean_lab_error(photo[None], target[None]).item(), rel=1e-5)
    assert result["error_out"] == pytest.approx(
        mean_lab_error(enhancer(net, CI.t_max)(photo[None]), target[None]).item(), rel=1e-4)
    assert len(result["per_image"][0]["chain"]) == CI.t_max
    (tmp_path / "pixelrl" / "model.pt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        load_color_model(tmp_path / "pixelrl")
    assert isinstance(ColorCNN(8)(x), torch.Tensor)


def test_evaluate_style_identity_is_the_original_row(tmp_path, capsys):
    from restorelib.cli import main
    assert main(["evaluate", "--method", "identity", "--images", "embedded-test", "--limit", "2",
                 "--style", "watercolor", "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    pairs = styled_pairs("embedded-test", "watercolor", limit=2)
    expected = np.mean([mean_lab_error(a[None], b[None]).item() for a, b in pairs.values()])
    assert result["images"] == 2 and result["error_out"] == pytest.approx(result["error_in"])
    assert result["error_in"] == pytest.approx(expected, rel=1e-5) and result["error_in"] > 0.5
    assert "2 photos of embedded-test" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--images", "embedded-test", "--style", "xpro"], "--style must be one of ['popout', 'watercolor']"),
    (["--images", "embedded-test", "--style", "popout", "--distortion", "moderate"], "leave out --distortion"),
    (["--images", "embedded-test", "--style", "popout", "--patch", "63"], "leave out --patch"),
    (["--images", "Yan2016", "--style", "popout"], "--style must be one of ['foregroundpopout'"),
    (["--images", "Yan2016", "--style", "xpro"], "Yan2016 is missing"),
    (["--images", "embedded-test", "--style", "popout", "--limit", "0"], "--limit must be a positive int"),
])
def test_evaluate_style_bad_arguments_exit_2_before_any_work(tmp_path, capsys, monkeypatch, args, message):
    from restorelib.cli import main
    monkeypatch.setenv("RESTORELIB_DATA", str(tmp_path))
    assert main(["evaluate", "--method", "identity", *args, "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "r.json").exists()


# ----------------------------------------------------------------------------- the script
def _script(*args):
    """Run the script's main in this process (a subprocess would import torch again: slow on a busy CPU)."""
    spec = importlib.util.spec_from_file_location("train_pixelrl_color", ROOT / "scripts" / "train_pixelrl_color.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return module.main(list(args))
    except SystemExit as e:
        return e.code


def test_script_ci_scale_writes_a_checked_record_and_resumes(tmp_path, capsys):
    out = tmp_path / "agent"
    small = ["--scale", "ci", "--style", "popout", "--train-set", "embedded-test", "--eval-size", "48",
             "--eval-images", "1", "--out", str(out)]
    assert _script(*small) == 0
    record = json.loads((out / "record.json").read_text())
    assert record["kind"] == "pixelrl" and record["config"]["rmc"] and record["config"]["t_max"] == 2
    assert record["evaluation"]["images"] == 1 and record["evaluation"]["error_in"] > 0
    assert record["command"].startswith("python scripts/train_pixelrl_color.py --scale ci")
    card = (out / "README.md").read_text()                           # the model card, from the record
    assert record["command"] in card and f"{record['evaluation']['error_out']:.3f}" in card
    assert not (out / ".partial").exists()
    (out / ".partial").mkdir()
    (out / ".partial" / "color.state.pt").write_bytes(b"x")
    capsys.readouterr()
    assert _script(*small) == 2 and "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--style", "xpro"], "--style must be one of"),
    (["--agent", "cnn", "--no-rmc"], "--no-rmc applies to --agent pixelrl only"),
    (["--data", "Yan2016", "--style", "xpro"], "Yan2016 is missing"),
])
def test_script_bad_arguments_exit_2_before_any_work(tmp_path, capsys, args, message):
    assert _script("--scale", "ci", "--out", str(tmp_path / "o"), *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()[-1]) > 0 and not (tmp_path / "o").exists()


def test_chapter_models_train_at_ci_scale_and_load_shipped_folders(tmp_path, monkeypatch, pairs):
    import restorelib.pixelrl.color_method as CM
    from restorelib.core.config import get_profile
    from restorelib.pixelrl.color_method import COLOR_ROWS, color_folder, get_color_models, run_name
    assert run_name("popout", "pixelrl", True) == "popout-gru-rmc" and run_name("popout", "cnn", False) == "popout-cnn"
    assert color_folder("watercolor", "global", False).parts[-2:] == ("pixelrl-color", "watercolor-global")
    models = get_color_models(get_profile("ci"), "popout", pairs)
    assert list(models) == list(COLOR_ROWS)
    x = pairs["p0"][0][None]
    for row, (model, record) in models.items():
        assert record["seconds"] > 0 and record["config"]["rmc"] == COLOR_ROWS[row][1]
        assert enhancer(model, CI.t_max)(x).shape == x.shape
    with pytest.raises(ValueError, match="pairs must hold"):
        get_color_models(get_profile("ci"), "popout", {})
    monkeypatch.setattr(CM, "weights_dir", lambda: tmp_path)     # book scale: the shipped folders, named when missing
    with pytest.raises(FileNotFoundError, match="train_pixelrl_color.py"):
        get_color_models(get_profile("book"), "popout")
    assert get_color_models(get_profile("book"), "popout", skip_missing=True) == {}   # the chapter names them
    for i, (row, (kind, rmc)) in enumerate(COLOR_ROWS.items()):
        model, record = models[row]
        save_color_model(model, kind, replace(CI, rmc=rmc), _rec(record), color_folder("popout", kind, rmc),
                         "test", "ci", "popout")
        if i == 0:                                                  # one shipped, three not: only that one
            assert list(get_color_models(get_profile("book"), "popout", skip_missing=True)) == [row]
            with pytest.raises(FileNotFoundError):
                get_color_models(get_profile("book"), "popout")
    loaded = get_color_models(get_profile("book"), "popout")
    for row in COLOR_ROWS:
        assert torch.equal(enhancer(loaded[row][0], CI.t_max)(x), enhancer(models[row][0], CI.t_max)(x)), row


def _rec(record):
    from restorelib.pixelrl.color_method import ColorCNNRecord
    rec = ColorCNNRecord()
    rec.seconds = record["seconds"]
    return rec


def test_table6_measures_pairs_or_reads_the_records_tests(pairs):
    from restorelib.pixelrl.color_data import centre_pairs
    from restorelib.pixelrl.color_method import table6
    small = centre_pairs(pairs, 24)
    assert all(a.shape[-2:] == b.shape[-2:] == (24, 24) for a, b in small.values())
    assert centre_pairs(pairs, 0) is pairs and centre_pairs(pairs, 100)["p0"][0].shape == pairs["p0"][0].shape
    cnn = ColorCNN(8).eval()
    rec = {"config": CI.to_dict()}
    live = table6({"a": (cnn, rec)}, small)
    assert live["images"] == 2 and set(live["rows"]) == {"Original", "a"}
    assert live["rows"]["Original"] == pytest.approx(
        sum(mean_lab_error(a[None], b[None]).item() for a, b in small.values()) / 2)
    ev = {"set": "CBSD68", "crop": 0, "images": 2, "error_in": 5.0, "error_out": 3.0, "per_image": {"x": 1, "y": 2}}
    read = table6({"a": (cnn, {**rec, "evaluation": ev}), "b": (cnn, {**rec, "evaluation": {**ev, "error_out": 4.0}})})
    assert read == {"rows": {"Original": 5.0, "a": 3.0, "b": 4.0}, "images": 2, "set": "CBSD68"}
    with pytest.raises(ValueError, match=r"models \['a'\] have no test"):
        table6({"a": (cnn, rec)})
    other = {**ev, "per_image": {"x": 1, "z": 2}}
    with pytest.raises(ValueError, match="other images"):
        table6({"a": (cnn, {**rec, "evaluation": ev}), "b": (cnn, {**rec, "evaluation": other})})
