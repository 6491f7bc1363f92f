"""`python -m restorelib tools|evaluate`: output, JSON and one-line errors with exit code 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from restorelib.cli import main


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(d / f"img{i}.png")
    return d


def test_tools_table_and_json(capsys):
    assert main(["tools"]) == 0
    out = capsys.readouterr().out
    assert "noise-2" in out and "21,827" in out and "50,851" in out
    assert main(["tools", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 12
    assert set(rows[0]) >= {"name", "distortion", "low", "high", "params"}
    assert rows[11] == {**rows[11], "name": "jpeg-4", "distortion": "jpeg", "low": 10.0, "high": 20.0, "params": 50851}


def test_evaluate_identity_writes_json(folder, tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--method", "identity", "--images", str(folder), "--distortion", "noise:20",
               "--seed", "1", "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    for key in ("method", "distortion", "images", "psnr_in", "psnr_out", "ssim_in", "ssim_out", "tool_calls",
                "params", "macs", "seconds", "per_image"):
        assert key in r
    assert r["images"] == 2 and len(r["per_image"]) == 2
    assert "PSNR" in capsys.readouterr().out


def test_evaluate_tool_with_patches_and_limit(folder, tmp_path):
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--method", "tool:jpeg-2", "--images", str(folder), "--distortion", "jpeg:40",
               "--patch", "32", "--limit", "1", "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["images"] == 1 and r["tool_calls"] == 1 and r["params"] == 21827 and r["macs"] > 0


@pytest.mark.parametrize("extra, words", [
    ([], "identity on 2 images, distortion"),
    (["--limit", "1"], "identity on 1 image, distortion"),
    (["--patch", "16", "--patches-per-image", "4"], "identity on 2 images x 4 patches of 16x16, distortion"),
    (["--patch", "16", "--limit", "1"], "identity on 1 image x 1 patch of 16x16, distortion"),
])
def test_evaluate_says_what_it_measured_on(extra, words, folder, capsys):
    rc = main(["evaluate", "--method", "identity", "--images", str(folder), "--distortion", "noise:20", *extra])
    assert rc == 0 and capsys.readouterr().out.splitlines()[0].startswith(words)


@pytest.mark.parametrize("args, needle", [
    (["--method", "nope", "--distortion", "moderate"], "--method"),
    (["--method", "tool:nope", "--distortion", "moderate"], "--method"),
    (["--method", "identity", "--distortion", "fog:2"], "--distortion"),
    (["--method", "identity", "--distortion", "moderate", "--patch", "5"], "--patch"),
    (["--method", "identity", "--distortion", "moderate", "--patch", "500"], "patch"),
    (["--method", "identity", "--distortion", "moderate", "--limit", "0"], "--limit"),
])
def test_evaluate_bad_arguments_exit_2_and_write_nothing(folder, tmp_path, capsys, args, needle):
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--images", str(folder), "--json", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_evaluate_bad_folders(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for images in (str(empty), str(tmp_path / "missing"), "NoSuchSet"):
        rc = main(["evaluate", "--method", "identity", "--images", images, "--distortion", "moderate"])
        assert rc == 2
        assert "--images" in capsys.readouterr().err


def test_json_folder_must_exist(folder, tmp_path, capsys):
    rc = main(["evaluate", "--method", "identity", "--images", str(folder), "--distortion", "moderate",
               "--json", str(tmp_path / "no" / "r.json")])
    assert rc == 2 and "--json" in capsys.readouterr().err


def test_json_not_overwritten_on_error(folder, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("keep")
    assert main(["evaluate", "--method", "nope", "--images", str(folder), "--distortion", "moderate",
                 "--json", str(out)]) == 2
    assert out.read_text() == "keep"


def test_module_entry_point(folder):
    p = subprocess.run([sys.executable, "-m", "restorelib", "evaluate", "--method", "identity", "--images",
                        str(folder), "--distortion", "bad"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "error" in p.stderr
