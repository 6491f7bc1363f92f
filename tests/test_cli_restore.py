"""`python -m restorelib restore`: the chain step by step, image kinds (gray, RGBA, 16-bit), no silent overwrite."""
import numpy as np
import pytest
import torch
from PIL import Image

from restorelib.rlrestore import dqn
from restorelib.cli import main

from test_restore import forced_net


@pytest.fixture(scope="module")
def agent_dir(tmp_path_factory):
    """A saved agent that always picks noise-2 (action 5): the CLI's behaviour does not depend on training."""
    folder = tmp_path_factory.mktemp("agent")
    dqn.save_agent(forced_net(5), dqn.DQNConfig(t_max=2), dqn.TrainRecord(), folder, command="test", scale="ci")
    return folder


@pytest.fixture()
def photo(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)).save(path)
    return path


def run(args, capsys):
    rc = main(["restore", *map(str, args)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_restore_prints_the_chain_and_psnr(photo, agent_dir, tmp_path, capsys):
    ref = tmp_path / "clean.png"
    Image.fromarray(np.full((70, 90, 3), 128, np.uint8)).save(ref)
    out = tmp_path / "out.png"
    rc, text, err = run([photo, "-o", out, "--method", f"rl-restore:{agent_dir}", "--reference", ref], capsys)
    assert rc == 0, err
    assert "step 1: noise-2" in text and "step 2: noise-2" in text and "(4/4 votes)" in text
    assert "start: PSNR" in text and "chain: noise-2 -> noise-2" in text and f"wrote {out}" in text
    got = Image.open(out)
    assert got.size == (90, 70) and got.mode == "RGB"


def test_restore_refuses_to_overwrite_without_force(photo, agent_dir, tmp_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    rc, _, err = run([photo, "-o", out, "--method", f"rl-restore:{agent_dir}"], capsys)
    assert rc == 2 and "--force" in err and out.read_bytes() == b"precious"
    rc, _, err = run([photo, "-o", out, "--method", f"rl-restore:{agent_dir}", "--force"], capsys)
    assert rc == 0, err
    assert Image.open(out).size == (90, 70)


def test_restore_keeps_gray_alpha_and_converts_16_bit(agent_dir, tmp_path, capsys):
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (64, 80, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    rc, text, err = run([tmp_path / "rgba.png", "-o", tmp_path / "o1.png", "--method", f"rl-restore:{agent_dir}"],
                        capsys)
    assert rc == 0, err
    assert "alpha channel" in text
    o1 = np.asarray(Image.open(tmp_path / "o1.png"))
    assert o1.shape == (64, 80, 4) and np.array_equal(o1[..., 3], rgba[..., 3])
    rc, text, _ = run([tmp_path / "rgba.png", "-o", tmp_path / "o1.jpg", "--method", "identity"], capsys)
    assert rc == 0 and Image.open(tmp_path / "o1.jpg").mode == "RGB"       # JPEG has no alpha: dropped
    g16 = (rng.random((50, 60)) * 65535).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    rc, text, err = run([tmp_path / "g16.png", "-o", tmp_path / "o2.png", "--method", f"rl-restore:{agent_dir}"],
                        capsys)
    assert rc == 0, err
    assert "16-bit input" in text and "grayscale" in text and "I;16" in text
    o2 = Image.open(tmp_path / "o2.png")
    assert o2.mode == "L" and o2.size == (60, 50)


def test_restore_identity_and_tool_match_the_library(photo, tmp_path, capsys):
    from restorelib.core import data
    from restorelib.toolbox.tools import Toolbox
    rc, _, err = run([photo, "-o", tmp_path / "id.png", "--method", "identity"], capsys)
    assert rc == 0, err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "id.png")), np.asarray(Image.open(photo)))
    rc, text, err = run([photo, "-o", tmp_path / "t.png", "--method", "tool:noise-3"], capsys)
    assert rc == 0 and "chain: noise-3" in text
    with torch.no_grad():
        expected = Toolbox.load().apply(data.read_image(photo)[None], "noise-3")[0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "t.png")), data.to_uint8(expected))


@pytest.mark.parametrize("args, message", [
    (["{missing}", "-o", "{out}"], "image:"),
    (["{text}", "-o", "{out}"], "not an image"),
    (["{photo}", "-o", "{tmp}/nofolder/o.png"], "does not exist"),
    (["{photo}", "-o", "{tmp}/o.xyz"], "--output must end in"),
    (["{photo}", "-o", "{out}", "--reference", "{small}"], "--reference must have the image's size"),
    (["{photo}", "-o", "{out}", "--method", "greedy"], "ground truth"),
    (["{photo}", "-o", "{out}", "--method", "rl-restore:nope"], "--method"),
    (["{photo}", "-o", "{out}", "--tile", "8"], "--tile"),
])
def test_restore_bad_arguments_write_nothing(args, message, photo, tmp_path, capsys):
    (tmp_path / "t.txt").write_text("not an image")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "small.png")
    subs = {"missing": tmp_path / "missing.png", "out": tmp_path / "out.png", "text": tmp_path / "t.txt",
            "photo": photo, "tmp": tmp_path, "small": tmp_path / "small.png"}
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, _, err = run([a.format(**subs) for a in args], capsys)
    assert rc == 2 and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_evaluate_rl_restore_from_the_command_line(agent_dir, photo, tmp_path, capsys):
    import json
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--method", f"rl-restore:{agent_dir}", "--images", str(photo.parent), "--distortion",
               "moderate", "--patch", "63", "--max-length", "1", "--json", str(out)])
    assert rc == 0, capsys.readouterr().err
    r = json.loads(out.read_text())
    assert r["tool_calls"] == 1 and r["trials"] == 1 and r["per_image"][0]["chain"] == ["noise-2"]
    assert main(["evaluate", "--method", f"rl-restore:{agent_dir}", "--images", str(photo.parent),
                 "--distortion", "moderate", "--max-length", "0"]) == 2
    assert "--max-length" in capsys.readouterr().err


def test_restore_no_reference_prints_the_scores_of_input_and_output(photo, tmp_path, capsys):
    from restorelib.core.quality import get_scorer
    out = tmp_path / "out.png"
    rc, text, err = run([photo, "-o", out, "--method", "tool:noise-2", "--no-reference", "--scorer", "neg-sigma"],
                        capsys)
    assert rc == 0, err
    line = next(ln for ln in text.splitlines() if "neg-sigma score" in ln)
    x = torch.from_numpy(np.asarray(Image.open(photo), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    y = torch.from_numpy(np.asarray(Image.open(out), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    s_in, s_out = get_scorer("neg-sigma")(x).item(), get_scorer("neg-sigma")(y).item()
    assert line.split("score ")[1].startswith(f"{s_in:.3f} -> ")
    assert abs(float(line.split("-> ")[1].split()[0]) - s_out) < 0.05        # the written PNG is 8-bit rounded
    assert s_out != s_in


@pytest.mark.parametrize("extra, message", [
    (["--no-reference", "--scorer", "psnr"], "--scorer must be one of"),
    (["--no-reference", "--reference", "REF"], "--no-reference and --reference exclude each other"),
])
def test_restore_no_reference_refuses_bad_combinations(extra, message, photo, tmp_path, capsys):
    out = tmp_path / "out.png"
    extra = [str(photo) if a == "REF" else a for a in extra]
    rc, _, err = run([photo, "-o", out, "--method", "identity", *extra], capsys)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_restore_help_lists_every_method(capsys):
    from restorelib.evaluate import method_names
    assert main(["restore", "--help"]) == 0                # argparse's exit, returned as the status
    text = " ".join(capsys.readouterr().out.split())
    for name in method_names():
        assert f"{name}:" in text, name
    assert "label-free:" in text and "pixelrl:" in text
