"""Chapter 5's single-network baselines: sizes as in RL-Restore's Table 2, training, checkpoints, the methods."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorelib import evaluate as E
from restorelib.joint.baselines import BaselineConfig, build_baseline, load_baseline, save_baseline, train_baseline
from restorelib.toolbox.tools import count_macs, count_params

from standins import gen


def test_sizes_match_the_papers():
    vdsr, slim, dncnn = (build_baseline(n).eval() for n in ("vdsr", "vdsr-s", "dncnn"))
    assert count_params(vdsr) == 668_227 and count_params(slim) == 209_247 and count_params(dncnn) == 558_403
    assert round(count_macs(vdsr) / 1e9, 2) == 2.65 and round(count_macs(slim) / 1e9, 3) == 0.828   # Table 2
    x = torch.rand(2, 3, 20, 24)
    assert torch.equal(vdsr(x), x)                   # a fresh baseline is the identity
    with pytest.raises(ValueError, match="name"):
        build_baseline("srcnn")


def test_train_save_load_and_evaluate(tmp_path):
    net = build_baseline("vdsr-s")
    bank = torch.rand(8, 3, 63, 63, generator=gen(0))
    rec = train_baseline(net, bank, BaselineConfig(steps=4, batch=2, log_every=2, spec="noise:30"))
    assert rec.steps == [2, 4] and rec.seconds > 0
    folder = tmp_path / "slim"
    save_baseline(net, "vdsr-s", BaselineConfig(steps=4), rec, folder, command="python scripts/train_baseline.py",
                  scale="ci")
    loaded, record = load_baseline(folder)
    x = torch.rand(1, 3, 63, 63)
    assert torch.equal(loaded(x), net(x)) and record["params"] == 209_247 and record["macs_63"] > 8e8
    m = E.get_method(f"vdsr-s:{folder}", "cpu")
    r = E.evaluate(m, {"a": torch.rand(3, 70, 70, generator=gen(1))}, "noise:30", patch=63)
    assert r["tool_calls"] == 1 and r["macs"] == pytest.approx(record["macs_63"], rel=1e-3)
    data = bytearray((folder / "model.pt").read_bytes())
    data[-10] ^= 0xFF
    (folder / "model.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_baseline(folder)
    with pytest.raises(FileNotFoundError, match="train one"):
        E.get_method("dncnn:nowhere", "cpu")


def test_train_baseline_script_ci(tmp_path):
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "dncnn"
    p = subprocess.run([sys.executable, str(root / "scripts" / "train_baseline.py"), "--model", "dncnn", "--scale",
                        "ci", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["model"] == "dncnn" and record["config"]["steps"] == 3 and "--model dncnn" in record["command"]
    bad = subprocess.run([sys.executable, str(root / "scripts" / "train_baseline.py"), "--model", "srcnn"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--model" in bad.stderr


def _killed_at(module, name: str, call: int, monkeypatch):
    """Replace ``module.name`` by a function that raises KeyboardInterrupt at its ``call``-th call: a run stopped
    mid-way."""
    real, calls = getattr(module, name), [0]

    def fn(*a, **k):
        calls[0] += 1
        if calls[0] == call:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(module, name, fn)


@pytest.mark.parametrize("amp", [False, True])
def test_train_baseline_resumes_from_its_checkpoint_to_the_same_net(tmp_path, monkeypatch, amp):
    import restorelib.joint.baselines as B
    from restorelib.core.patches import CropSampler
    sampler = CropSampler([torch.rand(3, 70, 80, generator=gen(2))], 32, scales=(1.0,))
    cfg = BaselineConfig(steps=6, batch=2, log_every=2, crop=24, spec="noise:30", amp=amp)
    torch.manual_seed(0)
    start = build_baseline("dncnn").state_dict()                # batch norm: its running statistics must come back
    straight = build_baseline("dncnn")
    straight.load_state_dict(start)
    rec_a = train_baseline(straight, sampler, cfg)
    ck = tmp_path / "state.pt"
    first = build_baseline("dncnn")
    first.load_state_dict(start)
    _killed_at(B, "degrade", 4, monkeypatch)                    # saved after every step, stopped in step 4
    with pytest.raises(KeyboardInterrupt):
        train_baseline(first, sampler, cfg, checkpoint=ck, checkpoint_every=1e-9)
    monkeypatch.undo()
    assert torch.load(ck, weights_only=True)["loop"]["step"] == 3
    again = build_baseline("dncnn")
    again.load_state_dict(start)
    rec_b = train_baseline(again, sampler, cfg, checkpoint=ck)
    assert rec_b.steps == rec_a.steps and rec_b.losses == pytest.approx(rec_a.losses, rel=1e-6)
    assert rec_b.psnr_gain == pytest.approx(rec_a.psnr_gain, rel=1e-6, abs=1e-6)
    for k, v in straight.state_dict().items():
        assert torch.allclose(v.float(), again.state_dict()[k].float(), atol=1e-6), k
    with pytest.raises(ValueError, match=r"configuration \(differs in \['lr'\]\)"):
        train_baseline(build_baseline("dncnn"), sampler, BaselineConfig(**{**cfg.to_dict(), "lr": 1e-3}),
                       checkpoint=ck)
    with pytest.raises(ValueError, match="CropSampler"):
        train_baseline(build_baseline("dncnn"), CropSampler([torch.rand(3, 40, 40)], 16, scales=(1.0,)), cfg)
