"""Checkpoint folders are not trusted (issue 22, items 10 and 13): every artifact kind's record.json (or the tools'
manifest.json) is checked against one schema -- the weights file a plain name inside the folder, the sha256
mandatory, the config typed and in range -- and every bad folder is one ValueError naming the file, never a load that
skips the hash, reads outside the folder, accepts t_max -5, or a raw KeyError / UnpicklingError / RuntimeError.
The command line answers each with one line and exit code 2."""
from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from restorelib.joint import baselines
from restorelib.rlrestore import dqn
from restorelib.hirl import restore as hirl_restore
from restorelib.labelfree import policy as label_free, quality_net
from restorelib.pixelrl import a2c as pixelrl
from restorelib.pixelrl.color_method import load_color_model
from restorelib.cli import main
from restorelib.core.config import weights_dir
from restorelib.toolbox.tools import SmallTool, Toolbox, sha256_bytes

W = weights_dir()
# kind -> (shipped folder, loader, a positive-int config field, the CLI method that loads such a folder)
KINDS = {
    "rl-restore": (W / "agents" / "rl-restore", dqn.load_agent, "t_max", "rl-restore"),
    "hirl": (W / "agents-hirl" / "hirl", hirl_restore.load_hirl, "max_len", "hirl"),
    "pixelrl": (W / "pixelrl" / "noise25-gru-rmc", pixelrl.load_pixelrl, "t_max", "pixelrl"),
    "label-free": (W / "agents-label-free" / "label-free", label_free.load_label_free, "t_max", "label-free"),
    "baseline": (W / "baselines" / "vdsr-s", baselines.load_baseline, "steps", "vdsr-s"),
    "quality-net": (W / "quality" / "quality-net", quality_net.load_quality_net, "steps", None),
}


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def _set(key, value):
    def edit(record, folder):
        record[key] = value
    return edit


def _drop(key):
    def edit(record, folder):
        record.pop(key)
    return edit


def _config(key, value):
    def edit(record, folder):
        record["config"][key] = value
    return edit


def _outside(record, folder):
    (folder.parent / "outside.pt").write_bytes((folder / record["file"]).read_bytes())
    record["file"] = "../outside.pt"                          # the right hash: only the place is wrong


def _weights(state):
    def edit(record, folder):
        buf = io.BytesIO()
        torch.save(state, buf)
        (folder / record["file"]).write_bytes(buf.getvalue())
        record["sha256"] = sha256_bytes(buf.getvalue())       # the hash is right: only the content is bad
    return edit


# case -> (edit of record.json, words the error must hold); "{int}" is the kind's positive-int config field
CASES = {
    "sha256 null": (_set("sha256", None), "'sha256' must be the 64 hex digits"),
    "sha256 missing": (_drop("sha256"), "'sha256' must be the 64 hex digits"),
    "sha256 short": (_set("sha256", "abc"), "'sha256' must be the 64 hex digits"),
    "file outside": (_outside, "'file' must be the plain name of a weights file inside"),
    "file absolute": (_set("file", "/etc/hostname"), "'file' must be the plain name"),
    "file missing": (_drop("file"), "'file' must be the plain name"),
    "file not there": (_set("file", "gone.pt"), "'gone.pt', which is not a file"),
    "config negative": ("{int}", "must be a positive int, got -5"),
    "config wrong type": (_config("seed", "zero"), "config.seed must be an int, got 'zero'"),
    "config bool for int": (_config("seed", True), "config.seed must be an int, got True"),
    "config unknown field": (_config("bogus", 1), "['bogus']"),
    "config not an object": (_set("config", [1, 2]), "'config' must be an object"),
    "blocked pickle global": (_weights({"x": Payload()}), "cannot be loaded safely (UnpicklingError"),
    "wrong-shape state dict": (_weights(SmallTool().state_dict()), "does not fit the network"),
}


def broken_copy(kind: str, case: str, tmp_path):
    src, _, int_field, _ = KINDS[kind]
    folder = tmp_path / "ckpt"
    shutil.copytree(src, folder)
    record = json.loads((folder / "record.json").read_text())
    edit, _ = CASES[case]
    (_config(int_field, -5) if edit == "{int}" else edit)(record, folder)
    (folder / "record.json").write_text(json.dumps(record))
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_records_are_one_error_naming_the_file(kind, case, tmp_path, capsys):
    folder = broken_copy(kind, case, tmp_path)
    with pytest.raises(ValueError) as err:
        KINDS[kind][1](folder)
    msg = str(err.value)
    assert "\n" not in msg and str(folder) in msg, msg
    assert CASES[case][1] in msg, msg
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize("text, words", [("{not json", "not valid JSON"), ("[1, 2]", "must hold a JSON object"),
                                         ("\xff\xfe", "cannot be read")])
def test_unreadable_records_are_named(text, words, tmp_path):
    folder = tmp_path / "agent"
    shutil.copytree(KINDS["rl-restore"][0], folder)
    (folder / "record.json").write_text(text, encoding="latin-1")
    with pytest.raises(ValueError, match=words) as err:
        dqn.load_agent(folder)
    assert "record.json" in str(err.value)


def test_every_shipped_checkpoint_still_loads():
    loaded = 0
    for rec in sorted(W.glob("*/*/record.json")):
        kind = rec.parent.parent.name
        loader = {"agents": dqn.load_agent, "agents-hirl": hirl_restore.load_hirl, "pixelrl": pixelrl.load_pixelrl,
                  "agents-label-free": label_free.load_label_free, "baselines": baselines.load_baseline,
                  "quality": quality_net.load_quality_net, "pixelrl-color": load_color_model}[kind]
        net = loader(rec.parent)[0]
        assert not net.training
        loaded += 1
    for name in ("tools", "tools-original", "tools-joint", "hirl-tools"):
        if (W / name / "manifest.json").is_file():
            assert len(Toolbox.load(W / name)) >= 9
            loaded += 1
    assert loaded >= 10


def _manifest_copy(tmp_path, edit):
    folder = tmp_path / "tools"
    shutil.copytree(W / "tools-original", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _tool0(key, value):
    def edit(m, folder):
        m["tools"][0][key] = value
    return edit


def _spec0(key, value):
    def edit(m, folder):
        m["tools"][0]["spec"][key] = value
    return edit


@pytest.mark.parametrize("edit, words", [
    (_tool0("sha256", None), r"tools\[0\]\): 'sha256' must be the 64 hex digits"),
    (_tool0("file", "../tools-original/blur-1.pt"), "'file' must be the plain name"),
    (_spec0("depth", 5), r"tools\[0\].spec: depth must be 3 or 8"),
    (_spec0("low", float("nan")), r"tools\[0\].spec.low must be a finite number"),
    (_spec0("distortion", "rain"), "distortion must be 'blur', 'noise' or 'jpeg'"),
    (_spec0("high", -1.0), "0 <= low <= high"),
    (lambda m, f: m.pop("tools"), "'tools' must be a non-empty list"),
    (lambda m, f: m["tools"][1].__setitem__("spec", m["tools"][0]["spec"]), "names must differ"),
])
def test_bad_tool_manifests_are_named(edit, words, tmp_path):
    folder = _manifest_copy(tmp_path, edit)
    with pytest.raises(ValueError, match=words) as err:
        Toolbox.load(folder)
    assert "manifest.json" in str(err.value) and "\n" not in str(err.value)


def test_hirl_records_toolbox_stays_under_the_weights(tmp_path):
    folder = tmp_path / "hirl"
    shutil.copytree(KINDS["hirl"][0], folder)
    record = json.loads((folder / "record.json").read_text())
    record["toolbox"] = "../../../etc"
    (folder / "record.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="'toolbox' must be null, an absolute folder or a folder under"):
        hirl_restore.load_hirl(folder)


# ----------------------------------------------------------------------------- the command line: exit 2, one line
@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("case", ["sha256 null", "file outside", "file missing", "config negative",
                                  "blocked pickle global", "wrong-shape state dict"])
@pytest.mark.parametrize("kind", [k for k in sorted(KINDS) if KINDS[k][3] is not None])
def test_the_command_line_refuses_bad_checkpoints_in_one_line(kind, case, photo, tmp_path, capsys):
    folder = broken_copy(kind, case, tmp_path)
    out = tmp_path / "out.png"
    rc = main(["restore", str(photo), "-o", str(out), "--method", f"{KINDS[kind][3]}:{folder}"])
    cap = capsys.readouterr()
    assert rc == 2 and cap.err.count("\n") == 1 and "Traceback" not in cap.err, cap.err
    assert "--method" in cap.err and CASES[case][1] in cap.err, cap.err
    assert not out.exists() and "must never run" not in cap.out


# ----------------------------------------------------------------------------- siblings: other files read back
@pytest.mark.parametrize("content, words", [("{oops", "not valid JSON"), ('{"mean": [0, 1]}', "36 finite numbers"),
                                            ('{"mean": [0], "cov": "x"}', "36 finite numbers"),
                                            (json.dumps({"mean": [float("nan")] * 36, "cov": [[0] * 36] * 36}),
                                             "36 finite numbers")])
def test_a_bad_niqe_model_file_is_named(content, words, tmp_path):
    from restorelib.core.quality import NIQEModel
    path = tmp_path / "niqe.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=words) as err:
        NIQEModel.load(path)
    assert "niqe.json" in str(err.value)


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04broken"])
def test_a_corrupt_training_state_is_named(content, tmp_path):
    from restorelib.core.resume import Checkpointer
    path = tmp_path / "run.state.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"training state .*run.state.pt cannot be loaded .*delete it") as err:
        Checkpointer(path).load()
    assert "\n" not in str(err.value)
    torch.save([1, 2], path)
    with pytest.raises(ValueError, match="holds a list, not a saved state"):
        Checkpointer(path).load()


def test_no_tracked_weights_file_is_large_and_no_agent_run_state_is_tracked():
    """A stopped agent run's state holds its replay memory (about 1 GB at book scale): it must never be committed
    (it was once, swept in by ``git add -A`` while a run was going); the shipped weights are a few MB each."""
    import subprocess
    root = W.parents[1]
    try:
        files = subprocess.run(["git", "ls-files", "restorelib/weights"], cwd=root, capture_output=True, text=True,
                               check=True, timeout=60).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert files, "git lists no shipped weights"
    big = {f: (root / f).stat().st_size for f in files if (root / f).is_file() and (root / f).stat().st_size > 8e6}
    assert not big, f"tracked weights files over 8 MB: {big}"
    agents = [f for f in files if f.startswith("restorelib/weights/agents") and "/.partial/" in f]
    assert not agents, f"agent run states are tracked: {agents}"
    ignored = subprocess.run(["git", "check-ignore", "-q", "restorelib/weights/agents/x/.partial/agent.state.pt"],
                             cwd=root, timeout=60)
    assert ignored.returncode == 0, ".gitignore must ignore the agents' .partial folders"
