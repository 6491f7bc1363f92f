"""restorelib.toolbox.tools: the 12 tools of Table 1, their sizes and costs, the Toolbox and safe checkpoints."""
from __future__ import annotations

import io
import json

import pytest
import torch

from restorelib.toolbox.tools import (
    TOOL_NAMES, TOOL_SPECS, LargeTool, SmallTool, Toolbox, build_tool, count_macs, count_params, load_state,
    save_state, sha256_bytes, tool_spec)

TABLE1 = {
    "blur": [(0.0, 1.25), (1.25, 2.5), (2.5, 3.75), (3.75, 5.0)],
    "noise": [(0.0, 12.5), (12.5, 25.0), (25.0, 37.5), (37.5, 50.0)],
    "jpeg": [(60.0, 100.0), (35.0, 60.0), (20.0, 35.0), (10.0, 20.0)],
}
SMALL_MACS_PER_PIXEL = 3 * 81 * 32 + 32 * 25 * 16 + 16 * 25 * 3
LARGE_MACS_PER_PIXEL = 3 * 25 * 64 + 64 * 32 + 4 * 32 * 9 * 32 + 32 * 64 + 64 * 25 * 3


def perturbed(module: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> torch.nn.Module:
    """Add seeded noise to every parameter, so that a tool is no longer the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return module


# ----------------------------------------------------------------------------- Table 1
def test_tool_specs_table1():
    assert len(TOOL_SPECS) == 12
    assert [s.distortion for s in TOOL_SPECS] == ["blur"] * 4 + ["noise"] * 4 + ["jpeg"] * 4
    assert TOOL_NAMES == tuple(f"{k}-{i}" for k in ("blur", "noise", "jpeg") for i in range(1, 5))
    for k, intervals in TABLE1.items():
        specs = [s for s in TOOL_SPECS if s.distortion == k]
        assert [(s.low, s.high) for s in specs] == intervals
        assert [s.depth for s in specs] == [3, 3, 8, 8]


def test_tool_spec_lookup():
    assert tool_spec("noise-3") is TOOL_SPECS[6]
    with pytest.raises(ValueError, match="tool name must be one of"):
        tool_spec("noise-5")


# ----------------------------------------------------------------------------- the networks
def test_parameter_counts():
    assert count_params(SmallTool()) == 21_827
    assert count_params(LargeTool()) == 50_851
    assert [count_params(build_tool(s)) for s in TOOL_SPECS] == [21_827, 21_827, 50_851, 50_851] * 3
    assert isinstance(build_tool("blur-1"), SmallTool) and isinstance(build_tool(TOOL_SPECS[11]), LargeTool)


@pytest.mark.parametrize("cls", [SmallTool, LargeTool])
def test_untrained_tool_is_identity(cls):
    x = torch.rand(2, 3, 24, 31, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(cls()(x), x)


@pytest.mark.parametrize("cls", [SmallTool, LargeTool])
@pytest.mark.parametrize("hw", [(63, 63), (40, 57), (11, 9)])
def test_output_shape_odd_sizes(cls, hw):
    net = perturbed(cls())
    x = torch.rand(2, 3, *hw, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert not torch.allclose(y, x)


def test_count_macs_by_hand():
    assert count_macs(SmallTool(), (1, 3, 63, 63)) == SMALL_MACS_PER_PIXEL * 63 * 63 == 86_428_944
    assert count_macs(SmallTool()) == SMALL_MACS_PER_PIXEL * 63 * 63
    assert count_macs(LargeTool(), (2, 3, 40, 57)) == LARGE_MACS_PER_PIXEL * 2 * 40 * 57


def test_toolbox_macs():
    box = Toolbox()
    assert box.macs("blur-1") == SMALL_MACS_PER_PIXEL * 63 * 63
    assert box.macs(11, (1, 3, 20, 20)) == LARGE_MACS_PER_PIXEL * 400


# ----------------------------------------------------------------------------- the Toolbox
@pytest.fixture(scope="module")
def box() -> Toolbox:
    return perturbed(Toolbox(), seed=3).eval()


def test_toolbox_indexing(box):
    assert len(box) == 12 and box.names == list(TOOL_NAMES)
    assert box.index("noise-1") == 4 and box.index(4) == 4 and box.index("jpeg-4") == 11
    x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(box.apply(x, "noise-1"), box.apply(x, 4))
        assert not torch.equal(box.apply(x, 4), box.apply(x, 5))


def test_apply_each_gives_every_image_its_own_tool(box):
    """The agents' batched step: one call per distinct tool, the same as each image's tool alone; -1 keeps it."""
    x = torch.rand(5, 3, 20, 20, generator=torch.Generator().manual_seed(4))
    tools = torch.tensor([4, -1, 11, 4, 0])
    with torch.no_grad():
        out = box.apply_each(x, tools)
        for i, t in enumerate(tools.tolist()):
            want = x[i:i + 1] if t < 0 else box.apply(x[i:i + 1], t)
            assert torch.allclose(out[i:i + 1], want, atol=1e-6), i
    assert torch.equal(out[1], x[1]) and out.data_ptr() != x.data_ptr()
    with pytest.raises(ValueError, match="tools must be a long tensor of shape"):
        box.apply_each(x, torch.tensor([4, 1]))
    with pytest.raises(ValueError, match="tools must be a long tensor of shape"):
        box.apply_each(x, tools.float())


def test_toolbox_apply_clips():
    tb = Toolbox()
    with torch.no_grad():
        tb.nets[0].conv3.bias.fill_(2.0)               # pushes every output above 1
        tb.nets[1].conv3.bias.fill_(-2.0)              # and below 0
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(tb.apply(x, 0), torch.ones_like(x))
        assert torch.equal(tb.apply(x, 1), torch.zeros_like(x))
        assert tb.apply(x, 0, clip=False).min() > 1
        assert torch.equal(tb.apply(x, 2), x)          # an untrained tool is the identity


@pytest.mark.parametrize("tool", ["noise-9", "", 12, -1, 1.5, None])
def test_toolbox_bad_tool(box, tool):
    with pytest.raises(ValueError, match="tool must be"):
        box.apply(torch.rand(1, 3, 8, 8), tool)


def test_toolbox_bad_x(box):
    with pytest.raises(ValueError, match="x must have 3 channels"):
        box.apply(torch.rand(1, 1, 8, 8), 0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        box.apply(torch.rand(3, 8, 8), 0)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        box.apply(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 0)


@pytest.mark.parametrize("value, message", [(float("nan"), "x must be finite, got 1 NaN"),
                                            (float("inf"), "x must be finite, got 1 inf"),
                                            (255.0, r"x must have values in \[0, 1\].*divide by 255")])
def test_toolbox_refuses_nan_inf_and_0_255_input(box, value, message):
    x = torch.rand(1, 3, 8, 8)
    x[0, 0, 0, 0] = value
    with pytest.raises(ValueError, match=message):
        box.apply(x, 0)
    x = torch.rand(1, 3, 8, 8) * 255                              # a 0-255 image is not clamped to white
    with pytest.raises(ValueError, match="x must have values in"):
        box.apply(x, "noise-2", clip=False)
    assert box.apply(torch.full((1, 3, 8, 8), 1.2), 0, clip=False).shape == (1, 3, 8, 8)   # unclipped overshoot


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_toolbox_converts_other_float_dtypes(box, dtype):
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        y = box.apply(x.to(dtype), "noise-2")
        ref = box.apply(x.to(dtype).float(), "noise-2")
    assert y.dtype == dtype and torch.allclose(y.float(), ref, atol=1e-2)


# ----------------------------------------------------------------------------- checkpoints
def test_save_load_roundtrip(box, tmp_path):
    manifest = box.save(tmp_path / "tools", extra={"note": "test"})
    assert manifest == tmp_path / "tools" / "manifest.json"
    m = json.loads(manifest.read_text())
    assert m["note"] == "test" and [e["spec"]["name"] for e in m["tools"]] == list(TOOL_NAMES)
    assert [e["params"] for e in m["tools"]] == [21_827, 21_827, 50_851, 50_851] * 3
    for e in m["tools"]:
        assert sha256_bytes((tmp_path / "tools" / e["file"]).read_bytes()) == e["sha256"]
    loaded = Toolbox.load(tmp_path / "tools")
    assert not loaded.training and loaded.specs == box.specs
    x = torch.rand(2, 3, 21, 18, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for i in range(12):
            assert torch.equal(loaded.apply(x, i), box.apply(x, i))


def test_tampered_checkpoint(box, tmp_path):
    box.save(tmp_path)
    f = tmp_path / "noise-2.pt"
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    f.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="noise-2.pt has sha256 .* expected"):
        Toolbox.load(tmp_path)


def test_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        Toolbox.load(tmp_path)


def test_load_state_checks_and_skips_hash(tmp_path):
    net = perturbed(SmallTool(), seed=5)
    digest = save_state(net, tmp_path / "n.pt")
    assert digest == sha256_bytes((tmp_path / "n.pt").read_bytes())
    other = load_state(SmallTool(), tmp_path / "n.pt", digest)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values()))
    assert isinstance(load_state(SmallTool(), tmp_path / "n.pt", None), SmallTool)
    with pytest.raises(ValueError, match="sha256"):
        load_state(SmallTool(), tmp_path / "n.pt", "0" * 64)


CALLS: list[str] = []


def _record(tag: str) -> str:
    CALLS.append(tag)
    return tag


class Payload:
    """Unpickling this object runs :func:`_record`: a stand-in for arbitrary code in a checkpoint."""

    def __reduce__(self):
        return (_record, ("unpickled",))


def test_load_is_weights_only(box, tmp_path):
    box.save(tmp_path)
    state = {k: v.clone() for k, v in box.nets[0].state_dict().items()}
    state["conv1.weight"] = Payload()
    buf = io.BytesIO()
    torch.save(state, buf)
    (tmp_path / "blur-1.pt").write_bytes(buf.getvalue())
    m = json.loads((tmp_path / "manifest.json").read_text())
    m["tools"][0]["sha256"] = sha256_bytes(buf.getvalue())            # the hash is right: only the content is bad
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    CALLS.clear()
    with pytest.raises(ValueError, match="blur-1.pt cannot be loaded safely .UnpicklingError: Weights only load failed"):
        Toolbox.load(tmp_path)                                         # one line naming the file, not a raw error
    assert CALLS == []                                                 # the payload never ran
    torch.load(io.BytesIO(buf.getvalue()), weights_only=False)         # (it would have, without weights_only)
    assert CALLS == ["unpickled"]


def test_load_state_wrong_shape_is_one_clear_error(tmp_path):
    save_state(LargeTool(), tmp_path / "large.pt")
    with pytest.raises(ValueError, match=r"large.pt does not fit the network SmallTool \((Missing|Unexpected|size)"):
        load_state(SmallTool(), tmp_path / "large.pt", None)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt cannot be loaded safely"):
        load_state(SmallTool(), tmp_path / "junk.pt", None)


def test_index_rejects_bool():
    with pytest.raises(ValueError, match="tool"):
        Toolbox().index(True)
