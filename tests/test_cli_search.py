"""`python -m restorelib evaluate` with the chapter-3 searchers (shipped toolbox): chains, trials, flags, errors."""
import itertools
import json

import numpy as np
import pytest
from PIL import Image

from restorelib.cli import main
from restorelib.toolbox.tools import TOOL_NAMES, shipped_tools_available

pytestmark = pytest.mark.skipif(not shipped_tools_available(), reason="no shipped tool checkpoints")


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        smooth = np.kron(rng.integers(40, 216, (6, 6, 3)), np.ones((4, 4, 1)))   # blocky, so blur matters
        Image.fromarray(smooth.astype(np.uint8)).save(d / f"img{i}.png")
    return d


_RUNS = itertools.count()


def run(folder, tmp_path, *args: str) -> dict:
    out = tmp_path / f"r{next(_RUNS)}.json"             # a new file each run: --json never overwrites without --force
    rc = main(["evaluate", "--images", str(folder), "--json", str(out), *args])
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["images"] == 2 and len(r["per_image"]) == 2
    return r


def test_reverse(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "reverse", "--distortion", "blur:2+noise:20+jpeg:30")
    assert r["method"] == "reverse"
    assert r["tool_calls"] == 3 and r["trials"] == 3
    for row in r["per_image"]:
        assert row["levels"] == {"blur": 2.0, "noise": 20.0, "jpeg": 30.0}
        assert row["chain"] == ["jpeg-3", "noise-2", "blur-2"]
        assert row["tool_calls"] == 3 and row["trials"] == 3 and row["macs"] > 0


def test_reverse_skips_absent_distortions(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "reverse", "--distortion", "noise:40")
    assert r["tool_calls"] == 1 and all(row["chain"] == ["noise-4"] for row in r["per_image"])


def test_brute_force_length_1(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "brute-force", "--max-length", "1", "--distortion", "noise:20")
    assert r["method"] == "brute-force(L=1)"
    assert r["trials"] == 12
    assert r["psnr_out"] >= r["psnr_in"] - 1e-6
    for row in r["per_image"]:
        assert row["psnr_out"] >= row["psnr_in"] - 1e-6
        assert len(row["chain"]) <= 1 and set(row["chain"]) <= set(TOOL_NAMES)
        assert row["tool_calls"] == len(row["chain"]) and row["trials"] == 12


def test_brute_force_budget(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "brute-force", "--max-length", "2", "--budget", "20",
            "--distortion", "noise:20")
    assert r["method"] == "brute-force(L=2)[budget 20]"
    assert r["trials"] == 20 and all(row["trials"] == 20 for row in r["per_image"])
    assert r["psnr_out"] >= r["psnr_in"] - 1e-6
    # 20 trials: the 12 single tools, then blur-1 followed by 8 tools
    for row in r["per_image"]:
        c = row["chain"]
        assert len(c) <= 2 and (len(c) < 2 or (c[0] == "blur-1" and c[1] in TOOL_NAMES[:8]))


def test_greedy(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "greedy", "--max-length", "2", "--distortion", "noise:20")
    assert r["method"] == "greedy(L=2)"
    assert r["psnr_out"] >= r["psnr_in"]
    for row in r["per_image"]:
        assert row["psnr_out"] >= row["psnr_in"] - 1e-6
        assert len(row["chain"]) <= 2 and row["trials"] in (12, 24)
        assert row["trials"] >= 12 * len(row["chain"])


def test_random(folder, tmp_path):
    r = run(folder, tmp_path, "--method", "random", "--max-length", "2", "--seed", "3", "--distortion", "noise:20")
    assert r["tool_calls"] == 2 and r["trials"] == 2 and r["seed"] == 3
    assert all(len(row["chain"]) == 2 and set(row["chain"]) <= set(TOOL_NAMES) for row in r["per_image"])
    again = run(folder, tmp_path, "--method", "random", "--max-length", "2", "--seed", "3", "--distortion", "noise:20")
    assert [row["chain"] for row in again["per_image"]] == [row["chain"] for row in r["per_image"]]


@pytest.mark.parametrize("args, flag", [
    (["--method", "brute-force", "--max-length", "0"], "--max-length"),
    (["--method", "greedy", "--max-length", "-2"], "--max-length"),
    (["--method", "random", "--max-length", "7"], "--max-length"),
    (["--method", "brute-force", "--budget", "0"], "--budget"),
    (["--method", "brute-force", "--max-length", "2", "--budget", "-5"], "--budget"),
])
def test_bad_search_flags_exit_2_and_write_nothing(folder, tmp_path, capsys, args, flag):
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--images", str(folder), "--distortion", "noise:20", "--json", str(out), *args])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and flag in err
    assert "PSNR" not in captured.out
    assert not out.exists() and list(tmp_path.iterdir()) == [folder]
