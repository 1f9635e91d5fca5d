# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Compositing: what a background-removal call does with the model's foreground probability.

The options of a removal ([`RemoveOptions`]: mask alone, background colour, hard threshold, output format, and
the edge refinements of [`u2net_hf.matting`]) and the compositing itself ([`compose`]: the mask, a straight-alpha
cut-out, or the cut-out over a colour). No model and no file here: a session ([`~u2net_hf.new_session`]) runs the
model and calls these.

`remove_background`, `remove_backgrounds`, `load_image`, `resolve_device` and `png_save_options` used to live here
and can still be imported from this module; they live in `u2net_hf.sessions`, `u2net_hf.images` and
`u2net_hf.devices` now.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import PIL.ImageColor

Color = str | Sequence[int]


def parse_color(color: Color) -> tuple[int, ...]:
    """
    Read a colour given as `(r, g, b)`, `(r, g, b, a)` (integers in 0-255) or a string Pillow understands
    (`"#fff"`, `"#ffffff"`, `"#ffffff80"`, `"white"`, `"rgb(255, 0, 0)"`).

    Returns:
        `tuple[int, ...]`: 3 values (opaque colour) or 4 (with alpha).

    Example:

    ```python
    >>> from u2net_hf.background import parse_color

    >>> parse_color("#ff000080"), parse_color((0, 0, 255))
    ((255, 0, 0, 128), (0, 0, 255))
    ```
    """
    if isinstance(color, str):
        try:
            return tuple(PIL.ImageColor.getrgb(color.strip()))
        except ValueError as error:
            raise ValueError(
                f"Unknown colour {color!r}: give R G B or R G B A (0-255), or a hex code such as '#ffffff'."
            ) from error
    values = tuple(color)
    if len(values) not in (3, 4) or not all(
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value <= 255 for value in values
    ):
        raise ValueError(
            f"A colour is 3 or 4 integers in 0-255 (R G B or R G B A), got {values!r}; hex codes such as '#ffffff' "
            "work too."
        )
    return tuple(int(value) for value in values)


@dataclass(frozen=True)
class RemoveOptions:
    """
    The options of a background removal, checked once.

    Args:
        mask_only (`bool`, *optional*, defaults to `False`):
            Return the mask alone, as an 8-bit grayscale ("L") image: 255 is foreground.
        bg_color (`tuple[int, ...]`, *optional*):
            Composite the cut-out onto this colour (3 values: opaque RGB result; 4: RGBA).
        threshold (`float`, *optional*):
            Make the alpha hard at this foreground probability; soft (the probability) when `None`.
        output_format (`str`, *optional*):
            Return encoded bytes in this Pillow format (`"png"`, `"webp"`, ...) instead of the input's kind.
        compress_level (`int`, *optional*):
            PNG only: zlib's usual strategy at this level (0-9) instead of the fast run-length default.
        alpha_matting (`bool`, *optional*, defaults to `False`):
            Refine the alpha by closed-form matting where the model is unsure, and estimate the foreground's own
            colours there (rembg's `-a`; [`~u2net_hf.matting.estimate_alpha`]). Needs the `matting` extra.
        alpha_matting_foreground_threshold (`int`, *optional*, defaults to 240):
            The matting trimap's confident foreground: 8-bit mask levels above this (0-255).
        alpha_matting_background_threshold (`int`, *optional*, defaults to 10):
            The matting trimap's confident background: 8-bit mask levels below this (0-255).
        alpha_matting_erode_size (`int`, *optional*, defaults to 10):
            Both confident regions of the trimap are eroded by a square of this side, in pixels (0 or more).
        post_process_mask (`bool`, *optional*, defaults to `False`):
            Remove specks and fill pinholes, keeping the soft edge (rembg's `-ppm`, whose edges are hard;
            [`~u2net_hf.matting.post_process_mask`]).
        foreground_colors (`str`, *optional*):
            `"estimate"`: show the foreground's own colours where the alpha is soft, without the old background
            mixed in (colour decontamination, rembg's `-dc`; [`~u2net_hf.matting.estimate_foreground`]), unmixed
            with a matte of the photo ([`~u2net_hf.matting.solve_matte`]; the alpha stays the model's, or the
            refined one under `alpha_matting`). Needs the `matting` extra. By default the input's colours, except
            under `alpha_matting`, which estimates them.
    """

    mask_only: bool = False
    bg_color: tuple[int, ...] | None = None
    threshold: float | None = None
    output_format: str | None = None
    compress_level: int | None = None
    alpha_matting: bool = False
    alpha_matting_foreground_threshold: int = 240
    alpha_matting_background_threshold: int = 10
    alpha_matting_erode_size: int = 10
    post_process_mask: bool = False
    foreground_colors: str | None = None

    @classmethod
    def create(
        cls,
        mask_only: bool = False,
        bg_color: Color | None = None,
        threshold: float | None = None,
        output_format: str | None = None,
        compress_level: int | None = None,
        alpha_matting: bool = False,
        alpha_matting_foreground_threshold: int = 240,
        alpha_matting_background_threshold: int = 10,
        alpha_matting_erode_size: int = 10,
        post_process_mask: bool = False,
        foreground_colors: str | None = None,
    ) -> RemoveOptions:
        """Check the options as a caller gives them and read the colour; one-line `ValueError`s otherwise (and a
        one-line `RuntimeError` with the install command when matting is asked for without pymatting)."""
        if mask_only and bg_color is not None:
            raise ValueError("mask_only and bg_color cannot be combined: a mask has no background to colour.")
        if threshold is not None and not (
            isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1
        ):
            raise ValueError(f"threshold is a foreground probability in [0, 1], got {threshold!r}.")
        if output_format is not None:
            output_format = _check_output_format(output_format)
        if compress_level is not None and (
            isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9
        ):
            raise ValueError(f"compress_level is a zlib level from 0 to 9, got {compress_level!r}.")
        color = parse_color(bg_color) if bg_color is not None else None
        _check_edge_options(
            mask_only,
            threshold,
            alpha_matting,
            alpha_matting_foreground_threshold,
            alpha_matting_background_threshold,
            alpha_matting_erode_size,
            foreground_colors,
        )
        return cls(
            bool(mask_only),
            color,
            None if threshold is None else float(threshold),
            output_format,
            compress_level,
            bool(alpha_matting),
            int(alpha_matting_foreground_threshold),
            int(alpha_matting_background_threshold),
            int(alpha_matting_erode_size),
            bool(post_process_mask),
            foreground_colors,
        )

    @property
    def estimates_colours(self) -> bool:
        """Whether the foreground's colours are estimated where the alpha is soft (under `alpha_matting` and
        `foreground_colors="estimate"`), which needs a matte to unmix them with."""
        return self.alpha_matting or self.foreground_colors == "estimate"

    @property
    def has_alpha(self) -> bool:
        """Whether results carry transparency (which JPEG, say, cannot store)."""
        return not self.mask_only and (self.bg_color is None or len(self.bg_color) == 4)


def _check_edge_options(
    mask_only: bool,
    threshold: float | None,
    alpha_matting: bool,
    foreground_threshold: int,
    background_threshold: int,
    erode_size: int,
    foreground_colors: str | None,
) -> None:
    for option, value in (
        ("alpha_matting_foreground_threshold", foreground_threshold),
        ("alpha_matting_background_threshold", background_threshold),
    ):
        if not _is_int(value) or not 0 <= value <= 255:
            raise ValueError(f"{option} is an 8-bit mask level from 0 to 255, got {value!r}.")
    if not _is_int(erode_size) or erode_size < 0:
        raise ValueError(f"alpha_matting_erode_size is a size in pixels, 0 or more, got {erode_size!r}.")
    if foreground_colors not in (None, "estimate"):
        raise ValueError(
            f"foreground_colors is None (the input's colours) or 'estimate' (decontaminated), got {foreground_colors!r}."
        )
    if alpha_matting and threshold is not None:
        raise ValueError(
            "alpha_matting and threshold cannot be combined: matting makes a soft alpha, threshold a hard one."
        )
    if foreground_colors is not None and (mask_only or threshold is not None):
        what = (
            "a mask has no colours" if mask_only else "a hard threshold leaves no soft edge whose colours to estimate"
        )
        raise ValueError(f"foreground_colors='estimate' does nothing here: {what}.")
    if alpha_matting or foreground_colors is not None:
        from .matting import require_pymatting

        require_pymatting("alpha matting (alpha_matting)" if alpha_matting else "foreground_colors='estimate'")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_output_format(name: str) -> str:
    PIL.Image.init()
    fmt = str(name).upper().lstrip(".")
    fmt = PIL.Image.registered_extensions().get(f".{fmt.lower()}", fmt)
    if fmt not in PIL.Image.SAVE:
        raise ValueError(f"Unknown output format {name!r}: use 'png' or 'webp' (or another format Pillow writes).")
    return fmt


def compose(
    rgb: np.ndarray,
    probability: np.ndarray,
    options: RemoveOptions,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    name: str | None = None,
) -> PIL.Image.Image:
    """
    Turn an image's foreground probability into the result `options` ask for.

    Args:
        rgb (`np.ndarray` of shape `(height, width, 3)`, uint8):
            The image's pixels.
        probability (`np.ndarray` of shape `(height, width)`):
            The foreground probability in [0, 1], at the image's size.
        options ([`RemoveOptions`]):
            What to make.
        alpha (`np.ndarray` of shape `(height, width)`, uint8, *optional*):
            The image's own alpha channel: the cut-out's alpha is the mask times it.
        icc_profile (`bytes`, *optional*):
            Kept on cut-outs, whose colour channels are the input's own.
        name (`str`, *optional*):
            What to call the image in warnings (an edge refinement that could not be done as asked).

    Returns:
        `PIL.Image.Image`: an "L" mask (the refined alpha under `alpha_matting` or `post_process_mask`), an RGBA
        cut-out (the input's own colours wherever the alpha is above 0, or the estimated foreground colours where
        it is soft under `foreground_colors="estimate"` or `alpha_matting`; black where it is 0, as nothing shows
        there), or the cut-out over `bg_color` (RGB or RGBA).

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.background import RemoveOptions, compose

    >>> rgb = np.full((4, 4, 3), 200, np.uint8)
    >>> probability = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    >>> cutout = compose(rgb, probability, RemoveOptions.create(bg_color="white"))
    >>> cutout.mode, cutout.getpixel((0, 0)), cutout.getpixel((3, 3))
    ('RGB', (255, 255, 255), (200, 200, 200))
    ```
    """
    probability, matte = _refined_probability(rgb, probability, options, name)
    if options.threshold is not None:
        mask = np.where(probability > options.threshold, np.uint8(255), np.uint8(0))
    else:
        mask = np.rint(probability * 255).astype(np.uint8)
    if options.mask_only:
        return PIL.Image.fromarray(mask, mode="L")

    if options.estimates_colours:
        from .matting import estimate_foreground

        rgb = estimate_foreground(rgb, probability, matte=matte, name=name)
    alpha = mask if alpha is None else _multiply(mask, alpha)
    if options.bg_color is None:
        result = PIL.Image.fromarray(np.dstack([_visible_colour(rgb, alpha), alpha]), mode="RGBA")
    else:
        result = _over_color(rgb, alpha, options.bg_color)
    if icc_profile:
        result.info["icc_profile"] = icc_profile
    return result


def _refined_probability(
    rgb: np.ndarray, probability: np.ndarray, options: RemoveOptions, name: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The alpha the edge options make of the model's probability (the probability itself without them), and the
    matte that colours are unmixed with (`None` when none is asked for or none could be solved). The matting
    module, and pymatting with it, is imported only when one of them is on."""
    if not (options.post_process_mask or options.estimates_colours):
        return probability, None
    from . import matting

    if options.post_process_mask:
        probability = matting.post_process_mask(probability)
    if not options.estimates_colours:
        return probability, None
    thresholds = {
        "foreground_threshold": options.alpha_matting_foreground_threshold,
        "background_threshold": options.alpha_matting_background_threshold,
        "erode_size": options.alpha_matting_erode_size,
    }
    matte = matting.solve_matte(rgb, probability, **thresholds, name=name)
    if options.alpha_matting:
        probability = matting.apply_matte(probability, matte, **thresholds)
    return probability, matte


def _visible_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The colour channels of a straight-alpha cut-out: the input's own pixels wherever any of them shows, so
    that soft edges keep their colour instead of fading to the dark halos of a premultiplied composite; black
    where the alpha is 0 and nothing shows, which halves the PNG and the time to encode it."""
    return np.where(alpha[..., None] > 0, rgb, np.uint8(0))


def _multiply(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.rint(first.astype(np.float32) * second.astype(np.float32) / 255).astype(np.uint8)


def _over_color(rgb: np.ndarray, alpha: np.ndarray, color: tuple[int, ...]) -> PIL.Image.Image:
    """Porter-Duff "over": the cut-out over a plain background of `color` (RGB, or RGBA when 4 values)."""
    foreground_alpha = alpha.astype(np.float32)[..., None] / 255
    background = np.asarray(color[:3], dtype=np.float32)
    background_alpha = color[3] / 255 if len(color) == 4 else 1.0
    weight = (1 - foreground_alpha) * background_alpha
    out_alpha = foreground_alpha + weight
    color_sum = rgb.astype(np.float32) * foreground_alpha + background * weight
    out_rgb = np.divide(color_sum, out_alpha, out=np.zeros_like(color_sum), where=out_alpha > 0)
    out_rgb = np.clip(np.rint(out_rgb), 0, 255).astype(np.uint8)
    if len(color) == 3:
        return PIL.Image.fromarray(out_rgb, mode="RGB")
    out_alpha = np.rint(out_alpha[..., 0] * 255).astype(np.uint8)
    return PIL.Image.fromarray(np.dstack([out_rgb, out_alpha]), mode="RGBA")


# Names that moved out of this module, still importable from it (PEP 562) for code written against older
# releases. Looked up only when asked for, so that this module imports no model code.
_MOVED = {
    "remove_background": "sessions",
    "remove_backgrounds": "sessions",
    "BACKENDS": "sessions",
    "load_image": "images",
    "png_save_options": "images",
    "resolve_device": "devices",
}


def __getattr__(name: str):
    if name in _MOVED:
        return getattr(importlib.import_module(f"u2net_hf.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Color", "RemoveOptions", "compose", "parse_color"]
