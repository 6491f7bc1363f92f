"""``python -m restorelib restore``: one image file restored, the chain printed step by step (PSNR with
``--reference``, a no-reference score with ``--no-reference``)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..core import data
from ..core.method import capabilities, device_of
from ..evaluate import get_method
from .common import (
    DEFAULT_TILE, UsageError, check_common, check_output, check_scorer, flag_of, method_options, writing)

if TYPE_CHECKING:
    import torch


def _print_no_reference(scorer: str, x: torch.Tensor, restored: torch.Tensor) -> None:
    """``restore --no-reference``: the scorer's score of the input and of the output (higher = better, chapter 8)."""
    from ..core.quality import check_scores, get_scorer
    score = get_scorer(scorer)
    s_in, s_out = (check_scores(score(im[None].float().clamp(0, 1)), 1, scorer).item() for im in (x, restored))
    print(f"  {scorer} score {s_in:.3f} -> {s_out:.3f} ({s_out - s_in:+.3f}; higher = better, no reference)")


def _restore_inputs(args: argparse.Namespace) -> tuple:
    """Every check of ``restore`` before the work: (image, its info, the reference or None, the method)."""
    out = args.output
    if out.suffix.lower() not in data.IMAGE_EXTENSIONS + (".webp",):
        raise UsageError(f"--output must end in one of {list(data.IMAGE_EXTENSIONS + ('.webp',))}, got {out.name!r}")
    check_output("--output", out, args.force)
    if args.no_reference:
        if args.reference is not None:
            raise UsageError("--no-reference and --reference exclude each other: give one of them")
        check_scorer(args.scorer)
    if args.tile is not None and args.tile < 64:
        raise UsageError(f"--tile must be at least 64, got {args.tile}")
    check_common(args)
    try:
        x, info = data.read_for_restore(args.image, max_pixels=args.max_pixels)
    except (ValueError, OSError) as e:
        raise UsageError(f"image: {e}") from None
    ref = None
    if args.reference is not None:
        try:
            ref, _ = data.read_for_restore(args.reference, max_pixels=args.max_pixels)
        except (ValueError, OSError) as e:
            raise UsageError(f"--reference: {e}") from None
        if ref.shape != x.shape:
            raise UsageError(f"--reference must have the image's size {tuple(x.shape[-2:])}, got {tuple(ref.shape[-2:])}")
    try:
        method = get_method(args.method, args.device, **method_options(args))
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(f"{flag_of(e)}: {e}") from None
    can = capabilities(method)
    if args.tile is not None and not (can.votes or can.tiles):
        raise UsageError(f"--tile: method {method.name!r} sees the whole image at once and cannot run in tiles; "
                         "leave --tile out")
    return x, info, ref, method


def _restore_by_votes(method: object, x: torch.Tensor, ref: torch.Tensor | None, tile: int) -> tuple:
    """An agent (rl-restore, hirl, label-free) restores the whole image by patch voting; prints every step."""
    r = method.restorer
    n_max = capabilities(method).steps
    res = r.restore_image(x, n_max, reference=ref, tile=tile)
    n_patches = int(res.votes[0].sum()) if res.votes else 0
    print(f"{method.name}: {n_patches} patches of 63x63 vote at each step (at most {n_max or r.cfg.t_max} tools)")
    if res.psnr:
        print(f"  start: PSNR {res.psnr[0]:.2f} dB")
    for k, votes in enumerate(res.votes):
        a = int(votes.argmax())
        name = res.chain[k] if k < len(res.chain) else "stop"
        line = f"  step {k + 1}: {name:<10} ({int(votes[a])}/{n_patches} votes)"
        if res.psnr and k + 1 < len(res.psnr):
            line += f"  PSNR {res.psnr[k + 1]:.2f} dB ({res.psnr[k + 1] - res.psnr[k]:+.2f})"
        print(line)
    return res.image, res.chain


def _restore_whole(method: object, x: torch.Tensor, ref: torch.Tensor | None, tile: int) -> tuple:
    """Any other method restores the image in one call (in tiles when it can); prints PixelRL's actions and PSNR.
    Returns (restored image, chain, or None for PixelRL, which has no chain)."""
    dev = device_of(method)
    can = capabilities(method)
    tiling = {"tile": tile} if can.tiles else {}
    try:
        res = method.restore(x[None].to(dev), clean=None if ref is None else ref[None].to(dev), **tiling)
    except ValueError as e:
        raise UsageError(f"--method: {e}") from None
    restored, chain = res.images[0].cpu(), res.chains[0] if res.chains else []
    counts = method.last_counts if can.per_pixel else None  # PixelRL: actions per pixel, not a chain
    if counts is not None:
        from ..pixelrl.method import describe_actions
        print(f"{method.name}: every pixel takes {len(counts)} actions; the most used at each step:")
        for line in describe_actions(counts):
            print(f"  {line}")
    if ref is not None:
        from ..core.metrics import psnr
        p_in, p_out = psnr(x[None], ref[None]).item(), psnr(restored[None], ref[None]).item()
        print(f"  PSNR {p_in:.2f} -> {p_out:.2f} dB ({p_out - p_in:+.2f})")
    return restored, None if counts is not None else chain


def cmd_restore(args: argparse.Namespace) -> int:
    import torch

    x, info, ref, method = _restore_inputs(args)
    tile = DEFAULT_TILE if args.tile is None else args.tile
    print(f"input: {args.image} ({data.describe(info)})")
    for note in info["notes"]:
        print(f"  note: {note}")
    run = _restore_by_votes if capabilities(method).votes else _restore_whole
    restored, chain = run(method, x, ref, tile)
    if chain is not None:
        print("chain: " + (" -> ".join(chain) if chain else "(none: the input is returned unchanged)"))
    if args.no_reference:
        _print_no_reference(args.scorer, x, restored)
    with writing("--output", args.output):
        data.write_restored(restored.clamp(0, 1).to(torch.float32), info, args.output, overwrite=args.force)
    print(f"wrote {args.output}")
    return 0
