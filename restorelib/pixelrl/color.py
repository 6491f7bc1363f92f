"""PixelRL for local colour enhancement (chapter 7; Furuta et al. 2019, Sec. "Local Color Enhancement", Table 5).

Every pixel of a photo takes one of thirteen colour edits at each of ``t_max = 10`` steps (:data:`COLOR_ACTIONS`,
the paper's Table 5, numbered 0-12 here for its 1-13); the network sees the state in CIELab (:func:`lab_input`); the
reward of a pixel is how much the step lowered its CIELab distance to the retouched target (Eq. 16,
:func:`lab_reward`), so the return of an episode is the drop of the Table 6 metric, :func:`mean_lab_error`. The same
trainer as for denoising runs it (:func:`restorelib.pixelrl.a2c.train_pixelrl` with :func:`color_env`), convGRU and
reward-map convolution included; :class:`GlobalActionNet` is the same network with one action for the whole image
per step, the "global" agent of Park et al. (2018) that the paper contrasts PixelRL with.

The edits follow Pillow's ``ImageEnhance`` (tests: within one grey level of it on 8-bit images), applied to RGB in
[0, 1] and clipped: contrast scales the distance to the image's mean luma (ITU-R 601), saturation the distance to the
pixel's own luma, brightness the value itself; "R and G x0.95" multiplies those two channels. The paper does not
define them further (its colour code was never published), so these are our reading of Table 5, after Park et al.

The Eq. 16 of the paper's text is ambiguous between the distance and its square; we take the distance ``|.|_2`` (the
CIELab Delta E of Table 6), so that the undiscounted return of a pixel is exactly its drop of the table's error.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F

from ..core.validation import check_images
from ..core.scales import build_scales, scale_settings
from .a2c import PixelRLConfig, PixelRLNet, sample_actions
from .env import PixelEnv

COLOR_ACTIONS = ("contrast x0.95", "contrast x1.05", "saturation x0.95", "saturation x1.05", "brightness x0.95",
                 "brightness x1.05", "R and G x0.95", "R and G x1.05", "G and B x0.95", "G and B x1.05",
                 "R and B x0.95", "R and B x1.05", "do nothing")
N_COLOR_ACTIONS = len(COLOR_ACTIONS)
COLOR_DO_NOTHING = N_COLOR_ACTIONS - 1
COLOR_T_MAX: int = scale_settings("pixelrl-color", "paper")["t_max"]     # 10, the paper's
LUMA = (0.299, 0.587, 0.114)                       # ITU-R 601, as Pillow's convert("L")
_PAIRS = ((0, 1), (1, 2), (0, 2))                  # R and G, G and B, R and B
# sRGB (D65) -> XYZ and the D65 white of the 2-degree observer: scikit-image's rgb2lab constants
_XYZ_FROM_RGB = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
_WHITE = (0.95047, 1.0, 1.08883)


# ----------------------------------------------------------------------------- CIELab
def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB (N, 3, H, W) in [0, 1] -> CIELab (N, 3, H, W): L in [0, 100], a and b about [-128, 127].

    The formulas of scikit-image's ``rgb2lab`` (D65, 2-degree observer; tests: within 1e-3 of it), in torch, so
    they run on any device and are differentiable (the supervised baseline trains through them). Chapter 7.
    """
    # slack: the supervised baseline's outputs, slightly outside [0, 1] before the clamp, pass; a 0-255 image does not
    check_images(x, "x", channels=3, slack=0.5)
    x = x.clamp(0, 1)
    lin = torch.where(x > 0.04045, ((x + 0.055) / 1.055).pow(2.4), x / 12.92)
    m = torch.tensor(_XYZ_FROM_RGB, dtype=x.dtype, device=x.device)
    xyz = torch.einsum("ij,njhw->nihw", m, lin) / torch.tensor(_WHITE, dtype=x.dtype, device=x.device).view(3, 1, 1)
    # the cube root only above the threshold: below it the linear branch, so the gradient stays finite at black
    f = torch.where(xyz > 0.008856, xyz.clamp(min=0.008856).pow(1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(1)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=1)


def lab_input(x: torch.Tensor) -> torch.Tensor:
    """The network's view of RGB (N, 3, H, W) in [0, 1]: CIELab scaled to about [0, 1], (L / 100, (a + 128) / 255,
    (b + 128) / 255). Chapter 7."""
    lab = rgb_to_lab(x)
    return torch.cat((lab[:, :1] / 100, (lab[:, 1:] + 128) / 255), dim=1)


def lab_distance(x: torch.Tensor, target_lab: torch.Tensor) -> torch.Tensor:
    """Per-pixel CIELab distance (Delta E 1976) of RGB x (N, 3, H, W) to a Lab target (N, 3, H, W) -> (N, 1, H, W)."""
    return (rgb_to_lab(x) - target_lab).square().sum(dim=1, keepdim=True).sqrt()


def mean_lab_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The metric of the paper's Table 6: the mean per-pixel CIELab L2 distance of RGB x to RGB target, both
    (N, 3, H, W) in [0, 1] -> (N,). Chapter 7."""
    check_images(x, "x", channels=3)
    check_images(target, "target", channels=3)
    if x.shape != target.shape:
        raise ValueError(f"x and target must have the same shape, got {tuple(x.shape)} and {tuple(target.shape)}")
    return lab_distance(x, rgb_to_lab(target)).flatten(1).mean(1)


def lab_reward(target_lab: torch.Tensor, before: torch.Tensor,
               after: torch.Tensor) -> torch.Tensor:
    """Eq. 16 in CIELab, (N, 1, H, W):
    ``r_i = |I_i^target - s_i^(t)|_2 - |I_i^target - s_i^(t+1)|_2``.

    target_lab: (N, 3, H, W) CIELab (:func:`rgb_to_lab` of the target); before, after:
    RGB (N, 3, H, W) in [0, 1].
    """
    if not (target_lab.shape == before.shape == after.shape):
        raise ValueError(f"target_lab, before and after must have the same shape, got "
                         f"{tuple(target_lab.shape)}, {tuple(before.shape)} and "
                         f"{tuple(after.shape)}")
    return lab_distance(before, target_lab) - lab_distance(after, target_lab)


# ----------------------------------------------------------------------------- the thirteen actions (Table 5)
def _luma(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


@torch.no_grad()
def color_bank(x: torch.Tensor) -> torch.Tensor:
    """What each of the 13 actions makes of every pixel: RGB x (N, 3, H, W) in [0, 1] -> (N, 13, 3, H, W) in [0, 1].

    Index k along dim 1 is :data:`COLOR_ACTIONS` [k]; the image's mean luma (for contrast) is that of x. Chapter 7.
    """
    check_images(x, "x", channels=3)
    luma = _luma(x)
    mean = luma.mean(dim=(2, 3), keepdim=True)
    out = []
    for f in (0.95, 1.05):
        out += [mean + f * (x - mean), luma + f * (x - luma), f * x]       # contrast, saturation, brightness
        for i, j in _PAIRS:                                                # R and G, G and B, R and B
            scale = torch.ones(1, 3, 1, 1, dtype=x.dtype, device=x.device)
            scale[0, [i, j]] = f
            out.append(x * scale)
    # out holds the six x0.95 edits, then the six x1.05 ones: interleave them into Table 5's order
    return torch.stack([e for pair in zip(out[:6], out[6:]) for e in pair] + [x], dim=1).clamp(0, 1)


@torch.no_grad()
def apply_color_actions(x: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """One colour action per pixel: RGB x (N, 3, H, W) in [0, 1], actions (N, H, W) ints in 0..12, or (N, 1, 1) (one
    action per image, :class:`GlobalActionNet`) -> (N, 3, H, W) in [0, 1]. Chapter 7."""
    n, c, h, w = check_images(x, "x", channels=3).shape
    if not isinstance(actions, torch.Tensor) or actions.is_floating_point() or actions.dim() != 3 \
            or actions.shape[0] != n or tuple(actions.shape[1:]) not in ((h, w), (1, 1)):
        raise ValueError(f"actions must be an integer tensor of shape (N, H, W) = {(n, h, w)} or (N, 1, 1), got "
                         f"{getattr(actions, 'dtype', type(actions).__name__)} {tuple(getattr(actions, 'shape', ()))}")
    if actions.numel() and (actions.min() < 0 or actions.max() >= N_COLOR_ACTIONS):
        raise ValueError(f"actions must hold ids in 0..{N_COLOR_ACTIONS - 1}, got [{actions.min().item()}, "
                         f"{actions.max().item()}]")
    a = actions.to(x.device, torch.long).expand(n, h, w)
    return color_bank(x).gather(1, a[:, None, None].expand(n, 1, c, h, w))[:, 0]


# ----------------------------------------------------------------------------- the environment and the agents
class GlobalActionNet(PixelRLNet):
    """PixelRL's network with one action per image and step (Park et al. 2018's setting; chapter 7).

    The policy is the softmax of the per-pixel logits averaged over the image: log_probs (N, A, 1, 1), so
    :func:`~restorelib.pixelrl.a2c.sample_actions` draws one action per image and the A2C loss weighs it by the mean
    advantage of its pixels. The value map stays per pixel.
    """

    def forward(self, x: torch.Tensor, hidden: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        lp, v, hidden = super().forward(x, hidden)
        # the mean of the log-softmax differs from the mean logit by a constant per image: same softmax
        return F.log_softmax(lp.mean(dim=(2, 3), keepdim=True), dim=1), v, hidden


def _start(pairs: torch.Tensor, _: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    if pairs.dim() != 4 or pairs.shape[1] != 6:
        raise ValueError(f"training crops must be (N, 6, H, W) input + target pairs (a PairSampler), got "
                         f"{tuple(pairs.shape)}")
    return pairs[:, :3], rgb_to_lab(pairs[:, 3:])


def _lab_gain(first: torch.Tensor, last: torch.Tensor, target_lab: torch.Tensor) -> torch.Tensor:
    return (lab_distance(first, target_lab) - lab_distance(last, target_lab)).flatten(1).mean(1)


def color_env(style: str = "color", global_actions: bool = False) -> PixelEnv:
    """The colour-enhancement environment for :func:`~restorelib.pixelrl.a2c.train_pixelrl`: training crops are
    (N, 6, H, W) input + target pairs (:class:`~restorelib.pixelrl.color_data.PairSampler`), the state starts at the
    input, the 13 actions, the CIELab input and the reward of Eq. 16; ``global_actions`` builds a
    :class:`GlobalActionNet`. ``style`` names the run (checked on resume). Chapter 7."""
    return PixelEnv(f"color:{style}" + ("-global" if global_actions else ""), _start, apply_color_actions,
                    lab_reward, N_COLOR_ACTIONS, lab_input, _lab_gain, "CIELab error drop",
                    GlobalActionNet if global_actions else None)


#: Schedules by scale: :data:`restorelib.core.scales.SCALE_SETTINGS` ``["pixelrl-color"]`` says what each changes
#: from the restoration defaults, and why.
COLOR_SCALES: dict[str, PixelRLConfig] = build_scales("pixelrl-color", PixelRLConfig)


@torch.no_grad()
def color_restore(net: PixelRLNet, image: torch.Tensor, t_max: int = COLOR_T_MAX, greedy: bool = True,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run a colour agent for ``t_max`` steps on RGB image (N, 3, H, W) in [0, 1], any H, W.

    Returns (enhanced (N, 3, H, W) in [0, 1], the action maps of the steps: ``t_max`` tensors (N, H, W) long, ids of
    :data:`COLOR_ACTIONS`; a :class:`GlobalActionNet` fills each map with its one action). Chapter 7.
    """
    if not isinstance(net, PixelRLNet) or net.n_actions != N_COLOR_ACTIONS or net.in_channels != 3:
        raise ValueError(f"net must be a PixelRLNet with 3 input channels and {N_COLOR_ACTIONS} actions, got "
                         f"{type(net).__name__}")
    n, _, h, w = check_images(image, "image", channels=3).shape
    if not isinstance(t_max, int) or isinstance(t_max, bool) or t_max < 1:
        raise ValueError(f"t_max must be a positive int, got {t_max!r}")
    dev = next(net.parameters()).device
    state, hidden, maps = image.to(dev), None, []
    for _ in range(t_max):
        lp, _, hidden = net(lab_input(state), hidden)
        a = sample_actions(lp, greedy, generator).expand(n, h, w)
        state = apply_color_actions(state, a)
        maps.append(a)
    return state, maps


def color_action_counts(maps: list[torch.Tensor]) -> torch.Tensor:
    """How often each colour action was taken at each step (the paper's Fig. 6): (t_max, 13) fractions of pixels."""
    return torch.stack([torch.bincount(m.flatten().cpu(), minlength=N_COLOR_ACTIONS).float() / m.numel()
                        for m in maps])


__all__ = ["COLOR_ACTIONS", "COLOR_DO_NOTHING", "COLOR_SCALES", "COLOR_T_MAX", "GlobalActionNet", "N_COLOR_ACTIONS",
           "apply_color_actions", "color_action_counts", "color_bank", "color_env", "color_restore", "lab_distance",
           "lab_input", "lab_reward", "mean_lab_error", "rgb_to_lab"]
