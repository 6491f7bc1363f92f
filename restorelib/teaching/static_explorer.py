"""The explorer of the rendered book (its page "Explore the toolchains"): every chain of up to two tools, computed once.

The ipywidgets explorer (:mod:`restorelib.teaching.explorer`) needs a kernel, which the HTML book does not have. This module
computes, when the book is built, everything a reader can click on that page. For a few crops of the test photos
(:data:`restorelib.core.data.EMBEDDED_TEST`, which no tool or agent trained on), each degraded once per distortion group of
chapter 1 (:data:`restorelib.core.degradations.GROUPS`), it keeps:

* the output of every chain of at most :data:`MAX_LENGTH` tools of the shipped toolbox (chapter 2), with its PSNR
  against the clean crop: 1 + 12 + 144 = 157 images per photo and group;
* the chain the shipped RL-Restore agent picks (chapter 4, whole-image patch voting, up to its own ``t_max`` steps),
  with every step;
* the best of those chains by PSNR (chapter 3's brute force over length <= 2, an oracle that reads the clean image).

:func:`write_explorer` writes the images as JPEG files (quality :data:`QUALITY`, no chroma subsampling) and one index,
``index.json``, also written as ``index.js`` (the same object assigned to ``window.restorelibExplorer``) so that a
page opened from disk, where a script cannot fetch a file, still reads it. ``book/_ext/restorelib_explorer.py`` calls
it during the Sphinx build and copies the result into the HTML's ``_static/explorer/``.
"""
from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..core.atomic import write_bytes, write_text
from ..core import degradations as D
from ..core.checkpoints import RECORD, read_json
from ..core.data import EMBEDDED, embedded, to_rgb, to_uint8
from ..core.metrics import psnr
from ..toolbox.tools import Toolbox

#: The photos of the page and the centre (row, column) of their crop: Chelsea's eye and fur, Grace Hopper's glasses.
PHOTOS: dict[str, tuple[int, int]] = {"chelsea": (118, 168), "grace_hopper": (208, 238)}
#: Side of the square crops in pixels (the page shows them enlarged, pixel for pixel).
CROP = 64
#: JPEG quality of the images written (4:4:4 chroma); the index records how far the files are from the computation.
QUALITY = 90
#: The longest chain whose every combination is computed (1 + m + m^2 images for m tools).
MAX_LENGTH = 2
#: The agent whose chains the page compares with the reader's (a shipped name, see ``restorelib.rlrestore.dqn.load_agent``).
AGENT = "rl-restore"
#: Smallest crop accepted (the agent pads anything below its 63 x 63 patch).
MIN_CROP = 16


def chain_key(chain: Sequence[str]) -> str:
    """The index's key of a chain: its tool names joined by commas (the empty chain, the input, is ``""``)."""
    return ",".join(chain)


def chain_file(chain: Sequence[str]) -> str:
    """The image file of a chain inside its case folder: ``input.jpg`` for the empty chain, else e.g.
    ``noise-2_jpeg-1.jpg``."""
    return ("_".join(chain) or "input") + ".jpg"


def crop_photo(name: str, size: int = CROP, centre: tuple[int, int] | None = None) -> torch.Tensor:
    """A ``size`` x ``size`` RGB crop (3, size, size) in [0, 1] of the embedded photo ``name`` around ``centre``
    (row, column; default :data:`PHOTOS`' centre, else the photo's), moved inside the photo where it would leave it."""
    if name not in EMBEDDED:
        raise ValueError(f"photo must be one of {list(EMBEDDED)}, got {name!r}")
    img = to_rgb(embedded(name))
    h, w = img.shape[-2:]
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_CROP <= size <= min(h, w):
        raise ValueError(f"crop must be an int in {MIN_CROP}..{min(h, w)} for {name!r}, got {size!r}")
    cy, cx = centre if centre is not None else PHOTOS.get(name, (h // 2, w // 2))
    top, left = min(max(0, cy - size // 2), h - size), min(max(0, cx - size // 2), w - size)
    return img[:, top:top + size, left:left + size].contiguous()


@torch.no_grad()
def all_chains(toolbox: Toolbox, x: torch.Tensor, max_length: int = MAX_LENGTH) -> dict[tuple[str, ...], torch.Tensor]:
    """Every chain of 0..``max_length`` tools applied to a batch ``x`` (N, 3, H, W) in [0, 1].

    Returns ``{chain (tool names): images (N, 3, H, W)}``, the empty chain mapping to ``x``: 1 + m + ... + m^L
    entries for m tools. Each depth costs m tool calls, each on every state of the depth before, as one batch
    (chapter 3's brute force with every state kept, which the page needs).
    """
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 0 <= max_length <= 3:
        raise ValueError(f"max_length must be an int in 0..3 (m^3 images at 3), got {max_length!r}")
    out: dict[tuple[str, ...], torch.Tensor] = {(): x}
    frontier = [()]
    n = x.shape[0]
    for _ in range(max_length):
        states = torch.cat([out[c] for c in frontier])                  # (len(frontier) * N, 3, H, W)
        grown = []
        for name in toolbox.names:
            y = toolbox.apply(states, name)
            for k, c in enumerate(frontier):
                out[c + (name,)] = y[k * n:(k + 1) * n]
                grown.append(c + (name,))
        frontier = grown
    return out


@dataclass
class Case:
    """One photo under one distortion group: the clean and degraded crops (3, H, W), the levels drawn, every chain's
    image (``images``: chain -> (3, H, W), the agent's longer chains included) and the agent's chain."""

    photo: str
    group: str
    levels: dict[str, float]
    clean: torch.Tensor
    images: dict[tuple[str, ...], torch.Tensor] = field(default_factory=dict)
    agent: list[str] = field(default_factory=list)


@torch.no_grad()
def compute_cases(toolbox: Toolbox, agent: object | None, photos: Sequence[str], groups: Sequence[str],
                  crop: int = CROP, seed: int = 0, max_length: int = MAX_LENGTH) -> list[Case]:
    """Degrade each photo's crop under each group (seed ``seed`` for every case, so a group draws the same levels for
    every photo) and compute every chain of up to ``max_length`` tools, all cases in one batch, then the chain
    ``agent`` (an :class:`restorelib.rlrestore.restore.AgentRestorer`, or None) picks for each case."""
    if not photos or not groups:
        raise ValueError(f"photos and groups must be non-empty, got {list(photos)!r} and {list(groups)!r}")
    bad = [g for g in groups if g not in D.GROUPS]
    if bad:
        raise ValueError(f"groups must be among {list(D.GROUPS)}, got {bad!r}")
    device = next(toolbox.parameters()).device
    cases, degraded = [], []
    for photo in photos:
        clean = crop_photo(photo, crop)
        for group in groups:
            y, levels = D.degrade(clean[None], group, generator=torch.Generator().manual_seed(seed))
            cases.append(Case(photo, group, {k: round(float(v), 3) for k, v in levels[0].items()}, clean))
            degraded.append(y[0])
    x = torch.stack(degraded).to(device).contiguous(memory_format=torch.channels_last)
    grid = all_chains(toolbox, x, max_length)
    for i, case in enumerate(cases):
        case.images = {c: imgs[i].cpu() for c, imgs in grid.items()}
        if agent is None:
            continue
        case.agent = list(agent.restore_image(degraded[i], reference=case.clean).chain)
        for t in range(max_length + 1, len(case.agent) + 1):            # the agent's steps beyond the grid
            prev = case.images[tuple(case.agent[:t - 1])]
            case.images[tuple(case.agent[:t])] = toolbox.apply(prev[None].to(device), case.agent[t - 1])[0].cpu()
    return cases


def encode_jpeg(image: torch.Tensor, quality: int = QUALITY) -> bytes:
    """A (3, H, W) image in [0, 1] as JPEG bytes at ``quality`` (1..100), without chroma subsampling."""
    if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an int in 1..100, got {quality!r}")
    buf = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buf, "JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def decode_image(data: bytes) -> torch.Tensor:
    """Image file bytes -> (3, H, W) float in [0, 1] (what a reader's browser shows)."""
    with Image.open(io.BytesIO(data)) as im:
        a = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def models_used(agent: str = AGENT) -> dict[str, dict]:
    """What made the page's images: the shipped tools' and agent's training records (command, scale, date)."""
    from ..core.config import weights_dir
    keep = ("command", "scale", "date", "device")
    tools = read_json(weights_dir() / "tools" / RECORD)
    record = read_json(weights_dir() / "agents" / agent / RECORD)
    return {"tools": {"folder": "restorelib/weights/tools", **{k: tools.get(k) for k in keep}},
            "agent": {"name": agent, "folder": f"restorelib/weights/agents/{agent}", **{k: record.get(k) for k in keep},
                      "steps": record.get("config", {}).get("steps"), "t_max": record.get("config", {}).get("t_max")}}


def _case_entry(case: Case, folder: Path, quality: int, max_length: int) -> tuple[dict, float]:
    """Write one case's images under ``folder/<photo>-<group>/``; its index entry and the worst encoding PSNR."""
    name = f"{case.photo}-{case.group}"
    (folder / name).mkdir(parents=True, exist_ok=True)
    chains = list(case.images)
    stack = torch.stack([case.images[c] for c in chains])
    files = [encode_jpeg(img, quality) for img in stack]
    shown = torch.stack([decode_image(data) for data in files])
    scores = psnr(stack, case.clean[None].expand_as(stack)).tolist()
    entries = {}
    for c, p, data in zip(chains, scores, files):
        write_bytes(folder / name / chain_file(c), data, overwrite=True, sync=False)   # ~1,000 files
        entries[chain_key(c)] = {"src": f"{name}/{chain_file(c)}", "psnr": round(p, 3)}
    write_bytes(folder / name / "clean.jpg", encode_jpeg(case.clean, quality), overwrite=True, sync=False)
    best = max((c for c in chains if len(c) <= max_length), key=lambda c: entries[chain_key(c)]["psnr"])
    return ({"id": name, "photo": case.photo, "group": case.group, "levels": case.levels,
             "clean": f"{name}/clean.jpg", "entries": entries, "agent": case.agent, "best": list(best)},
            psnr(shown, stack).min().item())


def write_explorer(folder: str | Path, *, photos: Sequence[str] | None = None, groups: Sequence[str] | None = None,
                   crop: int = CROP, quality: int = QUALITY, seed: int = 0, agent: str | None = AGENT,
                   max_length: int = MAX_LENGTH, toolbox: Toolbox | None = None) -> dict:
    """Compute the explorer's cases and write them into ``folder``: one sub-folder of JPEG images per photo and group,
    ``index.json`` and ``index.js``. Returns the index.

    ``photos`` default :data:`PHOTOS`, ``groups`` default every group of chapter 1, ``crop`` pixels square,
    ``agent`` a shipped agent name (None: no agent), ``toolbox`` default the shipped tools. The index holds the tool
    names, the models' records, the worst PSNR of a written image against its computed image
    (``encoding_psnr_min``, dB), the CPU seconds it took and, per case, ``entries`` {chain key (:func:`chain_key`):
    {src, psnr (dB)}}, the agent's chain and the best chain of length <= ``max_length``.
    """
    from ..rlrestore.restore import AgentRestorer
    start = time.process_time()
    photos = list(PHOTOS) if photos is None else list(photos)
    groups = list(D.GROUPS) if groups is None else list(groups)
    encode_jpeg(torch.zeros(3, 1, 1), quality)                                  # a bad quality fails before the work
    box = toolbox if toolbox is not None else Toolbox.load().to(memory_format=torch.channels_last)  # ~25% faster
    restorer = AgentRestorer.load(agent, toolbox=box) if agent else None
    cases = compute_cases(box, restorer, photos, groups, crop, seed, max_length)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [_case_entry(c, folder, quality, max_length) for c in cases]
    index = {"format": 1, "tools": list(box.names), "max_length": max_length, "crop": crop, "quality": quality,
             "seed": seed, "photos": photos, "groups": groups,
             "models": {k: v for k, v in models_used(agent or AGENT).items()
                        if (k == "tools" and toolbox is None) or (k == "agent" and agent)},
             "encoding_psnr_min": round(min(w for _, w in written), 2),
             "cpu_seconds": round(time.process_time() - start, 1), "cases": [e for e, _ in written]}
    text = json.dumps(index, separators=(",", ":"))
    write_text(folder / "index.json", text + "\n", overwrite=True)
    write_text(folder / "index.js", f"window.restorelibExplorer = {text};\n", overwrite=True)
    return index


def fingerprint(settings: dict) -> str:
    """sha256 (first 16 hex digits) of what the explorer's files depend on: the package's code, the shipped tools'
    manifest and agents' records (which hold their weights' sha256), torch's version and ``settings``."""
    from ..core.config import weights_dir
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = sorted(package.rglob("*.py")) + sorted((weights_dir() / "tools").glob("*.json")) + \
        sorted((weights_dir() / "agents").glob(f"*/{RECORD}"))
    for path in files:
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps(settings, sort_keys=True).encode() + torch.__version__.encode())
    return h.hexdigest()[:16]


__all__ = ["AGENT", "CROP", "MAX_LENGTH", "PHOTOS", "QUALITY", "Case", "all_chains", "chain_file", "chain_key",
           "compute_cases", "crop_photo", "decode_image", "encode_jpeg", "fingerprint", "models_used",
           "write_explorer"]
