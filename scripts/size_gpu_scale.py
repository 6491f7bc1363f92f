"""Size the ``gpu`` scale: measure each chapter's training path on this CPU, estimate its time on a Colab T4, and write
the table that "How to use this book" includes.

    python scripts/size_gpu_scale.py measure [--paths dqn,hirl] [--json book/gpu_scale/sizing.json]
    python scripts/size_gpu_scale.py table [--json ...] [--smoke book/gpu_scale/smoke.json] [--out book/gpu_scale/table.md]

``measure`` runs every path of ``scripts/gpu_paths.py`` with the gpu configuration on the CPU, one thread, for
``n1`` and ``n2`` units (the difference removes the set-up), each twice, and counts per unit: the process CPU
time, the FLOPs (``torch.utils.flop_counter.FlopCounterMode``), the operators that would run on a GPU (kernels and
views) and the bytes they touch, and the CPU time of the data preparation that stays on the host on a GPU
(:data:`HOST_WORK`: crops, degradations with PIL's JPEG, the replay memories). It merges them into ``--json``.
``table`` estimates a T4's time per unit as

    host time + kernels x LAUNCH_S + views x VIEW_S + FLOPs / (T4_FP32 x UTILISATION) + bytes / T4_BANDWIDTH

(the constants below: the assumptions), multiplies by the units each chapter trains at gpu scale, and writes the
markdown table; with ``--smoke`` (the JSON of ``scripts/gpu_smoke.py`` run on a GPU) it adds the measured times.
It also prints, per chapter, the factor that would bring the estimate to TARGET_MIN minutes.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import platform
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).resolve().parent))     # gpu_paths, beside this script, also when imported

from gpu_paths import CHAPTERS, PATHS  # noqa: E402

from restorelib.core.flags import add_out_flag  # noqa: E402
from restorelib.core.atomic import exit_unless_writable, write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZING = ROOT / "book" / "gpu_scale" / "sizing.json"
SMOKE = ROOT / "book" / "gpu_scale" / "smoke.json"
TABLE = ROOT / "book" / "gpu_scale" / "table.md"

# ----------------------------------------------------------------------------- the assumptions about a Colab T4
T4_FP32 = 8.1e12        # FLOP/s, FP32 peak (NVIDIA's T4 datasheet); fp16 autocast is not counted on
UTILISATION = 0.2       # of that peak, for these small 3x3 convolutions at batch 16-64 (15-30 % is typical)
T4_BANDWIDTH = 200e9    # B/s: about 60 % of the T4's 320 GB/s, for element-wise operators
LAUNCH_S = 10e-6        # s per kernel operator: PyTorch's dispatch and the CUDA launch on Colab's 2 vCPUs
VIEW_S = 2e-6           # s per view operator (no kernel: dispatch only)
BUDGET_MIN = 15.0       # a chapter's time on a T4, every cell included
TARGET_MIN = 10.0       # what its training may take of that

#: units (n1, n2) measured per path: the difference of the two runs is one measurement of n2 - n1 units
N_UNITS = {"dqn": (96, 480), "joint": (1, 3), "hirl": (1, 4), "pixelrl-pretrain": (1, 3), "pixelrl": (1, 2),
           "label-free": (1, 2), "quality-net": (1, 4), "baseline-vdsr": (1, 2), "baseline-dncnn": (1, 2),
           "baseline-vdsr-s": (1, 2)}
TOOL_UNITS = (1, 3)


#: The functions that prepare data on the CPU in every trainer (crops, degradations, JPEG, the replay memories):
#: they stay on the host when the networks run on a GPU. (module, attribute, method or None)
HOST_WORK = [("restorelib.core.degradations", n, None) for n in ("degrade", "apply_levels", "jpeg", "gaussian_blur",
                                                           "add_gaussian_noise", "add_poisson_noise",
                                                           "add_salt_pepper")] + [
    ("restorelib.core.banks", "draw_clean", None), ("restorelib.core.patches", "augment", None),
    ("restorelib.core.patches", "random_patches", None), ("restorelib.core.patches", "CropSampler", "sample"),
    ("restorelib.pixelrl.training", "draw_crops", None), ("restorelib.pixelrl.training", "sample_crops", None),
    ("restorelib.rlrestore.replay", "EpisodeMemory", "sample"), ("restorelib.rlrestore.replay", "EpisodeMemory", "add"),
    ("restorelib.hirl.nets", "TransitionMemory", "sample"), ("restorelib.hirl.nets", "TransitionMemory", "add")]


class HostWork:
    """While active, times the outermost calls of :data:`HOST_WORK` (CPU seconds) and flags them, so that
    :class:`OpCounter` leaves their operators out of the GPU's count. Every loaded ``restorelib`` module that
    imported one of the functions by name sees the timed one."""

    def __init__(self) -> None:
        self.seconds, self.depth, self.saved = 0.0, 0, []

    def _wrap(self, fn):
        def timed(*args, **kwargs):
            self.depth += 1
            t0 = time.process_time() if self.depth == 1 else 0.0
            try:
                return fn(*args, **kwargs)
            finally:
                if self.depth == 1:
                    self.seconds += time.process_time() - t0
                self.depth -= 1
        return timed

    def __enter__(self) -> "HostWork":
        import importlib
        for mod, name, method in HOST_WORK:
            owner = getattr(importlib.import_module(mod), name)
            if method is not None:
                self.saved.append((owner, method, owner.__dict__[method]))
                setattr(owner, method, self._wrap(owner.__dict__[method]))
                continue
            for m in [m for k, m in sys.modules.items() if k.startswith("restorelib") and m is not None]:
                if getattr(m, name, None) is owner:
                    self.saved.append((m, name, owner))
                    setattr(m, name, self._wrap(owner))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, fn in reversed(self.saved):
            setattr(owner, name, fn)
        self.saved = []


class OpCounter(TorchDispatchMode):
    """Counts the operators that would reach a GPU's kernels (and the views), and the bytes they touch; operators
    inside :class:`HostWork`'s functions are counted apart (they stay on the CPU)."""

    def __init__(self, host: HostWork) -> None:
        super().__init__()
        self.host = host
        self.kernels = self.views = self.bytes = self.host_ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.host.depth:
            self.host_ops += 1
        elif func.is_view:
            self.views += 1
        else:
            self.kernels += 1
            tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
            self.bytes += sum(t.numel() * t.element_size() for t in tensors)
        return out


def _one(name: str, n: int) -> dict:
    """Two runs of ``n`` units on one CPU thread: timed (its CPU time, and that of the host work), then under the
    flop counter and the op counter."""
    from torch.utils.flop_counter import FlopCounterMode
    run = PATHS[name].run
    gc.collect()
    with HostWork() as host:
        t0 = time.process_time()
        units = run("gpu", n, "cpu")
        cpu = time.process_time() - t0
    with HostWork() as flagged, OpCounter(flagged) as ops, FlopCounterMode(display=False) as flops:
        run("gpu", n, "cpu")
    return {"units": units, "cpu_s": cpu, "host_s": host.seconds, "flops": flops.get_total_flops(),
            "kernels": ops.kernels, "views": ops.views, "bytes": ops.bytes, "host_ops": ops.host_ops}


def measure(name: str) -> dict:
    """Per-unit costs of path ``name`` at gpu scale on this CPU (one thread; see the module docstring)."""
    n1, n2 = TOOL_UNITS if name.startswith("tool-") else N_UNITS[name]
    PATHS[name].run("gpu", 1, "cpu")                          # warm-up: lazy imports, caches, the training data
    a, b = (_one(name, n) for n in (n1, n2))
    du = b["units"] - a["units"]
    per = {k: max(0.0, (b[k] - a[k]) / du) for k in ("cpu_s", "flops", "kernels", "views", "bytes", "host_ops",
                                                     "host_s")}
    return {"unit": PATHS[name].unit, "units_measured": [a["units"], b["units"]],
            "config": PATHS[name].config("gpu"), **{k: round(v, 9) for k, v in per.items()}}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def t4_seconds(m: dict) -> float:
    """The estimated seconds of one unit on a T4 from a path's measurement ``m`` (module docstring)."""
    return (m["host_s"] + m["kernels"] * LAUNCH_S + m["views"] * VIEW_S + m["flops"] / (T4_FP32 * UTILISATION)
            + m["bytes"] / T4_BANDWIDTH)


# ----------------------------------------------------------------------------- the table
def chapter_rows(sizing: dict, smoke: dict | None = None) -> list[dict]:
    """Per chapter: what it trains at gpu scale, the estimated T4 minutes (and its host part), and, with ``smoke``,
    the minutes projected from the GPU's measured speed. ``ValueError`` names a path measured with other settings
    than today's gpu configuration (measure it again)."""
    rows = []
    for ch in CHAPTERS:
        units = {k: v for k, v in ch.units("gpu").items() if v}
        est = host = flops = 0.0
        measured: float | None = 0.0 if smoke else None
        for path, n in units.items():
            m = sizing["paths"].get(path)
            if m is None:
                raise ValueError(f"path {path!r} has no measurement in the sizing file; run: measure --paths {path}")
            if m["config"] != PATHS[path].config("gpu"):
                raise ValueError(f"path {path!r} was measured with {m['config']}, the gpu scale now has "
                                 f"{PATHS[path].config('gpu')}; run: measure --paths {path}")
            est += n * t4_seconds(m)
            host += n * m["host_s"]
            flops += n * m["flops"]
            if smoke is not None:
                g = smoke["paths"].get(path)
                measured = None if g is None or measured is None else measured + n * g["seconds_per_unit"]
        rows.append({"chapter": ch.label, "what": ch.what, "script": ch.script, "units": units,
                     "tflop": flops / 1e12, "t4_min": est / 60, "host_min": host / 60,
                     "gpu_min": None if measured is None else measured / 60})
    return rows


def _units_text(units: dict[str, int]) -> str:
    parts: dict[str, int] = {}
    for path, n in units.items():
        key = "tools" if path.startswith("tool-") else path
        parts[key] = parts.get(key, 0) + n
    return ", ".join(f"{path} {n:,} {'steps' if path == 'tools' else PATHS[path].unit + 's'}"
                     for path, n in parts.items())


def render(sizing: dict, smoke: dict | None = None) -> str:
    """The markdown that "How to use this book" includes: the chapters' table, the assumptions, the per-path table."""
    rows = chapter_rows(sizing, smoke)
    lines = []
    if smoke is None:
        lines += ["**These times are estimates**: no GPU has run `scripts/gpu_smoke.py` yet. They come from the speed "
                  f"measured on {sizing['cpu']} (one thread, {sizing['date']}) and the FLOPs counted there, with the "
                  "assumptions listed below the table.", ""]
    else:
        lines += [f"The last column was measured by `scripts/gpu_smoke.py` on {smoke['device_name']} "
                  f"({smoke['date']}, {smoke['steps']} steps of each path, projected to the whole run); the other "
                  "times are estimates for a T4 from the speed measured on a CPU and the FLOPs counted there.", ""]
    head = "| Chapter | trains at gpu scale | TFLOP | T4 minutes (estimate) | of which CPU-side |"
    rule = "|---|---|---:|---:|---:|"
    if smoke is not None:
        head, rule = head + f" minutes on {smoke['device_name']} (measured) |", rule + "---:|"
    lines += [head, rule]
    for r in rows:
        cells = [r["chapter"], f"{r['what']}: {_units_text(r['units'])}", f"{r['tflop']:,.0f}",
                 f"{r['t4_min']:.1f}", f"{r['host_min']:.1f}"]
        if smoke is not None:
            cells.append("–" if r["gpu_min"] is None else f"{r['gpu_min']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"The estimate of one unit (a step, an episode, an iteration; one patch's step for DQN) is the "
              "CPU time of its data preparation, which stays on the CPU (crops, degradations with PIL's JPEG, the "
              f"replay memories; measured here), plus {LAUNCH_S * 1e6:.0f} µs per GPU kernel and "
              f"{VIEW_S * 1e6:.0f} µs per view it launches (PyTorch's dispatch and CUDA's launch), plus its FLOPs "
              f"at {UTILISATION * 100:.0f} % of a T4's {T4_FP32 / 1e12:.1f} TFLOP/s FP32 peak (no credit for fp16 "
              f"autocast), plus the bytes its operators touch at {T4_BANDWIDTH / 1e9:.0f} GB/s. The terms are added "
              "as if nothing overlapped, and the copies between CPU and GPU are not counted: the estimate can be off "
              f"either way. Each chapter's training is sized to about {TARGET_MIN:.0f} minutes of a T4, so that "
              f"with its evaluation cells it stays within {BUDGET_MIN:.0f} minutes.", "",
              "| path | unit | GFLOP per unit | kernels per unit | CPU-side ms per unit | CPU ms per unit "
              "(measured, one thread) | T4 ms per unit (estimate) |", "|---|---|---:|---:|---:|---:|---:|"]
    for path, m in sizing["paths"].items():
        lines.append(f"| {path} | {m['unit']} | {m['flops'] / 1e9:,.2f} | {m['kernels']:,.0f} | "
                     f"{m['host_s'] * 1e3:,.2f} | {m['cpu_s'] * 1e3:,.1f} | {t4_seconds(m) * 1e3:,.2f} |")
    return "\n".join(lines) + "\n"


def _load(path: Path | None) -> dict | None:
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("measure", "table"))
    ap.add_argument("--paths", default=None, help="comma-separated paths to measure (default: all)")
    ap.add_argument("--json", type=Path, default=SIZING, help="the measurements (default %(default)s)")
    ap.add_argument("--smoke", type=Path, default=SMOKE, help="gpu_smoke.py's JSON, if it exists (%(default)s)")
    add_out_flag(ap, TABLE, "the table (default %(default)s)")
    args = ap.parse_args(argv)
    exit_unless_writable(ap, "--out", args.out, overwrite=True, make_folder=True)    # before the work
    exit_unless_writable(ap, "--json", args.json, overwrite=True, make_folder=True)    # before the work
    names = list(PATHS) if args.paths is None else [p.strip() for p in args.paths.split(",") if p.strip()]
    if unknown := [p for p in names if p not in PATHS]:
        ap.error(f"--paths: unknown {unknown}; expected some of {list(PATHS)}")
    if args.command == "measure":
        torch.set_num_threads(1)
        sizing = _load(args.json) or {"paths": {}}
        for name in names:
            t0 = time.perf_counter()
            sizing["paths"][name] = measure(name)
            sizing["paths"] = {k: sizing["paths"][k] for k in PATHS if k in sizing["paths"]}
            sizing.update(cpu=_cpu_name(), threads=1, torch=torch.__version__, date=datetime.date.today().isoformat())
            args.json.parent.mkdir(parents=True, exist_ok=True)
            write_text(args.json, json.dumps(sizing, indent=1) + "\n", overwrite=True)
            m = sizing["paths"][name]
            print(f"{name}: {m['cpu_s'] * 1e3:.1f} ms per {m['unit']} here, {m['flops'] / 1e9:.2f} GFLOP, "
                  f"{m['kernels']:.0f} kernels, T4 estimate {t4_seconds(m) * 1e3:.2f} ms "
                  f"({time.perf_counter() - t0:.0f} s to measure)", flush=True)
        return 0
    sizing = _load(args.json)
    if sizing is None:
        ap.exit(2, f"{ap.prog}: error: --json: no measurements in {args.json}; run the measure command first\n")
    try:
        text = render(sizing, _load(args.smoke))
    except ValueError as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, text, overwrite=True)
    print(text)
    for r in chapter_rows(sizing, _load(args.smoke)):
        print(f"{r['chapter']}: {r['t4_min']:.1f} min estimated; x{TARGET_MIN / max(r['t4_min'], 1e-9):.2f} of its "
              f"steps would take {TARGET_MIN:.0f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
