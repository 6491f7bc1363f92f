"""Benchmark: PixelRL inference on one 481x321 image over t_max forwards of the network alone (goal <= 1.2).

    python scripts/bench_pixelrl.py [--model noise25-gru-rmc] [--repeats 5] [--device cpu] [--torch-filters]
                                    [--json OUT]

Inference (:func:`restorelib.pixelrl.a2c.pixelrl_restore`) runs the network's policy branch, takes the greedy action of
every pixel, computes the nine filters and gathers each pixel's result, ``t_max`` times. The reference runs the
``t_max`` whole forwards of the network (with the convGRU state) on the same image. The ratio of the two medians
(goal <= 1.2) is the cost of inference against the network's; ``actions`` is inference over the ``t_max`` forwards
of the policy branch alone, what the actions add. ``--torch-filters`` also times inference with the torch filters,
as an install without OpenCV runs them. The paper reports 0.44 s per image on a V100 (Sec. 4.2). The times are
printed, on the device given (CPU by default here; ``--device cuda`` on a GPU); they take turns within each repeat.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from restorelib.core.flags import add_device_flag
from restorelib.core.validation import flag_int
from restorelib.core.atomic import exit_unless_writable, write_text
from restorelib.core.config import get_device
from restorelib.pixelrl.a2c import PixelRLNet, load_pixelrl
from restorelib.pixelrl.method import PIXELRL_DIR, shipped_pixelrl, time_inference


def bench(model: str | None = None, repeats: int = 5, size: tuple[int, int] = (321, 481), t_max: int | None = None,
          device: str | None = None, torch_filters: bool = False) -> dict:
    dev = get_device(device)
    if model is not None:
        net, cfg = load_pixelrl(Path(model) if Path(model).is_dir() else PIXELRL_DIR / model, dev)
        t_max = t_max or cfg.t_max
    else:                                            # no trained model: the paper's network, untrained
        net, t_max = PixelRLNet(1, width=64).to(dev).eval(), t_max or 5
    return {"model": model or "untrained", **time_inference(net, size, t_max, repeats, dev, torch_filters)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help=f"a shipped model {shipped_pixelrl()} or a folder "
                    "(default: the first shipped one, else an untrained network)")
    ap.add_argument("--repeats", type=flag_int, default=5)
    ap.add_argument("--height", type=flag_int, default=321)
    ap.add_argument("--width", type=flag_int, default=481)
    add_device_flag(ap)
    ap.add_argument("--torch-filters", action="store_true", help="also time inference with the torch filters")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.height < 8 or args.width < 8:
        ap.error("--repeats must be >= 1 and --height, --width >= 8")
    exit_unless_writable(ap, "--json", args.json, overwrite=True)
    model = args.model or (shipped_pixelrl()[0] if shipped_pixelrl() else None)
    r = bench(model, args.repeats, (args.height, args.width), device=args.device, torch_filters=args.torch_filters)
    torch_part = (f"; with the torch filters {r['torch_inference_s']:.3f} s, ratio {r['torch_ratio']:.2f}"
                  if args.torch_filters else "")
    print(f"[bench_pixelrl] {r['model']} on {r['device']} ({r['threads']} threads, filters: {r['backend']}), "
          f"{args.width}x{args.height}, t_max {r['t_max']}: network {r['network_s']:.3f} s (policy branch "
          f"{r['policy_s']:.3f} s), inference {r['inference_s']:.3f} s, ratio {r['ratio']:.2f} (goal <= 1.2), "
          f"actions {r['actions_ratio']:.2f}{torch_part}")
    if args.json is not None:
        write_text(args.json, json.dumps(r, indent=2) + "\n", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
