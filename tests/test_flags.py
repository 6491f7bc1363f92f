"""The scripts' shared flags (restorelib.core.flags, issue 21): defined once, parsed strictly, refused in one error
line naming the flag (exit 2) before any work; the scripts import the installed package instead of patching
``sys.path``."""
from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib.core import banks, resume
from restorelib.core.flags import (
    add_common_flags, add_device_flag, add_force_flag, add_out_flag, add_resume_flags, add_scale_flag, add_seed_flag,
    add_test_flags, add_train_set_flag, check_test_flags, device_flag)

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
#: scripts that put a folder on sys.path, and why (nothing else may: restorelib is installed)
PATH_INSERTS = {
    "check_book.py": "imports book_layout, beside it; tests load it by its file path",
    "gpu_smoke.py": "imports gpu_paths, beside it, also when imported from elsewhere",
    "size_gpu_scale.py": "imports gpu_paths, beside it, also when imported from elsewhere",
}
#: scripts that run without restorelib installed (the book's browser checks), so they cannot use its flags
STANDALONE = {"check_book.py": "runs without restorelib", "check_explorer.py": "runs without restorelib"}
SHARED = ("device", "seed", "scale", "out", "resume", "checkpoint-every", "force", "train-set")
#: a training run's test flags, shared by the training scripts (an eval script's --test-set is its own)
TEST_FLAGS = ("test-set", "eval-size", "eval-images")


def scripts() -> list[Path]:
    return sorted(SCRIPTS.glob("*.py"))


def script_module(name: str):
    """A script imported by its file path (as the tests of the other scripts do)."""
    spec = importlib.util.spec_from_file_location(Path(name).stem, SCRIPTS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refused(ap: argparse.ArgumentParser, argv: list[str], capsys) -> str:
    """The error line of a refused command line (exit status 2)."""
    with pytest.raises(SystemExit) as stop:
        ap.parse_args(argv)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert stop.value.code == 2 and len(errors) == 1, errors
    return errors[0]


# ----------------------------------------------------------------------------- no sys.path patching
def test_no_script_patches_sys_path_unless_it_says_why():
    patched = [p.name for p in scripts() if "sys.path.insert" in p.read_text()]
    assert sorted(patched) == sorted(PATH_INSERTS), f"sys.path.insert outside {sorted(PATH_INSERTS)}: {patched}"
    for name in PATH_INSERTS:                     # only the script's own folder, for its sibling module
        lines = [line for line in (SCRIPTS / name).read_text().splitlines() if "sys.path.insert" in line]
        assert lines and all("Path(__file__).resolve().parent)" in line for line in lines), (name, lines)


def test_no_import_waits_for_a_path_patch():
    """``# noqa: E402`` (an import after other code) only where a sys.path line comes first."""
    stale = [p.name for p in scripts() if "noqa: E402" in p.read_text() and p.name not in PATH_INSERTS]
    assert not stale, f"imports marked E402 with no sys.path patch before them: {stale}"


# ----------------------------------------------------------------------------- defined once
def hand_made(flags: tuple[str, ...], files: list[Path]) -> list[str]:
    """``file:line: --flag`` for each ``add_argument("--flag"`` of ``flags`` in ``files``."""
    pattern = re.compile(r"""add_argument\(\s*["']--(%s)["']""" % "|".join(map(re.escape, flags)))
    return [f"{p.name}:{n}: --{m.group(1)}" for p in files
            for n, line in enumerate(p.read_text().splitlines(), 1) if (m := pattern.search(line))]


def test_no_script_defines_a_shared_flag_by_hand():
    found = hand_made(SHARED, [p for p in scripts() if p.name not in STANDALONE])
    found += hand_made(TEST_FLAGS, sorted(SCRIPTS.glob("train_*.py")))
    assert not found, "shared flags defined by hand (use restorelib.core.flags):\n" + "\n".join(found)


def test_the_old_homes_of_the_flags_are_the_same_functions():
    assert resume.add_resume_flags is add_resume_flags and banks.add_train_set_flag is add_train_set_flag


# ----------------------------------------------------------------------------- parsing
def common_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="t")
    add_common_flags(ap, scales=("ci", "book", "paper"))
    add_train_set_flag(ap)
    add_test_flags(ap, eval_size=128)
    return ap


def test_the_defaults_are_the_scripts_defaults():
    args = vars(common_parser().parse_args([]))
    assert args == {"scale": "book", "out": None, "resume": False, "checkpoint_every": 300.0, "force": False,
                    "seed": 0, "device": None, "train_set": ["embedded-train"], "test_set": "embedded-test",
                    "eval_size": 128, "eval_images": None}


def test_good_values_parse_to_the_scripts_types(tmp_path):
    args = common_parser().parse_args(["--scale", "ci", "--out", str(tmp_path), "--resume", "--checkpoint-every",
                                       "1e-6", "--seed", "-3", "--device", "cpu", "--train-set", "a", "b",
                                       "--eval-size", "0", "--eval-images", "2"])
    assert (args.scale, args.out, args.resume, args.checkpoint_every) == ("ci", tmp_path, True, 1e-6)
    assert (args.seed, args.device, args.train_set, args.eval_size, args.eval_images) == (-3, "cpu", ["a", "b"], 0, 2)
    assert isinstance(args.device, str)           # the name typed, as the records store it


@pytest.mark.parametrize("argv, flag, words", [
    (["--device", "bogus"], "--device", "device must be"),
    (["--device", ""], "--device", "device must be"),
    (["--seed", "1_0"], "--seed", "ASCII digits"),
    (["--seed", "1.5"], "--seed", "ASCII digits"),
    (["--scale", "huge"], "--scale", "invalid choice"),
    (["--checkpoint-every", "nan"], "--checkpoint-every", "finite number"),
    (["--eval-size", "１２"], "--eval-size", "ASCII digits"),
    (["--train-set"], "--train-set", "expected at least one"),
])
def test_bad_values_are_refused_in_one_line_naming_the_flag(argv, flag, words, capsys):
    line = refused(common_parser(), argv, capsys)
    assert f"argument {flag}" in line and words in line, line


def test_cuda_is_refused_where_there_is_none(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    line = refused(common_parser(), ["--device", "cuda"], capsys)
    assert "argument --device" in line and "not available" in line, line
    with pytest.raises(argparse.ArgumentTypeError, match="not available"):
        device_flag("cuda:0")


@pytest.mark.parametrize("argv, words", [(["--eval-size", "-1"], "--eval-size must be 0 or a positive int"),
                                         (["--eval-images", "0"], "--eval-images must be a positive int")])
def test_the_test_flags_ranges(argv, words, capsys):
    ap = common_parser()
    args = ap.parse_args(argv)
    with pytest.raises(SystemExit) as stop:
        check_test_flags(ap, args)
    assert stop.value.code == 2 and words in capsys.readouterr().err


def test_the_single_flags_and_their_options(tmp_path, capsys):
    ap = argparse.ArgumentParser(prog="t")
    add_out_flag(ap, help="the JSON to write", required=True)
    add_force_flag(ap, "replace it")
    add_scale_flag(ap, ("gpu", "ci"), "gpu")
    add_seed_flag(ap, default=5)
    add_device_flag(ap, "cuda or cpu")
    add_train_set_flag(ap, default="Train400", many=False)
    args = ap.parse_args(["--out", str(tmp_path / "x.json")])
    assert (args.out, args.force, args.scale, args.seed, args.device, args.train_set) == \
        (tmp_path / "x.json", False, "gpu", 5, None, "Train400")
    assert "--out" in refused(ap, [], capsys)                    # required
    help_text = " ".join(ap.format_help().split())           # argparse wraps the lines
    assert "the JSON to write" in help_text and "replace it" in help_text and "cuda or cpu" in help_text
    assert "ci: checks the script" in help_text and "gpu: sized for one GPU" in help_text


def test_resume_flags_without_force():
    ap = argparse.ArgumentParser(prog="t")
    add_resume_flags(ap, 180.0, force=False)
    assert vars(ap.parse_args([])) == {"resume": False, "checkpoint_every": 180.0}


# ----------------------------------------------------------------------------- the scripts themselves
def test_train_tools_parses_the_campaigns_command_as_before():
    """The command of the running tool campaign (CAMPAIGN.md): the same namespace as before the flags moved."""
    ap = script_module("train_tools.py")._parser()
    args = ap.parse_args("--scale book --train-set CBSD398 --curve-set LIVE1 --resume --out restorelib/weights/tools "
                         "--only jpeg-3 blur-1".split())
    assert vars(args) == {"scale": "book", "out": Path("restorelib/weights/tools"), "train_set": ["CBSD398"],
                          "val_set": "CBSD68", "curve_set": "LIVE1", "val_per_image": 4, "steps": None,
                          "min_gain": None, "no_robust": False, "only": ["jpeg-3", "blur-1"], "seed": 0,
                          "resume": True, "checkpoint_every": 180.0, "device": None}


@pytest.mark.parametrize("script", ["train_pixelrl.py", "train_pixelrl_color.py"])
@pytest.mark.parametrize("argv, words", [(["--eval-size", "-1"], "--eval-size must be 0"),
                                         (["--eval-images", "0"], "--eval-images must be a positive"),
                                         (["--device", "bogus"], "argument --device: device must be")])
def test_both_pixelrl_trainers_refuse_alike_before_any_work(script, argv, words, tmp_path, capsys):
    module = script_module(script)
    with pytest.raises(SystemExit) as stop:
        module.main(["--scale", "ci", "--out", str(tmp_path / "run"), *argv])
    assert stop.value.code == 2 and words in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


def test_a_script_refuses_a_bad_device_before_any_work(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, str(SCRIPTS / "train_baseline.py"), "--model", "vdsr-s", "--scale", "ci",
                        "--device", "tpu-9", "--out", str(out)], capture_output=True, text=True, timeout=300)
    errors = [line for line in p.stderr.splitlines() if "error:" in line]
    assert p.returncode == 2 and len(errors) == 1 and "argument --device" in errors[0], p.stderr
    assert "Traceback" not in p.stderr and not out.exists()
