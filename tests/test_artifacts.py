"""The artifact layer (restorelib.core.artifacts): a fake model kind saved, listed, resolved and loaded back; a tampered
record refused; the book/CI switch of every ``get_X(profile)``."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from restorelib.core.artifacts import (
    CARD, RECORD, ArtifactKind, has_record, load_or_train, produced, resolve, shipped, write_readme)
from restorelib.core.checkpoints import CheckpointError, write_checkpoint
from restorelib.core.config import Profile, get_profile


@dataclass
class FakeConfig:
    width: int = 3
    steps: int = 5

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width!r}")

    def to_dict(self) -> dict:
        return {"width": self.width, "steps": self.steps}


def fake_net(cfg: FakeConfig, record: dict | None = None) -> torch.nn.Module:
    return torch.nn.Linear(cfg.width, 2)


def saved(root: Path, name: str, width: int = 3, seed: int = 0) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(seed)
    net = fake_net(FakeConfig(width))
    write_checkpoint(net, root / name, "net.pt", command="test", scale="ci", config=FakeConfig(width).to_dict(),
                     device="cpu", seconds=1.5)
    return root / name, net


def kind(root: Path, **kw) -> ArtifactKind:
    return ArtifactKind(folder=root, config_cls=FakeConfig, build=fake_net, default="a", what="fake",
                        hint="train one with `make fake`", **kw)


def test_record_name_and_card_name():
    assert RECORD == "record.json" and CARD == "README.md"


def test_save_shipped_resolve_load_round_trip(tmp_path):
    root = tmp_path / "shipped"
    assert shipped(root) == [] and kind(root).shipped() == []             # no folder yet: nothing shipped
    a, net_a = saved(root, "a", seed=1)
    b, _ = saved(root, "b", width=4, seed=2)
    (root / "half").mkdir()                                               # a folder without a record is not listed
    (root / "half" / "net.pt").write_bytes(b"")
    k = kind(root)
    assert shipped(root) == k.shipped() == ["a", "b"] and has_record(a) and not has_record(root / "half")
    assert k.resolve() == a and k.resolve("b") == b and k.resolve(str(b)) == b
    net, cfg, record = k.load()                                           # the default name
    assert isinstance(cfg, FakeConfig) and cfg.width == 3 and not net.training
    assert all(torch.equal(p, q) for p, q in zip(net.state_dict().values(), net_a.state_dict().values()))
    assert record["command"] == "test" and record["file"] == "net.pt" and k.record("a") == record
    other = tmp_path / "elsewhere"                                        # a folder outside the shipped ones
    saved(tmp_path, "elsewhere", width=5)
    assert k.load(other)[1].width == 5


def test_resolve_names_the_choices_and_how_to_train(tmp_path):
    root = tmp_path / "shipped"
    saved(root, "a")
    with pytest.raises(FileNotFoundError, match=r"fake must be one of \['a'\] or a folder with record.json, got "
                                                r"'nope'; train one with `make fake`"):
        kind(root).load("nope")
    with pytest.raises(FileNotFoundError, match=r"model must be one of \[\] .*got 'x'$"):
        resolve("x", tmp_path / "none")


def test_folder_may_be_read_on_each_use(tmp_path):
    where = {"root": tmp_path / "first"}
    saved(tmp_path / "second", "z")
    k = ArtifactKind(folder=lambda: where["root"], config_cls=FakeConfig, build=fake_net)
    assert k.shipped() == []
    where["root"] = tmp_path / "second"                                   # e.g. a test's monkeypatched module folder
    assert k.shipped() == ["z"] and k.root == tmp_path / "second"


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(sha256="0" * 64), "has sha256"),
    (lambda r: r.pop("sha256"), "'sha256' must be the 64 hex digits"),
    (lambda r: r.update(file="../net.pt"), "'file' must be the plain name"),
    (lambda r: r["config"].update(width="3"), r"config.width must be an int"),
    (lambda r: r["config"].update(width=0), "width must be >= 1"),
    (lambda r: r["config"].update(depth=2), r"field\(s\) \['depth'\]"),
])
def test_a_tampered_record_is_refused(tmp_path, change, message):
    folder, _ = saved(tmp_path, "a")
    record = json.loads((folder / RECORD).read_text())
    change(record)
    (folder / RECORD).write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match=message):
        kind(tmp_path).load("a")


def test_a_kinds_own_check_runs_before_the_network_is_built(tmp_path):
    saved(tmp_path, "a")
    seen = []

    def check(record: dict, where: Path) -> None:
        seen.append(where)
        raise CheckpointError(f"{where}: 'toolbox' is wrong")

    def build(cfg, record):                                               # never reached
        raise AssertionError("built before the check")

    k = ArtifactKind(folder=tmp_path, config_cls=FakeConfig, build=build, check=check)
    with pytest.raises(CheckpointError, match="'toolbox' is wrong"):
        k.load("a")
    assert seen == [tmp_path / "a" / RECORD]


def switch(profile: Profile, bank: object, calls: list, **kw):
    def load():
        calls.append(("load",))
        return "loaded"

    def train(cfg, **run):
        calls.append(("train", cfg, run))
        return "trained"
    return load_or_train(profile, bank, load, train, config=lambda scale: FakeConfig(steps=len(scale)),
                         run="fake", inputs=(torch.zeros(2, 3),), **kw)


def test_book_scale_loads_and_ci_scale_trains():
    calls: list = []
    assert switch(get_profile("book"), None, calls) == "loaded" and calls == [("load",)]
    calls.clear()
    assert switch(get_profile("ci"), torch.zeros(2, 3), calls, progress=True) == "trained"
    (what, cfg, run), = calls
    assert what == "train" and cfg == FakeConfig(steps=2)                 # config("ci")
    assert run["progress"] is True and run["checkpoint"] is None and run["checkpoint_every"] > 0
    with pytest.raises(ValueError, match=r"bank must hold clean training patches \(P, C, H, W\) when the profile"):
        switch(get_profile("ci"), None, [], shape="(P, C, H, W)")


def test_long_runs_keep_a_state_and_show_the_scale(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORELIB_CACHE", str(tmp_path))
    calls: list = []
    switch(Profile("gpu", max_images=3, train=True), torch.zeros(2, 3), calls)
    (_, cfg, run), = calls
    assert run["progress"] == "gpu scale" and cfg == FakeConfig(steps=3)
    assert run["checkpoint"].parent.name == "gpu" and run["checkpoint"].name.startswith("fake-")
    assert not any(tmp_path.rglob("*.pt"))                                # the trainer writes it, not the switch


def test_produced_line_and_card(tmp_path):
    folder, _ = saved(tmp_path, "a")
    r = json.loads((folder / RECORD).read_text())
    line = produced(r)
    assert line.startswith("Produced by `test` on ") and f"torch {torch.__version__}), 0 min." in line
    assert produced(r, ".1f").endswith("0.0 min.")
    assert write_readme(folder, ["# Card", "", line]) == folder / CARD
    assert (folder / CARD).read_text() == f"# Card\n\n{line}"
    write_readme(folder, "text\n")
    assert (folder / CARD).read_text() == "text\n"
