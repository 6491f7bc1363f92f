"""The toolbox of chapter 2: RL-Restore's 12 small CNNs (Table 1), and loading them safely.

Each tool is a residual CNN specialised to one distortion and one level interval. The slight intervals get the
3-layer network (21,827 parameters), the severe ones the 8-layer network (50,851 parameters). Tools map
(N, 3, H, W) in [0, 1] to the same shape; :meth:`Toolbox.apply` clips the result to [0, 1].
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.validation import check_images
from ..core.atomic import write_text
from ..core.checkpoints import (  # noqa: F401  (sha256_bytes, save_state, write_checkpoint: also from here)
    CheckpointError, check_fields, load_state, read_json, save_state, sha256_bytes, weights_file, write_checkpoint)
from ..core.config import weights_dir


@dataclass(frozen=True)
class ToolSpec:
    """A tool's job: ``distortion`` in blur/noise/jpeg, the level interval [low, high], and its ``depth`` (3 or 8).

    Blur levels are Gaussian sigmas in pixels, noise levels sigmas on the 0-255 scale, JPEG levels qualities.
    """

    name: str
    distortion: str
    low: float
    high: float
    depth: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.distortion not in ("blur", "noise", "jpeg"):
            raise ValueError(f"distortion must be 'blur', 'noise' or 'jpeg', got {self.distortion!r}")
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                 for v in (self.low, self.high))
        if not ok or not 0 <= self.low <= self.high:
            raise ValueError(f"low, high must be finite with 0 <= low <= high, got {self.low!r}, {self.high!r}")
        if self.depth not in (3, 8) or isinstance(self.depth, bool):
            raise ValueError(f"depth must be 3 or 8 (layers), got {self.depth!r}")


# In the order of the original toolbox folder: two small then two large, for blur, noise and JPEG.
TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("blur-1", "blur", 0.0, 1.25, 3), ToolSpec("blur-2", "blur", 1.25, 2.5, 3),
    ToolSpec("blur-3", "blur", 2.5, 3.75, 8), ToolSpec("blur-4", "blur", 3.75, 5.0, 8),
    ToolSpec("noise-1", "noise", 0.0, 12.5, 3), ToolSpec("noise-2", "noise", 12.5, 25.0, 3),
    ToolSpec("noise-3", "noise", 25.0, 37.5, 8), ToolSpec("noise-4", "noise", 37.5, 50.0, 8),
    ToolSpec("jpeg-1", "jpeg", 60.0, 100.0, 3), ToolSpec("jpeg-2", "jpeg", 35.0, 60.0, 3),
    ToolSpec("jpeg-3", "jpeg", 20.0, 35.0, 8), ToolSpec("jpeg-4", "jpeg", 10.0, 20.0, 8),
)
TOOL_NAMES: tuple[str, ...] = tuple(s.name for s in TOOL_SPECS)


def tool_spec(name: str) -> ToolSpec:
    """The :class:`ToolSpec` called ``name`` (see :data:`TOOL_NAMES`)."""
    for s in TOOL_SPECS:
        if s.name == name:
            return s
    raise ValueError(f"tool name must be one of {list(TOOL_NAMES)}, got {name!r}")


def zero_init(conv: nn.Conv2d) -> None:
    """Zero a residual branch's last conv, so an untrained tool starts as the identity (and trains faster)."""
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)


class SmallTool(nn.Module):
    """3-layer tool (SRCNN/ARCNN-like): 9x9 3->32, 5x5 32->16, 5x5 16->3, ReLU between, global skip."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 9, padding=4)
        self.conv2 = nn.Conv2d(32, 16, 5, padding=2)
        self.conv3 = nn.Conv2d(16, 3, 5, padding=2)
        zero_init(self.conv3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        return x + self.conv3(h)


class LargeTool(nn.Module):
    """8-layer tool: 5x5 ->64, 1x1 ->32, two residual pairs of 3x3 convs, 1x1 ->64, 5x5 ->3, global skip."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 64, 5, padding=2)
        self.shrink = nn.Conv2d(64, 32, 1)
        self.body = nn.ModuleList(nn.Conv2d(32, 32, 3, padding=1) for _ in range(4))
        self.expand = nn.Conv2d(32, 64, 1)
        self.tail = nn.Conv2d(64, 3, 5, padding=2)
        zero_init(self.tail)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.shrink(F.relu(self.head(x))))
        for a, b in zip(self.body[0::2], self.body[1::2]):   # the two inner skips
            h = F.relu(h + b(F.relu(a(h))))
        return x + self.tail(F.relu(self.expand(h)))


def build_tool(spec: ToolSpec | str) -> nn.Module:
    """A fresh (untrained) network for the tool ``spec``: :class:`SmallTool` or :class:`LargeTool`."""
    spec = tool_spec(spec) if isinstance(spec, str) else spec
    return SmallTool() if spec.depth == 3 else LargeTool()


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def count_macs(module: nn.Module, shape: tuple[int, ...] = (1, 3, 63, 63)) -> int:
    """Multiply-adds of one forward pass on an input of ``shape``, counted by ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode
    p = next(module.parameters(), None)
    x = torch.zeros(shape, device=p.device if p is not None else "cpu")
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        module(x)
    return fc.get_total_flops() // 2


class Toolbox(nn.Module):
    """The 12 tools, addressable by index (0..11, the agents' action ids) or by name.

    ``Toolbox.load()`` reads the shipped checkpoints of ``restorelib/weights/tools`` (or another folder
    holding ``manifest.json``), checking every file's sha256.
    """

    def __init__(self, specs: tuple[ToolSpec, ...] = TOOL_SPECS) -> None:
        super().__init__()
        self.specs = tuple(specs)
        self.nets = nn.ModuleList(build_tool(s) for s in self.specs)
        self.names = [s.name for s in self.specs]

    def __len__(self) -> int:
        return len(self.specs)

    def index(self, tool: int | str) -> int:
        """The action id of ``tool`` (an int in range or a tool name)."""
        if isinstance(tool, str):
            if tool not in self.names:
                raise ValueError(f"tool must be one of {self.names}, got {tool!r}")
            return self.names.index(tool)
        if not isinstance(tool, int) or isinstance(tool, bool) or not 0 <= tool < len(self):
            raise ValueError(f"tool must be an int in 0..{len(self) - 1} or a tool name, got {tool!r}")
        return tool

    def apply(self, x: torch.Tensor, tool: int | str, clip: bool = True) -> torch.Tensor:
        """Run one tool on a batch (N, 3, H, W) in [0, 1]; the output is clipped to [0, 1] unless ``clip=False``.

        ``x`` may overshoot [0, 1] by half the range (the unclipped outputs of a chain in training); values beyond
        that (e.g. a 0-255 image), NaN and inf raise ``ValueError``. Any float dtype is accepted: the tool runs in
        its own dtype and the result comes back in ``x``'s.
        """
        check_images(x, "x", channels=3, slack=0.5)
        net = self.nets[self.index(tool)]
        p = next(net.parameters(), None)
        dtype = p.dtype if p is not None else x.dtype
        y = net(x if x.dtype == dtype else x.to(dtype))
        y = y if y.dtype == x.dtype else y.to(x.dtype)
        return y.clamp(0, 1) if clip else y

    def apply_each(self, x: torch.Tensor, tools: torch.Tensor) -> torch.Tensor:
        """Give each image its own tool: x (N, 3, H, W) in [0, 1], tools (N,) long toolbox indices, -1 leaving an
        image as it is. One call per distinct tool (the agents' batched step, chapters 3-8); returns a new tensor
        (the same as applying each image's tool on its own, since a tool treats every image alone)."""
        check_images(x, "x", channels=3, slack=0.5)
        if not isinstance(tools, torch.Tensor) or tools.dtype != torch.long or tools.shape != (x.shape[0],):
            raise ValueError(f"tools must be a long tensor of shape ({x.shape[0]},), got {getattr(tools, 'shape', tools)}")
        out = x.clone()
        for t in tools[tools >= 0].unique().tolist():
            sel = (tools == t).nonzero().flatten()
            out[sel] = self.apply(x[sel], t)
        return out

    @torch.no_grad()
    def run_chain(self, x: torch.Tensor, chain: list[int | str]) -> list[torch.Tensor]:
        """Apply the tools of ``chain`` in turn to (N, 3, H, W); returns [x, after tool 1, ..., after the last]."""
        states = [x]
        for tool in chain:
            states.append(self.apply(states[-1], tool))
        return states

    def macs_per_pixel(self, tool: int | str) -> float:
        """Multiply-adds per output pixel of one tool (same-padded convolutions: the cost is linear in H x W)."""
        i = self.index(tool)
        cache = self.__dict__.setdefault("_mpp", {})
        if i not in cache:
            cache[i] = self.macs(i, (1, 3, 32, 32)) / (32 * 32)
        return cache[i]

    def macs(self, tool: int | str, shape: tuple[int, ...] = (1, 3, 63, 63)) -> int:
        """Multiply-adds of one tool on one input of ``shape``."""
        return count_macs(self.nets[self.index(tool)], shape)

    @classmethod
    def load(cls, folder: str | Path | None = None, device: str | torch.device = "cpu") -> "Toolbox":
        """Load every tool from ``folder`` (default: the shipped checkpoints) with a sha256 check each."""
        folder = Path(folder) if folder is not None else weights_dir() / "tools"
        manifest = folder / "manifest.json"
        if not manifest.is_file():
            raise FileNotFoundError(f"no manifest.json in {folder}; train the tools with "
                                    "`python scripts/train_tools.py` first")
        entries = read_json(manifest).get("tools")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise CheckpointError(f"{manifest}: 'tools' must be a non-empty list of entries (spec, file, sha256)")
        files = [weights_file(folder, e, f"{manifest} (tools[{i}])") for i, e in enumerate(entries)]
        specs = tuple(check_fields(e.get("spec"), ToolSpec, manifest, f"tools[{i}].spec")
                      for i, e in enumerate(entries))
        if len({s.name for s in specs}) != len(specs):
            raise CheckpointError(f"{manifest}: the tools' names must differ, got {[s.name for s in specs]}")
        box = cls(specs)
        for net, (path, digest) in zip(box.nets, files):
            load_state(net, path, digest)
        return box.to(device).eval()

    def save(self, folder: str | Path, extra: dict | None = None) -> Path:
        """Write one ``.pt`` per tool and ``manifest.json`` (specs, files, sha256, ``extra``) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for spec, net in zip(self.specs, self.nets):
            digest = save_state(net, folder / f"{spec.name}.pt")
            entries.append({"spec": asdict(spec), "file": f"{spec.name}.pt", "sha256": digest,
                            "params": count_params(net)})
        path = folder / "manifest.json"
        write_text(path, json.dumps({"tools": entries, **(extra or {})}, indent=2) + "\n", overwrite=True)
        return path


#: The tool sets of chapter 5's Table 5 -> their folder under ``restorelib/weights``: trained on their own
#: distortion only, with slight noise and JPEG added (the shipped default), and then jointly fine-tuned.
TOOLSETS: dict[str, str] = {"original": "tools-original", "noise": "tools", "joint": "tools-joint"}


def toolset_dir(tools: str | Path) -> Path:
    """The folder of a tool set: a name of :data:`TOOLSETS` or a folder holding ``manifest.json`` (chapter 5)."""
    folder = weights_dir() / TOOLSETS[tools] if str(tools) in TOOLSETS else Path(tools)
    if not (folder / "manifest.json").is_file():
        what = "is not trained yet" if str(tools) in TOOLSETS else "holds no manifest.json"
        raise FileNotFoundError(f"tools must be one of {sorted(TOOLSETS)} or a folder with manifest.json; "
                                f"{str(tools)!r} {what} ({folder})")
    return folder


def shipped_tools_available() -> bool:
    """True when the package holds trained tool checkpoints."""
    return (weights_dir() / "tools" / "manifest.json").is_file()
