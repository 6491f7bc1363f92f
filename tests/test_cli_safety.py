"""The command line's data safety and errors: no clobbering, umask and modes, no leftovers, every user error one
line with exit code 2 found before the work, --tile honoured or refused, brute force's cost, NaN in the JSON."""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import stat

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restorelib.rlrestore import dqn
from restorelib.cli import main
from restorelib.evaluate import Identity
from restorelib.toolbox.tools import SmallTool, Toolbox, sha256_bytes

from test_restore import forced_net


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(d / f"i{i}.png")
    return d


@pytest.fixture()
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def run(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


@pytest.fixture()
def no_work(monkeypatch):
    """Fail the test if a method starts restoring: the error must come before the work."""
    def refuse(*_, **__):
        raise AssertionError("the work started before the error")
    monkeypatch.setattr(Identity, "restore", refuse)


# ----------------------------------------------------------------------------- 1-3: writing outputs
def test_restore_does_not_clobber_a_file_created_while_it_ran(photo, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.png"
    real = Identity.restore

    def meanwhile(self, degraded, **kw):               # another run writes the same OUT during the computation
        out.write_bytes(b"the other run's output")
        return real(self, degraded, **kw)

    monkeypatch.setattr(Identity, "restore", meanwhile)
    before = listing(tmp_path)
    rc, _, err = run(capsys, "restore", photo, "-o", out, "--method", "identity")
    one_line_error(rc, err, "--output", "appeared while this ran", "--force")
    assert out.read_bytes() == b"the other run's output"
    assert listing(tmp_path) == sorted(before + ["out.png"])                  # and no temporary file is left


def test_evaluate_json_does_not_clobber_and_needs_force(folder, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("keep")
    args = ["evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10", "--json", out]
    rc, _, err = run(capsys, *args)
    one_line_error(rc, err, "--json", "exists", "--force")
    assert out.read_text() == "keep"
    rc, _, err = run(capsys, *args, "--force")
    assert rc == 0, err
    assert json.loads(out.read_text())["images"] == 2


def test_outputs_honour_the_umask_and_force_keeps_the_mode(photo, folder, tmp_path, capsys, umask):
    umask(0o022)
    out, js = tmp_path / "o.png", tmp_path / "r.json"
    assert run(capsys, "restore", photo, "-o", out, "--method", "identity")[0] == 0
    assert run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:5",
               "--json", js)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644 and stat.S_IMODE(js.stat().st_mode) == 0o644
    out.chmod(0o640)
    umask(0o077)
    assert run(capsys, "restore", photo, "-o", out, "--method", "identity", "--force")[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_json_naming_a_folder_is_refused_before_the_work_and_leaves_nothing(folder, tmp_path, capsys, no_work):
    target = tmp_path / "results"
    target.mkdir()
    before = listing(tmp_path)
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10",
                     "--json", target, "--force")
    one_line_error(rc, err, "--json", "is a folder")
    assert listing(tmp_path) == before and list(target.iterdir()) == []


# ----------------------------------------------------------------------------- 9: found before the work
@pytest.mark.parametrize("where", ["unwritable", "folder"])
def test_restore_output_problems_are_found_first(where, photo, tmp_path, capsys, no_work, request):
    if where == "unwritable":
        out = request.getfixturevalue("unwritable_dir") / "o.png"
    else:
        out = tmp_path / "sub.png"
        out.mkdir()
    rc, _, err = run(capsys, "restore", photo, "-o", out, "--method", "identity", "--force")
    one_line_error(rc, err, "--output", "not writable" if where == "unwritable" else "is a folder")


def test_json_into_an_unwritable_folder_is_found_first(folder, capsys, no_work, unwritable_dir):
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10",
                     "--json", unwritable_dir / "r.json")
    one_line_error(rc, err, "--json", "not writable")


# ----------------------------------------------------------------------------- 10: raw errors become one line
@pytest.mark.parametrize("device, needle", [("bogus", "device must be"), ("cuda", "not available")])
def test_bad_devices(device, needle, photo, folder, tmp_path, capsys, monkeypatch, no_work):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc, _, err = run(capsys, "restore", photo, "-o", tmp_path / "o.png", "--method", "identity", "--device", device)
    one_line_error(rc, err, "--device", needle)
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10",
                     "--device", device)
    one_line_error(rc, err, "--device", needle)


@pytest.mark.parametrize("content", [b"not an image at all", "truncated"])
def test_a_corrupt_image_in_a_folder_is_named(content, folder, capsys):
    bad = folder / "broken.png"
    if content == "truncated":
        full = io.BytesIO()
        Image.fromarray(np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full, "PNG")
        content = full.getvalue()[:300]
    bad.write_bytes(content)
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10")
    one_line_error(rc, err, "--images", "broken.png")


@pytest.fixture()
def agent_dir(tmp_path):
    folder = tmp_path / "agent"
    dqn.save_agent(forced_net(5), dqn.DQNConfig(t_max=2), dqn.TrainRecord(), folder, command="test", scale="ci")
    return folder


def replace_weights(folder, state: object) -> None:
    """Put ``state`` in the agent's weights file and its sha256 in record.json (the hash is right: only the
    content is bad)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    record = json.loads((folder / "record.json").read_text())
    (folder / record["file"]).write_bytes(buf.getvalue())
    record["sha256"] = sha256_bytes(buf.getvalue())
    (folder / "record.json").write_text(json.dumps(record))


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("bad, needle", [("pickle", "cannot be loaded safely"), ("shape", "does not fit")])
def test_bad_checkpoints_are_one_line_errors(bad, needle, agent_dir, photo, tmp_path, capsys):
    replace_weights(agent_dir, {"x": Payload()} if bad == "pickle" else SmallTool().state_dict())
    rc, out, err = run(capsys, "restore", photo, "-o", tmp_path / "o.png", "--method", f"rl-restore:{agent_dir}")
    one_line_error(rc, err, "--method", "agent.pt", needle)
    assert "must never run" not in out


# ----------------------------------------------------------------------------- 11: --tile
def test_tile_runs_a_tool_in_tiles(tmp_path, capsys, monkeypatch):
    from restorelib.core import data
    photo = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (150, 170, 3), dtype=np.uint8)).save(photo)
    calls = []
    real = Toolbox.apply

    def counting(self, x, tool, clip=True):
        calls.append(tuple(x.shape[-2:]))
        return real(self, x, tool, clip)

    monkeypatch.setattr(Toolbox, "apply", counting)
    rc, text, err = run(capsys, "restore", photo, "-o", tmp_path / "t.png", "--method", "tool:noise-3", "--tile", "64")
    assert rc == 0, err
    assert len(calls) == 9 and max(max(c) for c in calls) <= 64 + 2 * 16        # 3x3 tiles with their margins
    with torch.no_grad():
        whole = real(Toolbox.load(), data.read_image(photo)[None], "noise-3")[0]
    got = np.asarray(Image.open(tmp_path / "t.png")).astype(int)
    assert np.abs(got - data.to_uint8(whole).astype(int)).max() <= 1           # the same image, up to rounding


def test_tile_is_refused_where_it_cannot_apply(photo, tmp_path, capsys):
    rc, _, err = run(capsys, "restore", photo, "-o", tmp_path / "o.png", "--method", "greedy", "--reference", photo,
                     "--tile", "64")
    one_line_error(rc, err, "--tile", "cannot run in tiles")
    assert not (tmp_path / "o.png").exists()


# ----------------------------------------------------------------------------- 12: brute force's cost
def test_brute_force_without_budget_beyond_the_stated_cost_is_refused(folder, capsys):
    args = ["evaluate", "--method", "brute-force", "--images", folder, "--distortion", "noise:10", "--patch", "11"]
    rc, _, err = run(capsys, *args, "--max-length", "6")
    one_line_error(rc, err, "--max-length", "3,257,436 chains per image", "--budget")
    rc, _, err = run(capsys, *args, "--max-length", "6", "--budget", "20")
    assert rc == 0, err
    rc, _, err = run(capsys, "evaluate", "--method", "brute-force:hirl", "--images", folder, "--distortion",
                     "noise:10", "--patch", "11", "--max-length", "5")
    one_line_error(rc, err, "--max-length", "over 9 tools")


def test_brute_force_states_its_cost_and_shows_progress(folder, capsys):
    rc, text, err = run(capsys, "evaluate", "--method", "brute-force", "--images", folder, "--distortion", "noise:10",
                        "--patch", "11", "--patches-per-image", "2", "--max-length", "2", "--budget", "20")
    assert rc == 0, err
    first = text.splitlines()[0]                      # printed before the search starts
    assert "up to 20 tool applications per patch" in first and "80 for 4 patches" in first, first
    assert "brute-force(L=2)" in err and "0/1 [" in err   # tqdm's bar (with its time left) on stderr; whether it
    # is drawn again at 100% before it is cleared depends on the machine's speed (tqdm's mininterval)


# ----------------------------------------------------------------------------- 6: NaN in the JSON
def test_no_reference_json_holds_null_not_nan(tmp_path, capsys):
    d = tmp_path / "flat"
    d.mkdir()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(d / "flat.png")     # NIQE cannot score it: NaN
    out = tmp_path / "nr.json"
    rc, text, err = run(capsys, "evaluate", "--method", "identity", "--images", d, "--no-reference", "--json", out)
    assert rc == 0, err

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    r = json.loads(out.read_text(), parse_constant=no_constants)
    assert r["nr_in"] is None and r["per_image"][0]["nr_out"] is None
    assert "NIQE" in r["null_values"]["why"] and "per_image[0].nr_in" in r["null_values"]["where"]
    assert "written as null" in text and "could not score" in text


# ----------------------------------------------------------------------------- 8: the pixel limit
def test_a_decompression_bomb_is_refused_and_the_limit_can_be_raised(tmp_path, capsys, monkeypatch):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 100_000                                   # a small file, a huge image
    rc, _, err = run(capsys, "restore", bomb, "-o", tmp_path / "o.png", "--method", "identity")
    one_line_error(rc, err, "image:", "144,000,000", "more than the limit", "--max-pixels")
    small = tmp_path / "small.png"
    Image.new("1", (300, 200), 1).save(small)
    monkeypatch.setenv("RESTORELIB_MAX_PIXELS", "50000")
    rc, _, err = run(capsys, "restore", small, "-o", tmp_path / "o.png", "--method", "identity")
    one_line_error(rc, err, "60,000", "limit of 50,000")
    rc, text, err = run(capsys, "restore", small, "-o", tmp_path / "o.png", "--method", "identity",
                        "--max-pixels", "60000")
    assert rc == 0, err
    assert "1-bit" in text


def test_baselines_run_in_tiles_and_take_float64():
    from restorelib.joint.baselines import BaselineMethod, build_baseline
    net = build_baseline("vdsr-s")
    torch.manual_seed(0)
    for p in net.parameters():                              # a trained-looking network, not the identity
        torch.nn.init.normal_(p, std=0.02)
    method = BaselineMethod(net)
    x = torch.rand(1, 3, 90, 100, generator=torch.Generator().manual_seed(2))
    whole = method.restore(x).images
    tiled = method.restore(x.double(), tile=32).images     # 4x4 tiles with 2 x 15 px of context
    assert tiled.dtype == torch.float32 and torch.allclose(tiled, whole, atol=1e-5)


@pytest.mark.parametrize("args, needle", [(["--seed", str(2**70)], "--seed must be an int"),
                                          (["--max-pixels", "0"], "--max-pixels must be a positive int")])
def test_other_numbers_are_checked_first(args, needle, folder, capsys, no_work):
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10", *args)
    one_line_error(rc, err, needle)


def test_a_bad_device_variable_is_named(folder, capsys, monkeypatch, no_work):
    monkeypatch.setenv("RESTORELIB_DEVICE", "bogus")
    rc, _, err = run(capsys, "evaluate", "--method", "identity", "--images", folder, "--distortion", "noise:10")
    one_line_error(rc, err, "RESTORELIB_DEVICE: device must be")


@pytest.mark.parametrize("text", ["1_0", "١٢", "１２", "0x10", "1.5", "", "nan"])
def test_integer_flags_take_ascii_digits_only(text):
    from restorelib.core.validation import flag_int
    with pytest.raises(argparse.ArgumentTypeError, match="integer in ASCII digits"):
        flag_int(text)


@pytest.mark.parametrize("text", ["1_0.5", "١", "nan", "inf", "-inf", "1e", "."])
def test_real_flags_take_finite_ascii_numbers_only(text):
    from restorelib.core.validation import flag_float
    with pytest.raises(argparse.ArgumentTypeError, match="finite number"):
        flag_float(text)


def test_good_numeric_flags_still_parse():
    from restorelib.core.validation import flag_float, flag_int
    assert [flag_int(t) for t in ("12", "-3", "+4", " 5 ")] == [12, -3, 4, 5]
    assert [flag_float(t) for t in ("0.5", "-2", "1e-6", ".25", "3.")] == [0.5, -2.0, 1e-6, 0.25, 3.0]


@pytest.mark.parametrize("args", [["evaluate", "--method", "identity", "--images", "embedded-test",
                                   "--patch", "1_1"],
                                  ["evaluate", "--method", "identity", "--images", "embedded-test", "--seed", "١٢"],
                                  ["restore", "in.png", "-o", "out.png", "--tile", "１２８"]])
def test_the_command_line_refuses_lenient_numbers_in_one_line(args, tmp_path):
    p = subprocess.run([sys.executable, "-m", "restorelib", *args], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    errors = p.stderr.splitlines()                      # argparse's errors too are one line, without the usage
    assert p.returncode == 2 and len(errors) == 1 and "ASCII digits" in errors[0], p.stderr
    assert "Traceback" not in p.stderr and sorted(tmp_path.iterdir()) == []


def test_every_numeric_flag_of_the_cli_and_scripts_is_strict():
    root = Path(__file__).resolve().parents[1]
    standalone = {"check_book.py", "check_explorer.py"}           # run without restorelib installed
    files = [*sorted((root / "restorelib" / "cli").glob("*.py")), *sorted((root / "scripts").glob("*.py"))]
    lenient = [f"{p.name}:{n}" for p in files
               if p.name not in standalone
               for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"type=(int|float)\b", line)]
    assert not lenient, f"numeric flags parsed by int()/float(), which take 1_0 and non-ASCII digits: {lenient}"
