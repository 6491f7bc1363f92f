"""The README model card of an RL-Restore agent folder (chapter 4), written from its ``record.json``: how it was made,
its configuration and training data, the end of its learning curve, and -- when the record holds them -- its
validation snapshots, the run it continued, and its test table (``scripts/eval_agents.py`` adds it).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..core.artifacts import produced, write_readme
from ..core.checkpoints import RECORD, read_json


def write_card(folder: str | Path) -> Path:
    """(Re)write the README.md model card of an agent folder from its ``record.json`` (and its ``test`` results)."""
    folder = Path(folder)
    r = read_json(folder / RECORD)
    c = r["curve"]
    tail = ", ".join(f"{s}: {v:+.2f}" for s, v in list(zip(c["steps"], c["return_db"]))[-3:])
    lines = [f"# RL-Restore agent `{folder.name}` ({r['scale']} scale)", "", produced(r), "",
             f"Configuration: `{json.dumps(r['config'])}`; "
             + (f"fresh 63x63 crops ({r['train_patches']:,} positions) of {r['train_images']} images of "
                if "train_images" in r else f"{r['train_patches']} training patches from ")
             + f"{', '.join(f'`{n}`' for n in r.get('train_sets', ['embedded-train']))}, degraded by the "
             f"`{r['config']['group']}` group.", "",
             f"Mean training-episode return (dB, with exploration) at the last logged steps: {tail}. The whole curve "
             f"is in `record.json`; the sha256 of `agent.pt` there is checked on load.", ""]
    if "validation" in r:
        v = r["validation"]
        lines += [f"Validated on {v['set']} ({v['group']} group, {v['patches_per_image']} patches per image, seed "
                  f"{v['seed']}) at steps {', '.join(f'{s:,}' for s in v['steps'])}: "
                  f"{', '.join(f'{p:.2f}' for p in v['psnr'])} dB; the snapshot of step {v['kept_step']:,} "
                  "is kept.", ""]
    if "init_from" in r:
        i = r["init_from"]
        lines += [f"This run continued the agent made by `{i['command']}` ({i['config']['steps']:,} steps, "
                  f"{i['seconds'] / 60:.0f} min; its record is kept under `init_from`): "
                  f"{(i['seconds'] + r['seconds']) / 60:.0f} min of training in all.", ""]
    if "test" in r:
        t = r["test"]
        lines += [f"Test (`{t['command']}`, {t['images']} patches of {t['set']} per group, 63x63, seed {t['seed']}):",
                  "", "| group | PSNR in | PSNR out | SSIM in | SSIM out | tools |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {g} | {v['psnr_in']:.2f} | {v['psnr_out']:.2f} | {v['ssim_in']:.4f} | {v['ssim_out']:.4f} | "
                  f"{v['tool_calls']:.2f} |" for g, v in t["groups"].items()]
        lines.append("")
    return write_readme(folder, lines)


__all__ = ["write_card"]
